"""Pack one domain into a file training reads faster than the source: raw uint8 pixels.

``scripts/prepare_data.py pack`` decodes and resizes a domain once, train split then test
split, and streams the images here. ``write_packed`` writes the packed format read back by
``data.packed.PackedImages``; ``write_hdf5`` writes the iGAN layout read back by
``data.igan_hdf5.HDF5Images``. Both write under a temporary name and rename at the end, so an
interrupted pack never looks complete.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable

import numpy as np
import torch

from data.atomic import atomic_file
from data.errors import DatasetError
from data.igan_hdf5 import KEY, import_h5py
from data.normalization import from_model
from data.packed import FORMAT, sidecar


def write_packed(
    path: str | os.PathLike, images: Iterable[torch.Tensor], count: int, image_size: int, meta: dict
) -> Path:
    """Write ``count`` [3, S, S] images in [-1, 1] to ``path`` (.npy) and its sidecar."""
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


def write_hdf5(path: str | os.PathLike, images, count: int, image_size: int) -> Path:
    """Write ``count`` [3, S, S] images in [-1, 1] as an iGAN-layout file (``imgs`` uint8 HWC).

    One chunk per image keeps random reads cheap.
    """
    path = Path(path)
    shape = (count, image_size, image_size, 3)
    n = 0
    with atomic_file(path) as partial:
        with import_h5py().File(partial, "w") as f:
            data = f.create_dataset(KEY, shape=shape, dtype="uint8", chunks=(1, *shape[1:]))
            for n, image in enumerate(images, start=1):
                data[n - 1] = from_model(image).permute(1, 2, 0).numpy()
        if n != count:
            raise DatasetError(f"packing {path}: got {n} images, expected {count}")
    return path
