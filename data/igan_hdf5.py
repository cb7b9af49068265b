"""The iGAN HDF5 files (handbag_64.hdf5, shoes_128.hdf5, ...) used by NOT and ENOT.

Layout (github.com/junyanz/iGAN, train_dcgan/create_hdf5.py): one dataset ``imgs`` of uint8
[N, H, W, 3], RGB, in the order the images were collected. Images are resized bilinearly to
the task size when the file's side differs (the ENOT paper uses the 64 and 128 px files as is).
"""

from __future__ import annotations

import os
from pathlib import Path

from .array_images import ArrayImages, check_image_array
from .downloads import where_to_get
from .errors import DatasetError

KEY = "imgs"


def import_h5py():
    """h5py, or a DatasetError saying how to install it (readers and writers of the layout)."""
    try:
        import h5py
    except ModuleNotFoundError as err:
        raise DatasetError("reading HDF5 files needs h5py (pip install h5py)") from err
    return h5py


def hdf5_shape(path: str | os.PathLike, key: str = KEY) -> tuple[int, ...]:
    """Shape of dataset ``key`` in ``path``, after checking it is uint8 [N, H, W, 3].

    Every problem (missing file, not HDF5, wrong key, wrong layout) is a DatasetError that
    names the file; a wrong key also lists the keys the file holds.
    """
    path = Path(path)
    if not path.is_file():
        what = "is a directory, not a file" if path.is_dir() else "does not exist"
        raise DatasetError(f"HDF5 file {path} {what}.{where_to_get('igan_hdf5')}")
    h5py = import_h5py()
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise DatasetError(f"{path} is not a readable HDF5 file: {err}") from err
    with f:
        if key not in f:
            present = ", ".join(repr(k) for k in f.keys()) or "none"
            raise DatasetError(
                f"{path} has no dataset {key!r}; the keys present are {present}. "
                f"iGAN files keep the images under {KEY!r}"
            )
        data = f[key]
        if not isinstance(data, h5py.Dataset):
            raise DatasetError(f"{path}: {key!r} is a group, not a dataset of images")
        check_image_array(data.shape, data.dtype, f"{path}[{key!r}]")
        return tuple(data.shape)


class HDF5Images(ArrayImages):
    """An iGAN-style HDF5 file as one domain: [3, image_size, image_size] in [-1, 1]."""

    def __init__(
        self,
        path: str | os.PathLike,
        image_size: int,
        split: str,
        flip: bool = False,
        key: str = KEY,
    ):
        self.path, self.key = Path(path), key
        shape = hdf5_shape(self.path, key)
        super().__init__(str(self.path), shape[0], image_size, split, flip)

    def _open(self):
        return import_h5py().File(self.path, "r")[self.key]


def write_igan_array(path: str | os.PathLike, images, key: str = KEY) -> Path:
    """Write uint8 [N, H, W, 3] ``images`` as iGAN's create_hdf5.py does: one contiguous
    dataset ``key`` (no chunks, no compression), as in the downloaded files. For test and
    benchmark data; ``dataset_tools.pack.write_hdf5`` is the packer's streaming writer."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with import_h5py().File(path, "w") as f:
        f.create_dataset(key, data=images)
    return path
