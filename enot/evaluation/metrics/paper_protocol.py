"""FID as the NOT family measures it, which the ENOT paper's table follows ("paper" protocol):
T(x) stays a float, ``(T(x) + 1) / 2`` unclamped, bilinear ``F.interpolate`` to 299
(docs/evaluation.md). Our TorchScript normalises with ``(v - 128) / 128``, so v = 256 u gives
exactly pytorch-fid's 2 u - 1."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from enot.evaluation.metrics.features import features_from_images
from enot.evaluation.metrics.inception import FEATURE_DIM, INPUT_SIZE

PROTOCOLS = ("clean", "paper")


def paper_resize(x: torch.Tensor) -> torch.Tensor:
    """[B, 3, H, W] floats in [-1, 1] -> the Inception input [B, 3, 299, 299] of the paper
    protocol: u = (x + 1) / 2, bilinear resize, then 256 u (see the module docstring)."""
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"expected a batch [B, 3, H, W], got {tuple(x.shape)}")
    u = (x.float() + 1) / 2
    u = F.interpolate(u, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)
    return u * 256


def features_from_tensors(
    batches: Iterable[torch.Tensor],
    extractor: Callable,
    total: int | None = None,
    progress: bool = True,
) -> np.ndarray:
    """Features [N, 2048] of float batches in [-1, 1], by the paper protocol."""
    out = []
    with tqdm(
        total=total, desc="FID features (paper protocol)", unit="img", disable=not progress
    ) as bar:
        for x in batches:
            out.append(extractor(paper_resize(x)))
            bar.update(len(x))
    return np.concatenate(out) if out else np.empty((0, FEATURE_DIM), np.float32)


def protocol_features(
    images: Iterable, extractor: Callable, protocol: str, batch_size: int, progress: bool
) -> np.ndarray:
    """Features of a sized iterable of images by the FID ``protocol``: float batches in
    [-1, 1] ("paper") or uint8 HWC images ("clean")."""
    if protocol == "paper":
        return features_from_tensors(images, extractor, len(images), progress)
    return features_from_images(images, extractor, batch_size=batch_size, progress=progress)
