"""Inception statistics of evaluation splits, computed once and cached on disk.

Stored under ``$ENOT_CACHE_DIR/fid_stats/`` (default ``~/.cache/enot/fid_stats/``) as .npz files
holding ``mu`` and ``sigma`` in float64 (clean-fid's stats layout, readable with
``enot.evaluation.metrics.load_stats``) plus the float32 ``features`` that KID needs. The file
name is a hash of what fixes the images: dataset kind, spec (resolved absolute path for
folders, plus each file's name, size and mtime), image size, split, number of images, the
background, and the colour seed for colored_mnist.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Subset

from data import from_model
from data.atomic import atomic_file
from data.downloads import cache_root
from enot.evaluation.held_out import EvalData
from enot.evaluation.metrics import (
    FeatureStats,
    features_from_images,
    features_from_tensors,
    load_stats,
    stats,
)

CACHE_FORMAT = 1  # bump when what goes into the cached features changes


def log_to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def stats_cache_dir() -> Path:
    return cache_root() / "fid_stats"


@dataclass(frozen=True)
class ReferenceStats(FeatureStats):
    """Inception statistics of one split (mean and covariance in float64, the raw features)
    and the cache file they came from or went to."""

    path: Path | None = None
    from_cache: bool = False


def _files_fingerprint(dataset: Dataset) -> str | None:
    """Hash of (relative path, size, mtime) of the images an ImageFolder subset reads."""
    base, indices = dataset, None
    if isinstance(dataset, Subset):
        base, indices = dataset.dataset, list(dataset.indices)
    paths = getattr(base, "paths", None)
    if paths is None:
        return None
    root = Path(getattr(base, "root", "/"))
    chosen = paths if indices is None else [paths[i] for i in indices]
    h = hashlib.sha256()
    for p in chosen:
        st = Path(p).stat()
        try:
            rel = Path(p).relative_to(root).as_posix()
        except ValueError:
            rel = str(p)
        h.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def stats_key(data: EvalData, role: str, split: str, dataset: Dataset) -> dict[str, Any]:
    """What fixes the images of one split, hence its Inception statistics."""
    spec = data.source if role == "source" else data.target
    key: dict[str, Any] = {
        "format": CACHE_FORMAT,
        "kind": data.kind,
        "spec": spec,
        "image_size": data.image_size,
        "split": split,
        "images": len(dataset),
    }
    if data.kind == "colored_mnist":
        key["seed"] = data.seed
        return key
    if data.kind in ("folder", "paired_folder"):
        key["spec"] = str(Path(spec).resolve())
    key["background"] = data.background  # what transparent pixels became
    # Changed data at the same path must not reuse old statistics: fingerprint what is read.
    key["files"] = _files_fingerprint(dataset)
    base = dataset.dataset if isinstance(dataset, Subset) else dataset
    singles = [Path(getattr(base, a)) for a in ("path", "attr_file") if getattr(base, a, None)]
    key["data_files"] = [
        (str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in singles if p.is_file()
    ]
    return key


def stats_cache_path(key: dict[str, Any], folder: Path | None = None) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    label = Path(str(key["spec"])).name or "root"
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in label)[:40]
    name = f"{key['kind']}-{safe}-{key['image_size']}px-{key['split']}-n{key['images']}-{digest}"
    return (folder or stats_cache_dir()) / f"{name}.npz"


def _read_cache(path: Path, n: int) -> ReferenceStats | None:
    try:
        mu, sigma = load_stats(path)
        with np.load(path) as f:
            features = f["features"].astype(np.float32)
    except (OSError, ValueError, KeyError):
        return None
    if features.ndim != 2 or features.shape[0] != n or mu.shape != (features.shape[1],):
        return None
    return ReferenceStats(features, mu, sigma, path, from_cache=True)


def _write_cache(path: Path, ref: ReferenceStats, key: dict[str, Any]) -> None:
    """Atomic write: a reader never sees half a file, concurrent writers agree anyway."""
    with atomic_file(path) as tmp:
        np.savez(
            tmp,
            mu=ref.mu.astype(np.float64),
            sigma=ref.sigma.astype(np.float64),
            features=ref.features.astype(np.float32),
            key=np.array(json.dumps(key, sort_keys=True)),
        )


class ImageBatches:
    """Sized iterable of uint8 HWC images from a dataset (``len`` drives the progress bar)."""

    def __init__(self, dataset: Dataset, batch_size: int):
        self.dataset, self.batch_size = dataset, batch_size

    def __len__(self) -> int:
        return len(self.dataset)

    def __iter__(self) -> Iterator[np.ndarray]:
        for start in range(0, len(self.dataset), self.batch_size):
            stop = min(start + self.batch_size, len(self.dataset))
            x = torch.stack([self.dataset[i] for i in range(start, stop)])
            for img in from_model(x):
                yield img.permute(1, 2, 0).numpy()


def float_batches(dataset: Dataset, batch_size: int) -> Iterator[torch.Tensor]:
    """The dataset's images as float batches [B, 3, S, S] in [-1, 1], for the paper protocol."""
    for start in range(0, len(dataset), batch_size):
        stop = min(start + batch_size, len(dataset))
        yield torch.stack([dataset[i] for i in range(start, stop)])


def reference_stats(
    dataset: Dataset,
    key: dict[str, Any],
    extractor: Callable,
    batch_size: int,
    label: str,
    progress: bool = True,
    log: Callable[[str], None] = log_to_stderr,
    cache: bool = True,
    protocol: str = "clean",
) -> ReferenceStats:
    """Cached Inception statistics of ``dataset`` (computed and stored on a miss), by the FID
    ``protocol``: "clean" (clean-fid) or "paper" (``metrics.paper_protocol``)."""
    if protocol != "clean":  # clean keys stay as they were, so existing caches still hit
        key = {**key, "protocol": protocol}
    path = stats_cache_path(key) if cache else None
    if path is not None and path.is_file():
        found = _read_cache(path, len(dataset))
        if found is not None:
            log(f"{label}: {len(dataset)} images, Inception statistics from cache {path}")
            return found
    log(f"{label}: computing Inception statistics of {len(dataset)} images")
    if protocol == "paper":
        features = features_from_tensors(
            float_batches(dataset, batch_size), extractor, total=len(dataset), progress=progress
        )
    else:
        features = features_from_images(
            ImageBatches(dataset, batch_size), extractor, batch_size=batch_size, progress=progress
        )
    mu, sigma = stats(features)
    ref = ReferenceStats(features, mu, sigma, path, from_cache=False)
    if path is not None:
        _write_cache(path, ref, key)
        log(f"{label}: cached at {path}")
    return ref
