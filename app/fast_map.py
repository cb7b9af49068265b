"""The map T prepared for CPU inference: BatchNorm folded into the convolutions, channels-last.

In eval mode a BatchNorm after a convolution is an affine map per channel,
    BN(W * x + b) = gamma (W * x + b - mu) / sqrt(var + eps) + beta,
so it folds into the convolution as W' = W gamma / sqrt(var + eps) and
b' = (b - mu) gamma / sqrt(var + eps) + beta (torch.nn.utils.fusion.fuse_conv_bn_eval). That
removes one pass over every activation, and the channels-last layout lets oneDNN pick its
fastest convolution kernels (``python -m benchmarks.demo_latency`` times the difference;
figures in docs/demo.md). Outputs equal the eager model's to
float32 rounding (tests/test_app_fast_map.py checks 1e-4).
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """Return an eval-mode copy of ``model`` where each Conv2d directly followed by a
    BatchNorm2d inside an nn.Sequential absorbs it (the BatchNorm becomes an Identity)."""
    folded = copy.deepcopy(model).eval()
    for module in folded.modules():
        if not isinstance(module, nn.Sequential):
            continue
        for i in range(len(module) - 1):
            conv, norm = module[i], module[i + 1]
            if (
                isinstance(conv, nn.Conv2d)
                and isinstance(norm, nn.BatchNorm2d)
                and norm.track_running_stats
            ):
                module[i] = fuse_conv_bn_eval(conv, norm)
                module[i + 1] = nn.Identity()
    return folded


class FastMap:
    """Callable wrapper: ``FastMap(T)(x)`` equals ``T.eval()(x)`` for x [B, 3, S, S] in [-1, 1].

    The original module is left untouched (its BatchNorms still train if someone trains it).
    """

    def __init__(self, T: nn.Module):
        device = next(T.parameters()).device
        self.device = device
        self.net = fold_batchnorm(T).to(memory_format=torch.channels_last)
        for p in self.net.parameters():
            p.requires_grad_(False)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f"FastMap expects a batch [B, C, H, W], got shape {tuple(x.shape)}")
        with torch.inference_mode():
            x = x.to(self.device).contiguous(memory_format=torch.channels_last)
            return self.net(x).contiguous()
