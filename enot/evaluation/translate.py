"""Translating a held-out split: T(x) batch by batch, and the per-pixel MSE the papers report."""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from data import from_model
from enot.evaluation.held_out import EvaluationError


@torch.inference_mode()
def translate_batches(
    T: nn.Module, dataset: Dataset, batch_size: int = 64, device: torch.device | str = "cpu"
) -> Iterator[tuple[Tensor, Tensor]]:
    """Yield (x, T(x)) batches over `dataset` in order, on the CPU, in [-1, 1]. T runs in eval
    mode and gets its mode back afterwards, so a network in training can be scored mid-run."""
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


class TranslatedImages:
    """Sized iterable of T(x), accumulating MSE and LPIPS on the way: uint8 HWC images (the
    clean protocol), or with ``as_float`` float batches [B, 3, S, S] (the paper protocol)."""

    def __init__(
        self,
        T: nn.Module,
        dataset: Dataset,
        batch_size: int,
        device: torch.device,
        lpips_model: nn.Module | None = None,
        as_float: bool = False,
    ):
        self.T, self.dataset, self.batch_size = T, dataset, batch_size
        self.device, self.lpips_model, self.as_float = device, lpips_model, as_float
        self.count, self.squared, self.perceptual = 0, 0.0, 0.0

    def __len__(self) -> int:
        return len(self.dataset)

    def __iter__(self) -> Iterator[np.ndarray]:
        for x, tx in translate_batches(self.T, self.dataset, self.batch_size, self.device):
            if tx.shape != x.shape:
                raise EvaluationError(
                    f"T maps images {tuple(x.shape[1:])} to "
                    f"{tuple(tx.shape[1:])}; expected the same shape"
                )
            self.squared += per_image_mse(x, tx).sum().item()
            if self.lpips_model is not None:
                with torch.inference_mode():
                    d = self.lpips_model(x.to(self.device), tx.clamp(-1, 1).to(self.device))
                self.perceptual += d.double().sum().item()
            self.count += len(x)
            if self.as_float:
                yield tx
                continue
            for img in from_model(tx):
                yield img.permute(1, 2, 0).numpy()

    @property
    def mse(self) -> float:
        return self.squared / self.count

    @property
    def lpips(self) -> float | None:
        return None if self.lpips_model is None else self.perceptual / self.count
