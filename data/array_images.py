"""A domain stored as one uint8 array [N, H, W, 3] on disk (HDF5 or a packed .npy memmap)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from .errors import DatasetError
from .normalization import check_image_size, random_flip, to_model
from .split import split_range


def check_image_array(shape: tuple[int, ...], dtype: Any, where: str) -> None:
    """Refuse anything but uint8 [N, H, W, 3] (the iGAN layout), naming ``where``."""
    if len(shape) != 4 or shape[-1] != 3 or np.dtype(dtype) != np.uint8:
        raise DatasetError(
            f"{where} holds {np.dtype(dtype)} {tuple(shape)}; expected uint8 "
            f"images [N, H, W, 3] (HWC, RGB)"
        )


def resize_chw(x: torch.Tensor, size: int) -> torch.Tensor:
    """[3, H, W] float -> [3, size, size], bilinear (antialiased when shrinking), clamped.

    The NOT/ENOT code resizes the iGAN arrays with F.interpolate(mode="bilinear"); the
    antialias flag only matters when shrinking, where it matches PIL's bilinear used for folders.
    """
    if x.shape[-2:] == (size, size):
        return x
    out = F.interpolate(
        x[None], size=(size, size), mode="bilinear", align_corners=False, antialias=True
    )[0]
    return out.clamp(-1.0, 1.0)


class ArrayImages(Dataset):
    """Items of a lazily opened uint8 [N, H, W, 3] array as [3, S, S] floats in [-1, 1].

    Subclasses say how to open the array (``_open``); it is opened once per process on first
    use, so DataLoader workers each get their own file handle. The split rule is applied to the
    array's own order (``split_range``); ``flip`` mirrors items with probability 1/2 using
    torch's global RNG.
    """

    def __init__(self, name: str, count: int, image_size: int, split: str, flip: bool = False):
        check_image_size(image_size)
        self.name, self.image_size, self.split, self.flip = name, image_size, split, flip
        try:
            self.indices = split_range(count, split)
        except DatasetError as err:
            raise DatasetError(f"{name}: {err}") from err
        self._array: Any = None

    def _open(self) -> Any:
        raise NotImplementedError

    def __getstate__(self) -> dict:
        # File handles do not survive pickling into worker processes; reopen there.
        return {**self.__dict__, "_array": None}

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> torch.Tensor:
        if self._array is None:
            self._array = self._open()
        pixels = np.asarray(self._array[self.indices[index]])
        image = resize_chw(to_model(pixels).permute(2, 0, 1), self.image_size)
        return random_flip(image, self.flip)
