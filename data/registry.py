"""Build one translation domain from a (kind, spec) pair, e.g. ("folder", "photos/cats")."""

from __future__ import annotations

from typing import Callable

from torch.utils.data import Dataset

from .colored_mnist import ColoredMNIST
from .errors import DatasetError
from .image_folder import ImageFolder


def _colored_mnist(spec: str, image_size: int, split: str, seed: int, flip: bool) -> Dataset:
    # flip is ignored: mirrored digits are not digits, so it would change the task.
    try:
        digit = int(spec)
    except (TypeError, ValueError):
        raise DatasetError(f"colored_mnist spec must be a digit 0..9, got {spec!r}") from None
    return ColoredMNIST(digit, split, image_size=image_size, seed=seed)


def _folder(spec: str, image_size: int, split: str, seed: int, flip: bool) -> Dataset:
    # seed is unused: the folder order is sorted and flips draw from torch's global RNG.
    return ImageFolder(spec, image_size, split, flip=flip)


_BUILDERS: dict[str, Callable[..., Dataset]] = {
    "colored_mnist": _colored_mnist,
    "folder": _folder,
}
DATASET_KINDS = tuple(_BUILDERS)


def build_domain(kind: str, spec: str, image_size: int, split: str, *,
                 seed: int = 0, flip: bool = False) -> Dataset:
    """Dataset of [3, image_size, image_size] tensors in [-1, 1] for one domain.

    kind "colored_mnist": spec is the digit ("2"); seed picks the colours; flip is ignored.
    kind "folder": spec is a directory of images; flip mirrors items at random.
    """
    builder = _BUILDERS.get(kind)
    if builder is None:
        raise DatasetError(f"unknown dataset kind {kind!r}; choose one of {', '.join(DATASET_KINDS)}")
    return builder(spec, image_size, split, seed, flip)
