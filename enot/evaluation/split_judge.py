"""The judge of a held-out split without a true answer: the target-class rate where a classifier
of the task's classes exists (``enot.evaluation.class_judge``), and the content kept: the ink
shift on tinted digits, else MSE."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Callable

import torch
from torch import Tensor, nn

from data import to_unit
from enot.evaluation.class_judge import class_task, load_classifier
from enot.evaluation.held_out import EvalData, eval_split
from enot.evaluation.metrics.inception import InceptionFeatures
from enot.evaluation.split_fid import SplitFID
from enot.evaluation.stats_cache import log_to_stderr
from enot.evaluation.translate import per_image_mse, translate_batches


def ink_color(images: Tensor) -> Tensor:
    """[B, 3, H, W] in [-1, 1] -> [B, 3] ink colour: the brightness-weighted mean RGB, scaled so
    that its largest channel is 1 (the tint, whatever the stroke's thickness)."""
    u = to_unit(images.float())
    w = u.amax(dim=1, keepdim=True)
    ink = (u * w).sum(dim=(2, 3)) / w.sum(dim=(2, 3)).clamp_min(1e-8)
    return ink / ink.amax(dim=1, keepdim=True).clamp_min(1e-8)


def ink_shift(a: Tensor, b: Tensor) -> Tensor:
    """[B] |ink(a) - ink(b)| summed over RGB and divided by 3: 0 keeps the tint; random pairs
    of tints score far above it."""
    return (ink_color(a) - ink_color(b)).abs().sum(dim=1) / 3


@dataclass(frozen=True)
class SplitReport:
    """What a held-out split says of T. ``*_random`` pair source image i with target image i:
    a map that keeps nothing of its input. Figures the task lacks (class rates, ink shift) or
    that were not asked for (``fid``) are None."""

    images: int
    mse: float
    mse_random: float
    ink_shift: float | None = None
    ink_shift_random: float | None = None
    class_rate: float | None = None
    class_rate_ceiling: float | None = None
    class_rate_identity: float | None = None
    classifier: str | None = None
    fid: dict[str, float] | None = None

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
        if self.fid is not None:
            out.append(f"FID {self.fid['fid']:.2f} (identity {self.fid['identity_fid']:.2f})")
        return out

    def to_dict(self) -> dict[str, float | str | None]:
        record = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "fid"}
        return {**record, "content_ratio": self.content_ratio(), **(self.fid or {})}

    def metrics(self) -> dict[str, float]:
        return {k: v for k, v in self.to_dict().items() if isinstance(v, (int, float))}


class SplitJudge:
    """Callable: T -> SplitReport on a task's held-out split, built once per run, so that
    judging T costs one pass of T. With ``fid_images`` it also measures FID and KID on the first
    that many images of each split, the same at every call so the figures compare along a run."""

    def __init__(
        self,
        data: EvalData,
        split: str = "test",
        max_images: int | None = None,
        *,
        fid_images: int | None = None,
        extractor: InceptionFeatures | None = None,
        device: torch.device | str = "cpu",
        log: Callable[[str], None] = log_to_stderr,
    ):
        self.device = torch.device(device)
        self.source = eval_split(data, "source", split, max_images, min_images=1)
        self.target = eval_split(data, "target", split, max_images, min_images=1)
        task = class_task(data.kind, data.source, data.target)
        self.classifier = None if task is None else load_classifier(task, log=log)
        self.rate = None if self.classifier is None else "class_rate"
        self.ink = data.kind == "colored_mnist"
        self.fid = None
        if fid_images is not None:
            self.fid = SplitFID(
                data,
                split,
                eval_split(data, "source", split, fid_images),
                eval_split(data, "target", split, fid_images),
                extractor or InceptionFeatures(device=self.device),
                log=log,
                label=lambda role, split: f"FID tracking, {role} {split} split",
            )

    @staticmethod
    def known_report(metrics: dict) -> None:
        """None: the logged metrics lack the classifier's name, and judging again is cheap."""
        return None

    def __call__(self, T: nn.Module, device: torch.device | str | None = None) -> SplitReport:
        """Translate the source split and judge T(x): MSE, the ink shift on tinted digits, the
        target-class rate where the task has a classifier, FID where asked for."""
        device = self.device if device is None else device
        sq, shift, hits, xs = [], [], 0, []
        for x, tx in translate_batches(T, self.source, device=device):
            sq.append(per_image_mse(x, tx))
            if self.ink:
                shift.append(ink_shift(x, tx))
            if self.classifier is not None:
                hits += int(self.classifier.is_target(tx).sum())
            xs.append(x)
        x_all = torch.cat(xs)
        y_all = torch.stack([self.target[i] for i in range(len(self.target))])
        n, m = len(x_all), min(len(x_all), len(y_all))
        report = dict(
            images=n,
            mse=torch.cat(sq).mean().item(),
            mse_random=per_image_mse(x_all[:m], y_all[:m]).mean().item(),
        )
        if self.ink:
            report.update(
                ink_shift=torch.cat(shift).mean().item(),
                ink_shift_random=ink_shift(x_all[:m], y_all[:m]).mean().item(),
            )
        if self.classifier is not None:
            c = self.classifier
            report.update(
                class_rate=hits / n,
                class_rate_ceiling=int(c.is_target(y_all).sum()) / len(y_all),
                class_rate_identity=int(c.is_target(x_all).sum()) / n,
                classifier=c.task.describe(),
            )
        if self.fid is not None:
            report.update(fid=self.fid.scores(T, device))
        return SplitReport(**report)
