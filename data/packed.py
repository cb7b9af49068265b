"""The packed format: one domain as a uint8 .npy memmap [N, S, S, 3] plus a JSON sidecar.

``scripts/prepare_data.py pack`` writes it so training reads raw pixels instead of decoding
JPEGs. The array holds the whole domain in its split order (train then test), so the split
rule applied on reading gives back exactly the source's splits. The sidecar ``NAME.json``
records where the pixels came from and whether the source flips its training images (comics).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable

import numpy as np
import torch

from .array_images import ArrayImages, check_image_array
from .atomic import atomic_file
from .downloads import where_to_get
from .errors import DatasetError
from .normalization import from_model

FORMAT = "enot-packed/1"


def sidecar(path: str | os.PathLike) -> Path:
    return Path(path).with_suffix(".json")


def write_packed(
    path: str | os.PathLike, images: Iterable[torch.Tensor], count: int, image_size: int, meta: dict
) -> Path:
    """Write ``count`` [3, S, S] images in [-1, 1] to ``path`` (.npy) and its sidecar.

    Written under a temporary name and renamed at the end, so an interrupted pack never looks
    complete.
    """
    path = Path(path).with_suffix(".npy")
    n = 0
    with atomic_file(path) as partial:
        array = np.lib.format.open_memmap(
            partial, mode="w+", dtype=np.uint8, shape=(count, image_size, image_size, 3)
        )
        for n, image in enumerate(images, start=1):
            array[n - 1] = from_model(image).permute(1, 2, 0).numpy()
        array.flush()
        del array
        if n != count:
            raise DatasetError(f"packing {path}: got {n} images, expected {count}")
        sidecar(path).write_text(
            json.dumps(
                {"format": FORMAT, "count": count, "image_size": image_size, **meta}, indent=2
            )
            + "\n"
        )
    return path


class PackedImages(ArrayImages):
    """A packed .npy domain; resized bilinearly if packed at another size than asked."""

    def __init__(self, path: str | os.PathLike, image_size: int, split: str, flip: bool = False):
        self.path = Path(path)
        if self.path.suffix != ".npy":
            self.path = self.path.with_suffix(".npy")
        if not self.path.is_file():
            raise DatasetError(f"packed file {self.path} does not exist.{where_to_get('packed')}")
        try:
            array = np.load(self.path, mmap_mode="r")
        except (ValueError, OSError) as err:
            raise DatasetError(f"{self.path} is not a .npy array: {err}") from err
        check_image_array(array.shape, array.dtype, str(self.path))
        self.meta = self._read_meta()
        flip = flip or (split == "train" and bool(self.meta.get("flip_train", False)))
        super().__init__(str(self.path), array.shape[0], image_size, split, flip)

    def _read_meta(self) -> dict:
        side = sidecar(self.path)
        if not side.is_file():
            return {}
        try:
            meta = json.loads(side.read_text())
        except json.JSONDecodeError as err:
            raise DatasetError(f"{side} is not valid JSON: {err}") from err
        if meta.get("format") != FORMAT:
            raise DatasetError(f"{side} is not a {FORMAT} sidecar (format {meta.get('format')!r})")
        return meta

    def _open(self) -> np.ndarray:
        return np.load(self.path, mmap_mode="r")
