"""The on-disk cache of evaluation splits' Inception statistics: .npz files under
``<cache>/fid_stats/`` in clean-fid's layout (``mu``, ``sigma``) plus the ``features`` KID needs,
named by a hash of what fixes the images."""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import Dataset, Subset

from data.atomic import atomic_file
from data.downloads import cache_root
from enot.evaluation.held_out import EvalData
from enot.evaluation.metrics.fid import FeatureStats, load_stats

CACHE_FORMAT = 1  # bump when what goes into the cached features changes


def log_to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


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


def stats_key(
    data: EvalData, role: str, split: str, dataset: Dataset, protocol: str
) -> dict[str, Any]:
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
    if protocol != "clean":  # clean keys stay as they were, so existing caches still hit
        key["protocol"] = protocol
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
    return (folder or cache_root() / "fid_stats") / f"{name}.npz"


def read_cache(path: Path, n: int) -> ReferenceStats | None:
    try:
        mu, sigma = load_stats(path)
        with np.load(path) as f:
            features = f["features"].astype(np.float32)
    except (OSError, ValueError, KeyError):
        return None
    if features.ndim != 2 or features.shape[0] != n or mu.shape != (features.shape[1],):
        return None
    return ReferenceStats(features, mu, sigma, path, from_cache=True)


def write_cache(path: Path, ref: ReferenceStats, key: dict[str, Any]) -> None:
    """Atomic write: a reader never sees half a file, concurrent writers agree anyway."""
    with atomic_file(path) as tmp:
        np.savez(
            tmp,
            mu=ref.mu.astype(np.float64),
            sigma=ref.sigma.astype(np.float64),
            features=ref.features.astype(np.float32),
            key=np.array(json.dumps(key, sort_keys=True)),
        )
