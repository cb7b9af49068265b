"""Translate a held-out split and measure what needs no pretrained network.

MSE is the per-pixel mean of (x - T(x))^2 in [-1, 1], as the ENOT and NOT papers report it.
The ink shift is for tinted-digit tasks: the ink colour of an image is its RGB averaged with
the brightest channel as weight, so the black background does not count, then scaled to a largest
channel of 1. The target-class rate comes from ``enot.evaluation.class_judge``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, Iterator

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from data import from_model, to_unit
from enot.evaluation.class_judge import class_task, load_classifier
from enot.evaluation.held_out import EvalData, EvaluationError, eval_split


@torch.inference_mode()
def translate_batches(
    T: nn.Module, dataset: Dataset, batch_size: int = 64, device: torch.device | str = "cpu"
) -> Iterator[tuple[Tensor, Tensor]]:
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


class TranslatedImages:
    """Sized iterable of T(x), accumulating MSE and LPIPS on the way: uint8 HWC images (the
    clean protocol), or with ``as_float`` float batches [B, 3, S, S] (the paper protocol)."""

    def __init__(
        self,
        T: nn.Module,
        dataset: Dataset,
        batch_size: int,
        device: torch.device,
        lpips_model: nn.Module | None,
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


def ink_color(images: Tensor) -> Tensor:
    """[B, 3, H, W] in [-1, 1] -> [B, 3] ink colour: the brightness-weighted mean RGB, scaled so
    that its largest channel is 1 (the tint, whatever the stroke's thickness)."""
    u = to_unit(images.float())
    w = u.amax(dim=1, keepdim=True)
    ink = (u * w).sum(dim=(2, 3)) / w.sum(dim=(2, 3)).clamp_min(1e-8)
    return ink / ink.amax(dim=1, keepdim=True).clamp_min(1e-8)


def ink_shift(a: Tensor, b: Tensor) -> Tensor:
    """[B] |ink(a) - ink(b)| summed over RGB and divided by 3: 0 keeps the tint, ~0.4 is a
    random other tint."""
    return (ink_color(a) - ink_color(b)).abs().sum(dim=1) / 3


@dataclass(frozen=True)
class SplitReport:
    """What a held-out split says of T without a pretrained network.

    ``*_random`` pair source test image i with target test image i: the level of a map that
    keeps nothing of its input. The class rates are None where no classifier judges the task
    (``enot.evaluation.class_judge``), the ink shift where the task is not tinted digits.
    """

    images: int
    mse: float
    mse_random: float
    ink_shift: float | None = None
    ink_shift_random: float | None = None
    class_rate: float | None = None
    class_rate_ceiling: float | None = None
    class_rate_identity: float | None = None
    classifier: str | None = None

    def content_ratio(self) -> float:
        """Content lost, relative to random pairs: the ink shift's where known, else MSE's."""
        if self.ink_shift is not None:
            return self.ink_shift / max(self.ink_shift_random, 1e-12)
        return self.mse / max(self.mse_random, 1e-12)

    def lines(self) -> list[str]:
        out = [f"test split: {self.images} source images"]
        if self.class_rate is not None:
            out.append(
                f"target-class rate ({self.classifier}): {self.class_rate:.1%} of T(x); "
                f"ceiling (real target test images) {self.class_rate_ceiling:.1%}, "
                f"identity (untouched source) {self.class_rate_identity:.1%}"
            )
        if self.ink_shift is not None:
            out.append(
                f"ink-colour shift |ink(x) - ink(T(x))|: {self.ink_shift:.4f} (random "
                f"pairs of source and target: {self.ink_shift_random:.4f})"
            )
        out.append(
            f"MSE(x, T(x)) per pixel in [-1,1]: {self.mse:.4f} (random pairs: "
            f"{self.mse_random:.4f})"
        )
        return out

    def metrics(self) -> dict[str, float]:
        return {k: v for k, v in asdict(self).items() if isinstance(v, (int, float))}


def _stack(dataset: Dataset) -> Tensor:
    return torch.stack([dataset[i] for i in range(len(dataset))])


def judge_split(
    T: nn.Module,
    source: Dataset,
    target: Dataset,
    classifier=None,
    ink: bool = False,
    device: torch.device | str = "cpu",
) -> SplitReport:
    """Translate ``source`` and judge T(x): MSE, the ink shift if ``ink``, and the target-class
    rate if a ``classifier`` (``enot.evaluation.class_judge.DomainClassifier``) is given."""
    sq, shift, hits, xs = [], [], 0, []
    for x, tx in translate_batches(T, source, device=device):
        sq.append(per_image_mse(x, tx))
        if ink:
            shift.append(ink_shift(x, tx))
        if classifier is not None:
            hits += int(classifier.is_target(tx).sum())
        xs.append(x)
    if not xs:
        raise ValueError("the source test split is empty")
    x_all, y_all = torch.cat(xs), _stack(target)
    n, m = len(x_all), min(len(x_all), len(y_all))
    report = dict(
        images=n,
        mse=torch.cat(sq).mean().item(),
        mse_random=per_image_mse(x_all[:m], y_all[:m]).mean().item(),
    )
    if ink:
        report.update(
            ink_shift=torch.cat(shift).mean().item(),
            ink_shift_random=ink_shift(x_all[:m], y_all[:m]).mean().item(),
        )
    if classifier is not None:
        report.update(
            class_rate=hits / n,
            class_rate_ceiling=int(classifier.is_target(y_all).sum()) / len(y_all),
            class_rate_identity=int(classifier.is_target(x_all).sum()) / n,
            classifier=classifier.task.describe(),
        )
    return SplitReport(**report)


class SplitJudge:
    """Callable: T -> SplitReport on a task's whole test split, built once per run.

    Loads both test splits and, where the task has one, its classifier (fitted and cached on
    first use), so that judging T mid-run costs one pass of T over the source test images.
    """

    def __init__(
        self,
        data: EvalData,
        split: str = "test",
        max_images: int | None = None,
        log: Callable[[str], None] = print,
    ):
        self.source = eval_split(data, "source", split, max_images, min_images=1)
        self.target = eval_split(data, "target", split, max_images, min_images=1)
        task = class_task(data.kind, data.source, data.target)
        self.classifier = None if task is None else load_classifier(task, log=log)
        self.ink = data.kind == "colored_mnist"

    def __call__(self, T: nn.Module, device: torch.device | str = "cpu") -> SplitReport:
        return judge_split(T, self.source, self.target, self.classifier, self.ink, device)
