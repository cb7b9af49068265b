"""FID and KID from Inception features, with clean-fid's formulas (``frechet_distance``,
``kernel_distance``) in float64: clean-fid's mean is float32, so its FID can differ from ours in
the ~6th digit."""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import linalg


def _as_features(features: np.ndarray) -> np.ndarray:
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2:
        raise ValueError(f"expected features of shape [N, D], got {f.shape}")
    if f.shape[0] == 0:
        raise ValueError("empty feature set: no images were given")
    return f


def stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean [D] and covariance [D, D] (float64, unbiased as np.cov) of features [N, D]."""
    f = _as_features(features)
    if f.shape[0] < 2:
        raise ValueError(f"got {f.shape[0]} image: fewer than 2 images cannot give a covariance")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, eps: float = 1e-6
) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2), as clean-fid computes it."""
    mu1 = np.atleast_1d(np.asarray(mu1, np.float64))
    mu2 = np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1 = np.atleast_2d(np.asarray(sigma1, np.float64))
    sigma2 = np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(
            f"statistics do not match: mu {mu1.shape} vs {mu2.shape}, "
            f"sigma {sigma1.shape} vs {sigma2.shape}"
        )
    diff = mu1 - mu2
    with warnings.catch_warnings():
        # With fewer images than dimensions (2048) the product is always singular and scipy
        # warns each time; the non-finite case below is the one that matters.
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma1.dot(sigma2))
        if not np.isfinite(covmean).all():
            offset = np.eye(sigma1.shape[0]) * eps
            covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"imaginary component {np.max(np.abs(covmean.imag))} in sqrtm")
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def kid_subsets(
    features1: np.ndarray,
    features2: np.ndarray,
    num_subsets: int = 100,
    max_subset_size: int = 1000,
    seed: int = 0,
) -> np.ndarray:
    """KID (unbiased MMD^2, kernel (x.y / D + 1)^3) of each of ``num_subsets`` random subsets,
    drawn exactly as clean-fid draws them (legacy ``choice``, features2 first), so their mean
    equals ``np.random.seed(seed); cleanfid.fid.kernel_distance(f1, f2)``."""
    f1, f2 = _as_features(features1), _as_features(features2)
    n = f1.shape[1]
    m = min(f1.shape[0], f2.shape[0], max_subset_size)
    if m < 2:
        raise ValueError("fewer than 2 images per set cannot give KID")
    rng = np.random.RandomState(seed)
    out = np.empty(num_subsets)
    for i in range(num_subsets):
        x = f2[rng.choice(f2.shape[0], m, replace=False)]
        y = f1[rng.choice(f1.shape[0], m, replace=False)]
        a = (x @ x.T / n + 1) ** 3 + (y @ y.T / n + 1) ** 3
        b = (x @ y.T / n + 1) ** 3
        out[i] = ((a.sum() - np.diag(a).sum()) / (m - 1) - b.sum() * 2 / m) / m
    return out


def kid_from_features(
    features1: np.ndarray,
    features2: np.ndarray,
    num_subsets: int = 100,
    max_subset_size: int = 1000,
    seed: int = 0,
) -> float:
    """KID averaged over the subsets of ``kid_subsets`` (clean-fid's ``kernel_distance``)."""
    return float(kid_subsets(features1, features2, num_subsets, max_subset_size, seed).mean())


def kid_with_std(features1: np.ndarray, features2: np.ndarray) -> tuple[float, float]:
    """KID's mean and its standard deviation over the 100 subsets (as torch-fidelity reports)."""
    values = kid_subsets(features1, features2)
    return float(values.mean()), float(values.std())


def load_stats(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read (mu, sigma) as float64 from an .npz of clean-fid's format (keys 'mu', 'sigma')."""
    with np.load(path) as data:
        if "mu" not in data or "sigma" not in data:
            raise ValueError(f"{path} has no 'mu' and 'sigma' arrays")
        return data["mu"].astype(np.float64), data["sigma"].astype(np.float64)


def fid_from_features_fast(
    f1: np.ndarray,
    mu1: np.ndarray,
    sigma1: np.ndarray,
    f2: np.ndarray,
    mu2: np.ndarray,
    sigma2: np.ndarray,
) -> float:
    """FID of two feature sets [N1, D], [N2, D] with their (mu, sigma) from ``stats``.

    With fewer images than dimensions, scipy's ``sqrtm`` of the singular D x D product S1 S2 is
    slow and at its least accurate; the non-zero eigenvalues of S1 S2 are the squared singular
    values of A1 A2^T / sqrt((n1 - 1)(n2 - 1)) (A: centred features), so Tr sqrtm(S1 S2) is
    their sum, exactly. With more than D images a side it is ``frechet_distance``.
    """
    n1, n2, dim = len(f1), len(f2), f1.shape[1]
    if min(n1, n2) > dim:
        return frechet_distance(mu1, sigma1, mu2, sigma2)
    a1 = np.asarray(f1, np.float64) - mu1
    a2 = np.asarray(f2, np.float64) - mu2
    singular = np.linalg.svd(a1 @ a2.T, compute_uv=False)
    tr_covmean = singular.sum() / math.sqrt((n1 - 1) * (n2 - 1))
    diff = mu1 - mu2
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_covmean)


@dataclass(frozen=True)
class FeatureStats:
    """Inception features [N, D] of a set of images with their mean and covariance."""

    features: np.ndarray
    mu: np.ndarray
    sigma: np.ndarray

    @classmethod
    def of(cls, features: np.ndarray) -> "FeatureStats":
        return cls(features, *stats(features))


def fid_between(a: FeatureStats, b: FeatureStats) -> float:
    """FID of two feature sets (``fid_from_features_fast``)."""
    return fid_from_features_fast(a.features, a.mu, a.sigma, b.features, b.mu, b.sigma)
