"""One judge of maps on a task's held-out split, chosen in one place, answering one report
that the run's evaluations, the judgement of its exports and ``scripts/evaluate.py`` read alike.
"""

from __future__ import annotations

from typing import Callable, Protocol

import torch
from torch import nn

from data import paired_by_name
from enot.evaluation.held_out import EvalData
from enot.evaluation.metrics.inception import InceptionFeatures
from enot.evaluation.paired_judge import PairedJudge
from enot.evaluation.split_judge import SplitJudge
from enot.evaluation.stats_cache import log_to_stderr


class Report(Protocol):
    """What a judge says of one map."""

    images: int  # source images judged

    def metrics(self) -> dict[str, float]:
        """The figures, one name each: the run's log, the card, ``--best-by``."""

    def to_dict(self) -> dict:
        """The figures with what names them (the classifier): the JSON reports."""

    def lines(self) -> list[str]:
        """The figures in words, a heading line first."""

    def content_ratio(self) -> float:
        """Content lost relative to random source/target pairs: 1 is a map that ignores x."""


class Judge(Protocol):
    """Callable: T -> Report, built once (data, classifier, reference features) per run."""

    rate: str | None  # the rate that ranks maps by --best-by; None where the task has none

    def __call__(self, T: nn.Module, device: torch.device | str | None = None) -> Report: ...


def judge_type(
    data: EvalData, split: str = "test", max_images: int | None = None
) -> type[PairedJudge] | type[SplitJudge]:
    """PairedJudge for the whole test split of folders whose files correspond by name (the only
    split that has a true answer for every image), else SplitJudge."""
    whole_test = split == "test" and max_images is None
    return (
        PairedJudge
        if whole_test and paired_by_name(data.kind, data.source, data.target)
        else SplitJudge
    )


def judge_for(
    data: EvalData,
    split: str = "test",
    max_images: int | None = None,
    *,
    fid_images: int | None = None,
    extractor: InceptionFeatures | None = None,
    device: torch.device | str = "cpu",
    log: Callable[[str], None] = log_to_stderr,
) -> Judge:
    """The judge of a task's split. ``fid_images`` makes the split judge measure FID and KID
    too, on that many images (the paired judge measures them on the whole split anyway);
    ``extractor`` is the Inception network to share, if one is loaded already."""
    if judge_type(data, split, max_images) is PairedJudge:
        return PairedJudge(data, extractor, device=device, log=log)
    return SplitJudge(
        data, split, max_images, fid_images=fid_images, extractor=extractor, device=device, log=log
    )
