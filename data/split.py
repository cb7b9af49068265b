"""Deterministic train/test split shared by every dataset kind."""

from __future__ import annotations

import hashlib

import numpy as np

from .errors import DatasetError

TRAIN_FRACTION = 0.9
SPLITS = ("train", "test")


def split_range(n: int, split: str) -> range:
    """Indices of ``split`` among ``n`` items kept in their sorted (or file) order.

    The test split is the last 10% of each domain, without shuffling, as in the ENOT paper's
    code: ``n_train = int(n * 0.9)``; train is ``range(0, n_train)``, test is ``range(n_train, n)``.
    Raises DatasetError for an unknown split name or when the requested split is empty.
    """
    if split not in SPLITS:
        raise DatasetError(f"split must be one of {SPLITS}, got {split!r}")
    if n < 0:
        raise DatasetError(f"number of items must be >= 0, got {n}")
    n_train = int(n * TRAIN_FRACTION)
    indices = range(0, n_train) if split == "train" else range(n_train, n)
    if len(indices) == 0:
        raise DatasetError(
            f"split {split!r} is empty for {n} items (train takes int({n} * {TRAIN_FRACTION}) = "
            f"{n_train}, test takes the rest); add more images"
        )
    return indices


TEST_BUCKETS = 10  # one name in ten, by hash, goes to the test split of a by-name split


def in_test_by_name(name: str) -> bool:
    """Whether the item called ``name`` (a file stem such as ``1f981``) is in the test split.

    For domains whose files correspond by name (the same emoji in two styles), the split must
    put each name on the same side in both domains, and must not follow the sorted order, where
    the newest items and runs of variants sit together. A hash of the name does both: about one
    name in ten is test, the same one on every machine, and adding names moves no other.
    """
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()
    return int(digest[:8], 16) % TEST_BUCKETS == 0


def split_by_name(names: list[str], split: str) -> list[int]:
    """Indices of ``split`` among ``names`` under ``in_test_by_name``, in their given order."""
    if split not in SPLITS:
        raise DatasetError(f"split must be one of {SPLITS}, got {split!r}")
    want_test = split == "test"
    indices = [i for i, n in enumerate(names) if in_test_by_name(n) == want_test]
    if not indices:
        raise DatasetError(
            f"split {split!r} is empty for {len(names)} names under the by-name "
            f"rule (one name in {TEST_BUCKETS} is test, by hash); add more images"
        )
    return indices


def spread_indices(n: int, k: int) -> list[int]:
    """At most ``k`` distinct indices spread evenly over ``range(n)``, first and last included;
    all of ``range(n)`` when ``n <= k``. Deterministic, so a sample grid or a reference drawn
    from a split names the same items every time, and not a run of similar names from its start.
    """
    if n <= 0:
        return []
    if k >= n:
        return list(range(n))
    return sorted({int(i) for i in np.linspace(0, n - 1, k).round()})
