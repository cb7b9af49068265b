"""A folder of images (searched recursively) as one domain of unpaired translation."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import Dataset
from tqdm import tqdm

from .errors import CorruptImageError, DatasetError
from .normalization import WHITE, Color, check_image_size, load_image, random_flip
from .split import split_by_name, split_range

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"})
_PROGRESS_ABOVE = 2000  # header checks of smaller folders finish before a bar is worth drawing
_SHOWN = 5  # how many names an error message lists


def walk_files(root: Path) -> list[Path]:
    """All non-hidden files under ``root``, sorted by relative POSIX path.

    Hidden names are skipped because macOS "._x.jpg" resource forks and ".ipynb_checkpoints"
    copies carry image extensions without being (distinct) images. Sorting the POSIX string
    rather than Path objects keeps the order, hence the split, identical on every OS.
    """
    found = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        found += [Path(dirpath, f) for f in filenames if not f.startswith(".")]
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def _header_problem(path: Path) -> str | None:
    """Why ``path`` has no readable image header, or None; reads the header only, not pixels."""
    try:
        with Image.open(path) as img:
            img.size
    except Exception as err:
        return f"{type(err).__name__}: {err}"
    return None


class ImageFolder(Dataset):
    """Images under ``root`` as float tensors [3, image_size, image_size] in [-1, 1].

    Files with extensions in IMAGE_EXTENSIONS (any case) are taken in sorted relative-path order
    and the split keeps the last 10% for test (``split_range``). With ``by_name`` the split is
    by a hash of each file's relative path without its extension (``split_by_name``) instead: two
    folders whose files correspond by name then share their test names, in the same order.
    Each item is centre-cropped and resized (``center_crop_resize``), transparency composited
    on ``background``; with ``flip`` it is mirrored with probability 1/2 using torch's global
    RNG, so seeding torch makes runs reproducible.

    Corrupt files stop the run: construction checks every header of the split and names the
    first bad file and the total count; a file whose pixels fail to decode (e.g. truncated)
    raises CorruptImageError naming it when the item is read.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        image_size: int,
        split: str,
        flip: bool = False,
        by_name: bool = False,
        background: Color = WHITE,
    ):
        check_image_size(image_size)
        self.root = Path(root)
        self.image_size = image_size
        self.split = split
        self.flip = flip
        self.background = background
        if not self.root.exists():
            raise DatasetError(f"image folder {self.root} does not exist")
        if not self.root.is_dir():
            raise DatasetError(f"image folder {self.root} is not a directory")

        images = self._find_images()
        self.names = [p.relative_to(self.root).with_suffix("").as_posix() for p in images]
        try:
            indices = (
                split_by_name(self.names, split) if by_name else split_range(len(images), split)
            )
        except DatasetError as err:
            raise DatasetError(f"image folder {self.root}: {err}") from err
        self.paths: list[Path] = [images[i] for i in indices]
        self.names = [self.names[i] for i in indices]
        self._check_headers()

    def _find_images(self) -> list[Path]:
        """The domain's image files in split order; subclasses choose a subset (e.g. CelebA)."""
        files = walk_files(self.root)
        images = [p for p in files if p.suffix.lower() in IMAGE_EXTENSIONS]
        if not images:
            raise DatasetError(self._no_images_message(files))
        return images

    def _no_images_message(self, files: list[Path]) -> str:
        message = f"no image files ({', '.join(sorted(IMAGE_EXTENSIONS))}) found under {self.root}"
        if not files:
            return message + "; the folder is empty"
        names = ", ".join(p.relative_to(self.root).as_posix() for p in files[:_SHOWN])
        more = f" and {len(files) - _SHOWN} more" if len(files) > _SHOWN else ""
        return message + f"; it holds {names}{more}"

    def _check_headers(self) -> None:
        bad = []
        bar = tqdm(
            self.paths,
            desc=f"checking {self.root}",
            unit="img",
            disable=len(self.paths) <= _PROGRESS_ABOVE,
        )
        for path in bar:
            problem = _header_problem(path)
            if problem is not None:
                bad.append((path, problem))
        if bad:
            first, reason = bad[0]
            others = ", ".join(str(p) for p, _ in bad[1:_SHOWN])
            listed = f" (also {others}{' ...' if len(bad) > _SHOWN else ''})" if others else ""
            raise CorruptImageError(
                f"{len(bad)} unreadable image file(s) in the {self.split} split of {self.root}; "
                f"first: {first}: {reason}{listed}. Fix or remove them all and rerun."
            )

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> torch.Tensor:
        image = load_image(self.paths[index], self.image_size, self.background)
        return random_flip(image, self.flip)
