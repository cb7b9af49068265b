"""FID and KID of translations against a target split, beside the identity's: the one place
that measures FID, for the training run's evaluations, the paired judge and an export's report.

The reference statistics of both splits come from the cache of ``enot.evaluation.stats_cache``,
so a measurement costs only the translated images' features.
"""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from enot.evaluation.held_out import EvalData, describe_split
from enot.evaluation.metrics import (
    FeatureStats,
    features_from_images,
    features_from_tensors,
    fid_between,
    kid_from_features,
    kid_with_std,
)
from enot.evaluation.stats_cache import log_to_stderr, reference_stats, stats_key
from enot.evaluation.translate import TranslatedImages

BATCH = 64


class SplitFID:
    """FID and KID against the ``target`` images of a split, with the identity baseline: the
    ``source`` images untouched against the same target.

    ``label(role)`` names a split in the log; ``protocol`` is how Inception sees the images,
    "clean" (uint8 images) or "paper" (float batches; ``metrics.paper_protocol``).
    """

    def __init__(
        self,
        data: EvalData,
        split: str,
        source: Dataset,
        target: Dataset,
        extractor: Callable,
        *,
        batch_size: int = BATCH,
        progress: bool = False,
        log: Callable[[str], None] = log_to_stderr,
        cache: bool = True,
        protocol: str = "clean",
        label: Callable[[str], str] | None = None,
    ):
        self.source, self.extractor = source, extractor
        self.batch_size, self.progress, self.protocol = batch_size, progress, protocol
        label = label or (lambda role: describe_split(data, role, split))
        self.refs = {
            role: reference_stats(
                dataset,
                stats_key(data, role, split, dataset),
                extractor,
                batch_size,
                label(role),
                progress,
                log,
                cache,
                protocol=protocol,
            )
            for role, dataset in (("target", target), ("source", source))
        }
        self.target = self.refs["target"]
        self.identity_fid = fid_between(self.refs["source"], self.target)

    def identity_kid(self) -> float:
        """KID of the untouched source against the target."""
        return kid_from_features(self.refs["source"].features, self.target.features)

    def fid_of(self, features: np.ndarray) -> float:
        return fid_between(FeatureStats.of(features), self.target)

    def kid_of(self, features: np.ndarray) -> tuple[float, float]:
        """KID's mean and standard deviation over its subsets."""
        return kid_with_std(features, self.target.features)

    def features(self, images: Iterable) -> np.ndarray:
        """Inception features of a sized iterable of images by the protocol: uint8 HWC images
        (clean) or float batches in [-1, 1] (paper)."""
        if self.protocol == "paper":
            return features_from_tensors(images, self.extractor, len(images), self.progress)
        return features_from_images(
            images, self.extractor, batch_size=self.batch_size, progress=self.progress
        )

    def scores(self, T: nn.Module, device: torch.device) -> dict[str, float]:
        """FID and KID of T(source), the identity's FID and the number of images: the figures a
        training run logs."""
        features = self.features(TranslatedImages(T, self.source, self.batch_size, device))
        kid, kid_std = self.kid_of(features)
        return {
            "fid": self.fid_of(features),
            "kid": kid,
            "kid_std": kid_std,
            "identity_fid": self.identity_fid,
            "fid_images": len(self.source),
        }
