"""The packed format: one domain as a uint8 .npy memmap [N, S, S, 3] plus a JSON sidecar.

``scripts/prepare_data.py pack`` (``dataset_tools.pack.write_packed``) writes it so training
reads raw pixels instead of decoding JPEGs. The array holds the whole domain in its split order
(train then test), so the split rule applied on reading gives back exactly the source's splits.
The sidecar ``NAME.json`` records where the pixels came from and whether the source flips its
training images (comics).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .array_images import ArrayImages, check_image_array
from .downloads import where_to_get
from .errors import DatasetError

FORMAT = "enot-packed/1"


def sidecar(path: str | os.PathLike) -> Path:
    return Path(path).with_suffix(".json")


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
