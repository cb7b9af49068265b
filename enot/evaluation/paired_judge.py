"""The judge of tasks with a true answer: two folders whose files correspond by name, whose test
images come in pairs although training is unpaired. Style rate (a logistic regression on the
Inception features, fitted on the train splits only), distance to the true counterpart,
retrieval, and FID and KID beside a real-data floor: the identity wins none (docs/emoji.md).
What is fixed is computed once, so a judgement costs one pass of T and one Inception pass."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.utils.data import Subset

from data import from_model, spread_indices
from enot.evaluation.held_out import EvalData, EvaluationError, describe_split, eval_split
from enot.evaluation.metrics.inception import InceptionFeatures
from enot.evaluation.split_fid import SplitFID
from enot.evaluation.stats_cache import log_to_stderr
from enot.evaluation.translate import per_image_mse, translate_batches

FIT_IMAGES = 400  # train images per domain that fit the style classifier
SEED = 0
ROLES = ("source", "target")


@dataclass(frozen=True)
class PairedReport:
    """What the test pairs say of T; ``*_identity`` is the untouched source, ``*_random``
    pairs each source image with another name's target image (a fixed derangement)."""

    images: int
    style_rate: float
    style_rate_ceiling: float
    style_rate_identity: float
    mse_truth: float
    mse_truth_identity: float
    mse_truth_random: float
    feat_truth: float
    feat_truth_identity: float
    feat_truth_random: float
    retrieval: float
    retrieval_identity: float
    fid: float
    identity_fid: float
    fid_floor: float
    kid: float
    kid_std: float
    identity_kid: float
    style_fit_images: int
    style_fit_accuracy: float

    def content_ratio(self) -> float:
        """Feature distance to the truth over random pairs': 1 is a map that ignores x."""
        return self.feat_truth / max(self.feat_truth_random, 1e-12)

    def lines(self) -> list[str]:
        return [
            f"test split: {self.images} source images, each with its true target counterpart",
            f"style rate (read as the target set): {self.style_rate:.1%} of T(x); ceiling (real "
            f"target test images) {self.style_rate_ceiling:.1%}, identity "
            f"{self.style_rate_identity:.1%} (classifier: {self.style_fit_images} train images "
            f"per domain, {self.style_fit_accuracy:.1%} on held-out train images)",
            f"distance to the truth, per-pixel MSE in [-1, 1]: {self.mse_truth:.4f}; identity "
            f"{self.mse_truth_identity:.4f}, random pairs {self.mse_truth_random:.4f}",
            f"distance to the truth, Inception features: {self.feat_truth:.2f}; identity "
            f"{self.feat_truth_identity:.2f}, random pairs {self.feat_truth_random:.2f}",
            f"retrieval (nearest target test image is the counterpart): {self.retrieval:.1%}; "
            f"identity {self.retrieval_identity:.1%}",
            f"FID against the target test split: {self.fid:.2f}; identity "
            f"{self.identity_fid:.2f}, floor (real target train images) {self.fid_floor:.2f}; "
            f"KID {self.kid:.4f} +- {self.kid_std:.4f} (identity {self.identity_kid:.4f})",
        ]

    def to_dict(self) -> dict[str, float]:
        """Every figure, the content ratio and ``fid_images`` (FID sees the whole split)."""
        return {**asdict(self), "content_ratio": self.content_ratio(), "fid_images": self.images}

    def metrics(self) -> dict[str, float]:
        return self.to_dict()


def _names(split: Subset) -> list[str]:
    """The file names of a split (``eval_split``'s subset of a folder dataset)."""
    names = getattr(split.dataset, "names", None)
    if names is None:
        raise EvaluationError(
            "paired judging needs folders whose files correspond by name (--dataset paired_folder)"
        )
    return [names[i] for i in split.indices]


def _spread(split: Subset, n: int) -> Subset:
    """``n`` items spread evenly over a split, the same on every run; one subset level, so the
    stats cache fingerprints the files."""
    picked = spread_indices(len(split), n)
    return Subset(split.dataset, [split.indices[i] for i in picked])


def derangement(n: int) -> np.ndarray:
    """A fixed permutation of range(n) that moves every index (a cyclic shift by n // 2)."""
    return (np.arange(n) + max(1, n // 2)) % n


def nearest_is_own(queries: np.ndarray, gallery: np.ndarray) -> float:
    """Share of rows i of ``queries`` whose nearest row of ``gallery`` (Euclidean) is row i."""
    q, g = torch.from_numpy(queries).double(), torch.from_numpy(gallery).double()
    nearest = torch.cdist(q, g).argmin(dim=1)
    return (nearest == torch.arange(len(q))).double().mean().item()


def _distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a.astype(np.float64) - b.astype(np.float64), axis=1).mean())


