"""FID tracked during training: T(x) on a fixed source subset against the target test split.

The reference statistics of the target split come from the same cache as `scripts/evaluate.py`,
so tracking adds only the translated images' features per evaluation. The Inception weights
are located when the tracker is built, so a missing file stops a run before its first step.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from enot.evaluation.held_out import EvalData, eval_split
from enot.evaluation.metrics import (
    InceptionFeatures,
    features_from_images,
    fid_from_features_fast,
    kid_with_std,
    stats,
)
from enot.evaluation.split_judge import TranslatedImages
from enot.evaluation.stats_cache import reference_stats, stats_key

BATCH = 64


class FIDTracker:
    """``scores(T)``: FID and KID of T(source subset) against the target split, with the
    identity baseline.

    ``max_images`` keeps the first N images of each test split, the same N at every call, so the
    numbers are comparable along a run (FID falls as N grows).
    """

    def __init__(
        self,
        data: EvalData,
        max_images: int,
        device: torch.device | str = "cpu",
        log: Callable[[str], None] = print,
    ):
        self.device = torch.device(device)
        self.source = eval_split(data, "source", "test", max_images)
        target = eval_split(data, "target", "test", max_images)
        self.extractor = InceptionFeatures(device=self.device)
        refs = {}
        for role, dataset in (("target", target), ("source", self.source)):
            refs[role] = reference_stats(
                dataset,
                stats_key(data, role, "test", dataset),
                self.extractor,
                BATCH,
                f"FID tracking, {role} test split",
                progress=False,
                log=log,
            )
        self.ref = refs["target"]
        src = refs["source"]
        self.identity_fid = fid_from_features_fast(
            src.features, src.mu, src.sigma, self.ref.features, self.ref.mu, self.ref.sigma
        )
        self.images = len(self.source)

    def scores(self, T: nn.Module) -> dict[str, float]:
        """FID and KID (mean and standard deviation over its subsets) of T on the subset."""
        stream = TranslatedImages(T, self.source, BATCH, self.device, lpips_model=None)
        features = features_from_images(stream, self.extractor, batch_size=BATCH, progress=False)
        mu, sigma = stats(features)
        kid, kid_std = kid_with_std(features, self.ref.features)
        return {
            "fid": fid_from_features_fast(
                features, mu, sigma, self.ref.features, self.ref.mu, self.ref.sigma
            ),
            "kid": kid,
            "kid_std": kid_std,
            "identity_fid": self.identity_fid,
            "fid_images": self.images,
        }
