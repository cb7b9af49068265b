"""The training run's evaluation callback: the task's judge, with FID and KID, and --best-by."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from enot.config import Config, ConfigError
from enot.evaluation.class_judge import JudgeError, class_task
from enot.evaluation.held_out import EvalData, data_from_config
from enot.evaluation.judge import judge_for, judge_type
from enot.evaluation.paired_judge import PairedJudge


class JudgeCallback:
    """The training loop's evaluation callback: T -> (metrics, score, summary): the report's
    figures with ``best_by``, the ``best_score``, one line for the log. ``fid_images`` caps the
    images FID and KID see under the split judge (None: no FID and KID there). The judge loads
    its data, classifier and Inception weights here, so a missing file stops a run before its
    first step."""

    def __init__(
        self,
        data: EvalData,
        fid_images: int | None,
        device: torch.device | str = "cpu",
        log: Callable[[str], None] = print,
        best_by: str = "fid",
        best_guard: float = 0.75,
    ):
        self.judge = judge_for(data, fid_images=fid_images, device=device, log=log)
        self.has_classifier = self.judge.rate is not None
        self.best_by, self.best_guard = best_by, best_guard

    def __call__(
        self, T: nn.Module, step: int = 0, seconds: float = 0.0
    ) -> tuple[dict, float, str]:
        """Judge T (``step`` and ``seconds`` of training are the loop's; every call judges)."""
        report = self.judge(T)
        metrics = {**report.metrics(), "best_by": self.best_by}
        summary = "; ".join(report.lines()[1:])
        return metrics, best_score(self.best_by, metrics, self.best_guard), summary


def best_score(best_by: str, metrics: dict[str, float], guard: float) -> float:
    """The --best-by criterion, higher is better: a rate for maps whose ``content_ratio`` is at
    most ``guard`` (-inf for the others, which may not be exported), or -fid, -kid."""
    if best_by in ("class_rate", "style_rate"):
        return metrics[best_by] if metrics["content_ratio"] <= guard else float("-inf")
    return -metrics[best_by]


def rate_key(data: EvalData) -> str:
    """The rate that judges a task: style_rate for paired folders, else class_rate."""
    return "style_rate" if judge_type(data) is PairedJudge else "class_rate"


def resolve_best_by(cfg: Config) -> str:
    """--best-by with auto resolved: style_rate for paired folders, class_rate where the task
    has a classifier, else fid. A rate the task cannot be judged by is refused, naming the fix:
    scripts/train.py calls this before anything runs."""
    d, best_by = cfg.data, cfg.train.best_by
    paired = judge_type(data_from_config(cfg)) is PairedJudge
    try:
        has_classifier = class_task(d.dataset, d.source, d.target) is not None
    except JudgeError:  # a malformed spec of a classifier's kind: the data loader names it
        has_classifier = True
    if best_by == "class_rate" and not has_classifier:
        raise ConfigError(
            f"--best-by class_rate needs a classifier of the task, and none "
            f"judges {d.dataset!r} (only colored_mnist and fashion_mnist); use "
            f"--best-by fid or kid"
        )
    if best_by == "style_rate" and not paired:
        raise ConfigError(
            "--best-by style_rate needs two folders whose files correspond by "
            "name (--dataset paired_folder), which the style judge compares; use "
            "--best-by fid or kid"
        )
    if best_by != "auto":
        return best_by
    return "style_rate" if paired else "class_rate" if has_classifier else "fid"
