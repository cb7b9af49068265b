"""Writers of small datasets in exactly the formats users download, for the format tests.

Each image is a constant colour that encodes its index, so a test can tell which file an item
came from after any resize: ``value(i)`` is the uint8 level of image i.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
from PIL import Image

from data.celeba import IMAGE_SIZE, OFFICIAL_ATTRIBUTES, write_attributes
from data.igan_hdf5 import write_igan_array

CELEBA_ATTRIBUTES = OFFICIAL_ATTRIBUTES
CELEBA_SIZE = IMAGE_SIZE


def value(i: int) -> int:
    return (20 + 9 * i) % 256


def level(x) -> float:
    """The uint8 level of a model-space image (mean of its pixels)."""
    return float((x.mean() + 1.0) * 127.5)


def save_image(path: Path, i: int, size=(20, 14)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG"}.get(path.suffix.lower())
    kwargs = {"quality": 98} if fmt == "JPEG" else {}
    Image.new("RGB", size, (value(i),) * 3).save(path, format=fmt, **kwargs)
    return path


def write_igan_hdf5(path: Path, n: int, side: int, key: str = "imgs") -> Path:
    """iGAN layout: one dataset of uint8 [N, side, side, 3], HWC."""
    imgs = np.stack([np.full((side, side, 3), value(i), np.uint8) for i in range(n)])
    return write_igan_array(path, imgs, key)


def write_celeba(
    root: Path,
    n: int,
    male: set[int],
    *,
    kaggle: bool = False,
    columns: tuple[str, ...] = tuple(CELEBA_ATTRIBUTES),
) -> Path:
    """CelebA: img_align_celeba/000001.jpg... and list_attr_celeba.txt (or Kaggle's .csv).

    Official .txt: count line, header line of names (trailing space), rows of ``name`` then
    right-aligned -1/1 values. Kaggle nests the images once more and ships a CSV instead.
    """
    images = root / "img_align_celeba"
    if kaggle:
        images = images / "img_align_celeba"
    rows = []
    for i in range(n):
        name = f"{i + 1:06d}.jpg"
        save_image(images / name, i, CELEBA_SIZE)
        vals = [
            (1 if i in male else -1) if c == "Male" else (1 if (i + k) % 3 == 0 else -1)
            for k, c in enumerate(columns)
        ]
        rows.append((name, vals))
    attr_file = "list_attr_celeba.csv" if kaggle else "list_attr_celeba.txt"
    write_attributes(root / attr_file, rows, columns)
    return root


def write_idx(path: Path, array: np.ndarray) -> Path:
    """IDX: 0, 0, type 0x08 (ubyte), ndim, big-endian uint32 sizes, then the bytes."""
    data = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    data += struct.pack(f">{array.ndim}I", *array.shape) + array.astype(np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def fashion_part(n: int, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """n images whose labels cycle 0..9 and whose level encodes (offset + index)."""
    labels = np.arange(n, dtype=np.uint8) % 10
    images = np.stack([np.full((28, 28), value(offset + i), np.uint8) for i in range(n)])
    return images, labels


def write_fashion(
    folder: Path, *, gz: bool = True, n_train: int = 60, n_test: int = 20
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The four Fashion-MNIST IDX files in ``folder`` (gzipped like Debian's, or raw)."""
    ext = ".gz" if gz else ""
    parts = {"train": fashion_part(n_train, 0), "t10k": fashion_part(n_test, n_train)}
    for part, (images, labels) in parts.items():
        write_idx(folder / f"{part}-images-idx3-ubyte{ext}", images)
        write_idx(folder / f"{part}-labels-idx1-ubyte{ext}", labels)
    return parts


def paper_task_flags(name: str, root: Path) -> list[str]:
    """Fixture data for a paper preset, in its real format, at its image size; returns the
    --source/--target flags."""
    size = 64 if name.endswith("_64") else 128
    if name.startswith("handbags"):
        src = write_igan_hdf5(root / f"handbag_{size}.hdf5", 10, size)
        tgt = write_igan_hdf5(root / f"shoes_{size}.hdf5", 10, size)
        return ["--source", str(src), "--target", str(tgt)]
    if name.startswith("ffhq"):
        for i in range(10):
            save_image(root / "ffhq" / f"{i // 5:05d}" / f"{i:05d}.png", i, (size * 2, size * 2))
            save_image(
                root / "kaggle" / "face2comics_v2.0.0_by_Sxela" / "comics" / f"{i}.jpg",
                i,
                (size * 4, size * 4),
            )
        return ["--source", str(root / "ffhq"), "--target", f"comics:{root / 'kaggle'}"]
    write_celeba(root / "celeba", 14, male={0, 5, 9, 13})
    for i in range(10):
        save_image(root / "anime" / f"{i}.png", i, (size, size))
    return ["--source", str(root / "celeba"), "--target", f"anime_faces:{root / 'anime'}"]
