"""FID and KID of translations against a target split, beside the identity's: the one place
that measures FID. The splits' statistics are cached, so a measurement costs only T(x)'s."""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from enot.evaluation.held_out import EvalData, EvaluationError, describe_split, eval_split
from enot.evaluation.metrics.fid import (
    FeatureStats,
    fid_between,
    kid_from_features,
    kid_with_std,
    stats,
)
from enot.evaluation.metrics.paper_protocol import protocol_features
from enot.evaluation.stats_cache import (
    ReferenceStats,
    log_to_stderr,
    read_cache,
    stats_cache_path,
    stats_key,
    write_cache,
)
from enot.evaluation.translate import TranslatedImages

BATCH = 64


class SplitFID:
    """FID and KID against the ``target`` images of a split, beside the identity's (``source``
    untouched). ``label(role, split)`` names a split in the log; ``protocol`` is "clean" (uint8
    images) or "paper" (float batches; ``metrics.paper_protocol``)."""

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
        protocol: str = "clean",
        label: Callable[[str, str], str] | None = None,
    ):
        self.data, self.split, self.source, self.extractor = data, split, source, extractor
        self.batch_size, self.progress, self.protocol = batch_size, progress, protocol
        self.log = log
        self.label = label or (lambda role, split: describe_split(data, role, split))
        self.refs = {
            role: self.reference(dataset, role, split)
            for role, dataset in (("target", target), ("source", source))
        }
        self.target = self.refs["target"]
        self.identity_fid = fid_between(self.refs["source"], self.target)

    def reference(self, dataset: Dataset, role: str, split: str) -> ReferenceStats:
        """The Inception statistics of one split of the task, cached (computed on a miss)."""
        label, n = self.label(role, split), len(dataset)
        key = stats_key(self.data, role, split, dataset, self.protocol)
        path = stats_cache_path(key)
        found = read_cache(path, n) if path.is_file() else None
        if found is not None:
            self.log(f"{label}: {n} images, Inception statistics from cache {path}")
            return found
        self.log(f"{label}: computing Inception statistics of {n} images")
        # The split's own images, through the same conversion as translations.
        as_float = self.protocol == "paper"
        features = self.features(
            TranslatedImages(nn.Identity(), dataset, self.batch_size, "cpu", as_float=as_float)
        )
        ref = ReferenceStats(features, *stats(features), path, from_cache=False)
        write_cache(path, ref, key)
        self.log(f"{label}: cached at {path}")
        return ref

    def train_floor(self) -> float | None:
        """FID of as many real target *train* images as there are source images, against the
        target: what a perfect map scores at this N. None off the test split, or where
        the train split is smaller."""
        n = len(self.source)
        if self.split != "test":
            return None
        try:
            real = eval_split(self.data, "target", "train", n)
        except EvaluationError:
            return None
        return (
            fid_between(self.reference(real, "target", "train"), self.target)
            if len(real) == n
            else None
        )

    def identity_kid(self) -> float:
        """KID of the untouched source against the target."""
        return kid_from_features(self.refs["source"].features, self.target.features)

    def fid_of(self, features: np.ndarray) -> float:
        return fid_between(FeatureStats.of(features), self.target)

    def kid_of(self, features: np.ndarray) -> tuple[float, float]:
        """KID's mean and standard deviation over its subsets."""
        return kid_with_std(features, self.target.features)

    def features(self, images: Iterable) -> np.ndarray:
        """Inception features of a sized iterable of images, as the protocol feeds them."""
        return protocol_features(
            images, self.extractor, self.protocol, self.batch_size, self.progress
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
