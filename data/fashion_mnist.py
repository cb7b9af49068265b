"""Fashion-MNIST classes as colour images: the CPU-scale analogue of handbags -> shoes.

Read from the standard IDX files (github.com/zalandoresearch/fashion-mnist), gzipped or not:
``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
``t10k-labels-idx1-ubyte``. They are found in the given folder, in its ``FashionMNIST/raw/`` or
``raw/`` (torchvision's layout), so the Debian package ``dataset-fashion-mnist``
(/usr/share/datasets/fashion-mnist/) and a torchvision download both work.

Spec: ``CLASSES`` or ``CLASSES@FOLDER``. CLASSES is ``bag``, ``shoes`` (sneaker + ankle boot +
sandal), a class name, or names / indices joined by ``+`` (``7+9+5``). Without a folder the
default locations are searched in order.
"""

from __future__ import annotations

import functools
import gzip
import os
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from .downloads import where_to_get
from .errors import DatasetError
from .normalization import check_image_size, pad_mnist, random_flip, to_model
from .split import split_range

CLASSES = (
    "t-shirt",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle_boot",
)
GROUPS = {"bag": (8,), "shoes": (7, 9, 5)}  # shoes: sneaker, boot, sandal, in this order
DEFAULT_FOLDERS = ("/usr/share/datasets/fashion-mnist", "datasets/fashion-mnist")
PARTS = ("train", "t10k")  # the domain is train then t10k, each in file order
_IDX_DTYPES = {0x08: np.uint8}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """An IDX file (gzip or raw) as a read-only numpy array of unsigned bytes (type 0x08).

    Format: 2 zero bytes, a type byte, a dimension count d, d big-endian uint32 sizes, data.
    Cached by (path, size, mtime): a run builds each domain's splits several times and
    un-gzipping the 26 MB training images takes about a second each time.
    """
    path = Path(path)
    try:
        st = path.stat()
    except OSError as err:
        raise DatasetError(f"cannot read IDX file {path}: {err}") from err
    return _read_idx(str(path.resolve()), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _read_idx(name: str, size: int, mtime_ns: int) -> np.ndarray:
    path = Path(name)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as err:
        raise DatasetError(f"cannot read IDX file {path}: {err}") from err
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in _IDX_DTYPES:
        raise DatasetError(f"{path} is not an unsigned-byte IDX file (magic {raw[:4].hex()})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int(s) for s in np.frombuffer(raw[4:header], dtype=">u4"))
    if len(raw) - header != int(np.prod(shape)):
        raise DatasetError(
            f"{path}: header says {shape} = {int(np.prod(shape))} bytes, the "
            f"file holds {len(raw) - header}; it is truncated"
        )
    return np.frombuffer(raw, dtype=_IDX_DTYPES[raw[2]], offset=header).reshape(shape)


def _idx_file(folder: Path, part: str, what: str) -> Path | None:
    stem = f"{part}-{what}-ubyte"
    for base in (folder, folder / "FashionMNIST" / "raw", folder / "raw"):
        for name in (stem + ".gz", stem):
            if (base / name).is_file():
                return base / name
    return None


def find_idx_files(folder: str | os.PathLike | None) -> dict[str, tuple[Path, Path]]:
    """{part: (images, labels)} of the first folder (given, else defaults) holding any part."""
    folders = [Path(folder)] if folder else [Path(f) for f in DEFAULT_FOLDERS]
    for base in folders:
        found = {}
        for part in PARTS:
            images, labels = (
                _idx_file(base, part, "images-idx3"),
                _idx_file(base, part, "labels-idx1"),
            )
            if images and labels:
                found[part] = (images, labels)
        if found:
            return found
    looked = ", ".join(str(f) for f in folders)
    raise DatasetError(
        f"no Fashion-MNIST IDX files (train-images-idx3-ubyte[.gz] and "
        f"train-labels-idx1-ubyte[.gz], or the t10k pair) in {looked}."
        f"{where_to_get('fashion_mnist')}"
    )


def parse_classes(text: str) -> tuple[int, ...]:
    """``bag`` / ``shoes`` / names or indices joined by ``+`` -> class indices."""
    if text in GROUPS:
        return GROUPS[text]
    out = []
    for item in text.split("+"):
        item = item.strip().lower().replace(" ", "_")
        if item.isdigit() and int(item) < len(CLASSES):
            out.append(int(item))
        elif item in CLASSES:
            out.append(CLASSES.index(item))
        else:
            raise DatasetError(
                f"unknown Fashion-MNIST class {item!r} in {text!r}; use "
                f"{', '.join(GROUPS)}, 0..9 or {', '.join(CLASSES)}"
            )
    return tuple(out)


def load_classes(classes: tuple[int, ...], folder: str | os.PathLike | None) -> np.ndarray:
    """uint8 [N, 28, 28] of the given classes: train part then t10k part, in file order."""
    chosen = []
    for part, (images_path, labels_path) in find_idx_files(folder).items():
        images, labels = read_idx(images_path), read_idx(labels_path)
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DatasetError(
                f"{images_path} {images.shape} and {labels_path} {labels.shape} "
                f"are not matching image and label files"
            )
        chosen.append(images[np.isin(labels, classes)])
    return np.concatenate(chosen)


class FashionMNIST(Dataset):
    """Fashion-MNIST classes as [3, S, S] in [-1, 1]: gray repeated over RGB.

    Each 28x28 image is padded with black to 32x32 (like colored_mnist) and resized bilinearly
    if ``image_size`` != 32. RGB lets the image networks and FID's Inception run unchanged.
    """

    def __init__(self, spec: str, image_size: int, split: str, flip: bool = False):
        check_image_size(image_size)
        text, _, folder = spec.partition("@")
        self.classes = parse_classes(text)
        self.spec, self.image_size, self.split, self.flip = spec, image_size, split, flip
        gray = load_classes(self.classes, folder or None)
        try:
            keep = split_range(len(gray), split)
        except DatasetError as err:
            raise DatasetError(f"fashion_mnist {spec!r}: {err}") from err
        self.pixels = _pixels(gray[keep.start : keep.stop], image_size)

    def __len__(self) -> int:
        return len(self.pixels)

    def __getitem__(self, index: int) -> torch.Tensor:
        image = to_model(self.pixels[index]).expand(3, -1, -1).contiguous()
        return random_flip(image, self.flip)


def _pixels(gray: np.ndarray, image_size: int) -> torch.Tensor:
    """uint8 [N, 28, 28] -> uint8 [N, 1, S, S], padded with black to 32 and resized."""
    x = pad_mnist(torch.from_numpy(gray.copy()).unsqueeze(1).float(), image_size)
    return x.round().clamp(0, 255).to(torch.uint8)  # uint8 keeps 21k shoes in 22 MB


def labelled_train_file(
    folder: str | os.PathLike | None, image_size: int = 32
) -> tuple[torch.Tensor, torch.Tensor]:
    """The train file's images and labels: (gray float [N, 1, S, S] in [0, 1], labels int64).

    Only the train file: every domain's test split (the last 10% of train + t10k) lies in t10k
    for classes of 7,000 images, so a classifier fitted on this never sees a test image.
    """
    check_image_size(image_size)
    parts = find_idx_files(folder)
    if "train" not in parts:
        raise DatasetError(
            f"the Fashion-MNIST classifier is fitted on the train file, but only "
            f"{', '.join(str(p) for p in parts['t10k'])} was found"
            f"{where_to_get('fashion_mnist')}"
        )
    images_path, labels_path = parts["train"]
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DatasetError(
            f"{images_path} {images.shape} and {labels_path} {labels.shape} "
            f"are not matching image and label files"
        )
    return (_pixels(images, image_size).float() / 255.0, torch.from_numpy(labels.astype(np.int64)))