class PairedJudge:
    """Callable: T -> PairedReport on a paired task's whole test split, built once per run."""

    rate = "style_rate"  # the rate that ranks its maps (--best-by)

    @staticmethod
    def known_report(metrics: dict) -> PairedReport:
        """The report that a run's logged metrics hold already: every figure of it is logged,
        so a map the run judged needs no second Inception pass."""
        return PairedReport(**{f.name: metrics[f.name] for f in fields(PairedReport)})

    def __init__(
        self,
        data: EvalData,
        extractor: InceptionFeatures | None = None,
        fit_images: int = FIT_IMAGES,
        device: torch.device | str = "cpu",
        log: Callable[[str], None] = log_to_stderr,
    ):
        self.device = torch.device(device)
        self.source = eval_split(data, "source", "test", None)
        self.target = eval_split(data, "target", "test", None)
        src_names, tgt_names = _names(self.source), _names(self.target)
        if src_names != tgt_names:
            only = sorted(set(src_names) ^ set(tgt_names))[:5]
            raise EvaluationError(
                f"paired judging needs folders whose files correspond by name: the test splits "
                f"of {data.source} and {data.target} differ ({len(src_names)} and "
                f"{len(tgt_names)} names; e.g. {', '.join(only) or 'in their order'})"
            )
        self.names = src_names
        self.extractor = extractor or InceptionFeatures(device=self.device)

        def label(role: str, split: str) -> str:
            return f"paired judge, {describe_split(data, role, split)}"

        self.fid = SplitFID(
            data, "test", self.source, self.target, self.extractor, log=log, label=label
        )
        x_feat, self.y_feat = self.fid.refs["source"].features, self.fid.target.features
        n = len(self.names)

        # The style classifier sees train images only; its held-out tenth gives its accuracy.
        fit = [_spread(eval_split(data, role, "train", None), fit_images) for role in ROLES]
        self.fit_names = set(_names(fit[0])) | set(_names(fit[1]))
        feats = np.concatenate(
            [self.fid.reference(fit[i], role, "train").features for i, role in enumerate(ROLES)]
        )
        labels = np.r_[np.zeros(len(fit[0])), np.ones(len(fit[1]))]
        held = np.arange(len(labels)) % 10 == 9
        # Imported here: scikit-learn takes seconds to import, and only paired tasks need it.
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        self.classifier = make_pipeline(
            StandardScaler(), LogisticRegression(C=0.1, max_iter=2000, random_state=SEED)
        )
        self.classifier.fit(feats[~held], labels[~held])
        fit_accuracy = float((self.classifier.predict(feats[held]) == labels[held]).mean())
        self.classifier.fit(feats, labels)
        # The floor: as many real target train images as the test split, from the fitted ones.
        target_fit = feats[len(fit[0]) :]
        floor_feat = target_fit[
            np.linspace(0, len(target_fit) - 1, min(n, len(target_fit))).round().astype(int)
        ]

        # The fixed figures: the identity, random pairs, the ceiling and the floor.
        x = torch.stack([self.source[i] for i in range(n)])
        y = torch.stack([self.target[i] for i in range(n)])
        perm = derangement(n)
        self.fixed = dict(
            images=n,
            style_rate_ceiling=self._style(self.y_feat),
            style_rate_identity=self._style(x_feat),
            mse_truth_identity=per_image_mse(x, y).mean().item(),
            mse_truth_random=per_image_mse(x, y[perm]).mean().item(),
            feat_truth_identity=_distance(x_feat, self.y_feat),
            feat_truth_random=_distance(x_feat, self.y_feat[perm]),
            retrieval_identity=nearest_is_own(x_feat, self.y_feat),
            identity_fid=self.fid.identity_fid,
            fid_floor=self.fid.fid_of(floor_feat),
            identity_kid=self.fid.identity_kid(),
            style_fit_images=len(fit[0]),
            style_fit_accuracy=fit_accuracy,
        )
        self.y = y

    def _style(self, feats: np.ndarray) -> float:
        return float(self.classifier.predict(feats).mean())

    def __call__(self, T: nn.Module, device: torch.device | str | None = None) -> PairedReport:
        device = self.device if device is None else device
        tx = torch.cat([t for _, t in translate_batches(T, self.source, device=device)])
        feats = self.fid.features(from_model(tx))
        kid, kid_std = self.fid.kid_of(feats)
        return PairedReport(
            **self.fixed,
            style_rate=self._style(feats),
            mse_truth=per_image_mse(tx, self.y).mean().item(),
            feat_truth=_distance(feats, self.y_feat),
            retrieval=nearest_is_own(feats, self.y_feat),
            fid=self.fid.fid_of(feats),
            kid=kid,
            kid_std=kid_std,
        )
