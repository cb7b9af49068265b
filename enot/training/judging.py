"""What the trainer asks of an evaluation: a callback it calls every ``--eval-every`` steps.

The trainer knows no metric. It hands the map to a ``Judge`` and keeps the map whose
``Verdict.score`` is highest as ``export_best``; ``enot.evaluation.map_judge.MapJudge`` is the
judge that ``scripts/train.py`` passes in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import torch
from torch import nn


@dataclass(frozen=True)
class Verdict:
    metrics: dict  # flat: floats, plus names such as the criterion; logged and kept in the card
    score: float  # higher is better; -inf: this map may not become export_best
    summary: str  # one line for the progress log


class Judge(Protocol):
    best_by: str  # the criterion behind Verdict.score, for the log and the run summary

    def judge(self, T: nn.Module, device: torch.device | str) -> Verdict: ...


# Built by the main process before the first step, so that a missing file stops a run at once.
JudgeFactory = Callable[[torch.device, Callable[[str], None]], Judge]
