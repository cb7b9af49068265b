"""Translate a held-out split and measure what needs no pretrained network.

MSE is the per-pixel mean of (x - T(x))^2 in [-1, 1], as the ENOT and NOT papers report it.
The colour shift is for tinted-digit tasks: the ink colour of an image is its RGB averaged with
the brightest channel as weight, so the black background does not count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from data import to_unit


@torch.inference_mode()
def translate_batches(T: nn.Module, dataset: Dataset, batch_size: int = 64,
                      device: torch.device | str = "cpu") -> Iterator[tuple[Tensor, Tensor]]:
    """Yield (x, T(x)) batches over `dataset` in order, on the CPU, in [-1, 1].

    T runs in eval mode (BatchNorm on its running statistics) and gets its mode back afterwards,
    so a network in training can be scored mid-run.
    """
    was_training = T.training
    T = T.to(device).eval()
    try:
        for x in DataLoader(dataset, batch_size=batch_size, shuffle=False):
            yield x, T(x.to(device)).float().cpu()
    finally:
        T.train(was_training)


def per_image_mse(x: Tensor, tx: Tensor) -> Tensor:
    """[B] per-pixel mean of (x - T(x))^2, in [-1, 1] units, computed in float64."""
    return (x.double() - tx.double()).square().mean(dim=(1, 2, 3))


def ink_color(images: Tensor) -> Tensor:
    """[B, 3, H, W] in [-1, 1] -> [B, 3] ink colour in [0, 1]."""
    u = to_unit(images)
    w = u.amax(dim=1, keepdim=True)
    return (u * w).sum(dim=(2, 3)) / w.sum(dim=(2, 3)).clamp_min(1e-8)


@dataclass(frozen=True)
class SplitReport:
    images: int
    mse: float
    color_shift: float
    color_shift_baseline: float

    def lines(self) -> list[str]:
        return [f"test split: {self.images} images",
                f"MSE(x, T(x)) per pixel in [-1,1]: {self.mse:.4f}",
                f"colour shift |ink(x) - ink(T(x))|: {self.color_shift:.4f} (random pairs of "
                f"source and target: {self.color_shift_baseline:.4f})"]


def check_split(T: nn.Module, source: Dataset, target: Dataset,
                device: torch.device | str = "cpu") -> SplitReport:
    sq, n, shift, xs = 0.0, 0, [], []
    for x, tx in translate_batches(T, source, device=device):
        sq += per_image_mse(x, tx).sum().item()
        n += len(x)
        shift.append((ink_color(x) - ink_color(tx)).norm(dim=1))
        xs.append(ink_color(x))
    if n == 0:
        raise ValueError("the source test split is empty")
    ys = ink_color(torch.stack([target[i] for i in range(len(target))]))
    xs_all = torch.cat(xs)
    m = min(len(xs_all), len(ys))
    baseline = (xs_all[:m] - ys[:m]).norm(dim=1).mean().item()
    return SplitReport(images=n, mse=sq / n, color_shift=torch.cat(shift).mean().item(),
                       color_shift_baseline=baseline)
