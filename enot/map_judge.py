"""Everything a run knows about a map mid-training, in one call: the split judge and FID/KID.

The trainer's periodic evaluation and the ENOT-against-NOT comparison judge maps the same way,
through this: the target-class rate (where the task has a classifier), the content kept (ink
shift or MSE, and its ratio to random pairs), and FID and KID against the target test split.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from enot.eval_data import EvalData
from enot.evaluation import SplitJudge, SplitReport
from enot.fid_tracker import FIDTracker


class MapJudge:
    """Callable: T -> (SplitReport, flat metrics dict of floats and the classifier's name).

    ``fid_images`` caps the test images scored by FID and KID; the split judge always reads
    every test image. Both load their data (and the classifier, the Inception weights) here, so
    a missing file stops a run before its first step.
    """

    def __init__(self, data: EvalData, fid_images: int, device: torch.device | str = "cpu",
                 log: Callable[[str], None] = print):
        self.split = SplitJudge(data, log=log)
        self.fid = FIDTracker(data, fid_images, device, log=log)
        self.has_classifier = self.split.classifier is not None

    def __call__(self, T: nn.Module, device: torch.device | str = "cpu"
                 ) -> tuple[SplitReport, dict]:
        report = self.split(T, device)
        return report, {**report.metrics(), "content_ratio": report.content_ratio(),
                        **self.fid.scores(T)}
