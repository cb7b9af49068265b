"""Deterministic train/test split shared by every dataset kind."""

from __future__ import annotations

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
