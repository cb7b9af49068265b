"""CelebA's female faces (attribute ``Male`` == -1) as one domain, as in NOT and ENOT.

Spec: the CelebA folder holding ``img_align_celeba/`` and ``list_attr_celeba.txt`` (also found
under ``Anno/``; Kaggle's ``list_attr_celeba.csv`` is read too), or the two paths
``IMAGES_DIR,ATTR_FILE`` separated by a comma.

The official attribute file: line 1 the image count, line 2 the 40 attribute names, then one
row per image, ``000001.jpg  -1  1 ...`` (values -1/1, any run of spaces between). The column is
looked up by name, so a file with another column order still selects the right images.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Iterable, Sequence

import torch
from PIL import Image

from .downloads import where_to_get
from .errors import DatasetError
from .image_folder import IMAGE_EXTENSIONS, ImageFolder, walk_files
from .normalization import decode_image, random_flip, to_model

ATTRIBUTE = "Male"
FEMALE = -1
ATTR_NAMES = ("list_attr_celeba.txt", "Anno/list_attr_celeba.txt", "list_attr_celeba.csv")
IMAGES_DIR = "img_align_celeba"
# list_attr_celeba.txt's 40 columns in the official order ("Male" is the 21st).
OFFICIAL_ATTRIBUTES = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose "
    "Black_Hair Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee "
    "Gray_Hair Heavy_Makeup High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes "
    "No_Beard Oval_Face Pale_Skin Pointy_Nose Receding_Hairline Rosy_Cheeks Sideburns Smiling "
    "Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat Wearing_Lipstick Wearing_Necklace "
    "Wearing_Necktie Young"
).split()
IMAGE_SIZE = (178, 218)  # aligned CelebA images are 178 wide, 218 high


def read_attributes(path: str | os.PathLike) -> tuple[list[str], dict[str, list[int]]]:
    """(attribute names, {image file name: values}) from a CelebA attribute file.

    The .txt layout is the official one above; a .csv is Kaggle's (header ``image_id,...``,
    no count line). Malformed files raise DatasetError naming the file and the line.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(
            f"CelebA attribute file {path} does not exist.{where_to_get('celeba_female')}"
        )
    text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    if path.suffix.lower() == ".csv":
        rows = list(csv.reader(text))
        if not rows:
            raise DatasetError(f"CelebA attribute file {path} is empty")
        names, body, first_line = rows[0][1:], rows[1:], 2
    else:
        if len(text) < 2 or not text[0].strip().isdigit():
            raise DatasetError(
                f"{path} is not a CelebA attribute file: line 1 must be the image "
                f"count and line 2 the attribute names"
            )
        names, body, first_line = text[1].split(), [line.split() for line in text[2:]], 3
        if int(text[0]) != sum(1 for row in body if row):
            raise DatasetError(
                f"{path} says {int(text[0])} images on line 1 but lists "
                f"{sum(1 for row in body if row)}; the file is truncated or edited"
            )
    table: dict[str, list[int]] = {}
    for lineno, row in enumerate(body, start=first_line):
        if not row:
            continue
        if len(row) != len(names) + 1:
            raise DatasetError(
                f"{path} line {lineno}: {len(row) - 1} values for {len(names)} attribute names"
            )
        try:
            table[row[0]] = [int(v) for v in row[1:]]
        except ValueError:
            raise DatasetError(f"{path} line {lineno}: values must be -1 or 1") from None
    return names, table


def write_attributes(
    path: str | os.PathLike,
    rows: Iterable[tuple[str, Sequence[int]]],
    columns: Sequence[str] = tuple(OFFICIAL_ATTRIBUTES),
) -> Path:
    """Write ``rows`` of (image file name, -1/1 values) as a CelebA attribute file.

    The layout ``read_attributes`` reads: for a .txt path the official one (count line, the
    names with a trailing space, then ``name`` and right-aligned values); for a .csv path
    Kaggle's (header ``image_id,...``, no count line). For test and benchmark data.
    """
    path, rows = Path(path), list(rows)
    if path.suffix.lower() == ".csv":
        lines = ["image_id," + ",".join(columns)]
        lines += [name + "," + ",".join(str(v) for v in vals) for name, vals in rows]
    else:
        lines = [str(len(rows)), " ".join(columns) + " "]
        lines += [name + "".join(f" {v:2d}" for v in vals) for name, vals in rows]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def female_names(attr_file: str | os.PathLike) -> list[str]:
    """Sorted file names of the images whose ``Male`` attribute is -1."""
    names, table = read_attributes(attr_file)
    if ATTRIBUTE not in names:
        raise DatasetError(
            f"{attr_file} has no {ATTRIBUTE!r} column (its {len(names)} columns "
            f"are {', '.join(names[:8])}{' ...' if len(names) > 8 else ''}); "
            f"CelebA's female domain is {ATTRIBUTE} == {FEMALE}"
        )
    col = names.index(ATTRIBUTE)
    return sorted(name for name, values in table.items() if values[col] == FEMALE)


def resolve_spec(spec: str) -> tuple[Path, Path]:
    """(images folder, attribute file) from ``ROOT`` or ``IMAGES_DIR,ATTR_FILE``."""
    if "," in spec:
        images, attrs = (Path(part.strip()) for part in spec.split(",", 1))
        return images, attrs
    root = Path(spec)
    if not root.is_dir():
        raise DatasetError(f"CelebA folder {root} does not exist.{where_to_get('celeba_female')}")
    attrs = next((root / n for n in ATTR_NAMES if (root / n).is_file()), root / ATTR_NAMES[0])
    return root / IMAGES_DIR, attrs


class CelebAFemale(ImageFolder):
    """CelebA images with ``Male`` == -1, sorted by file name, as [3, S, S] in [-1, 1].

    Each 178x218 image is resized to a square without cropping, as the NOT/ENOT code does
    (torchvision ``Resize((S, S))``, bilinear); the split keeps the last 10% of the female
    images for test. Images listed in the attribute file but absent on disk are an
    error (a partly extracted zip), not silently dropped.
    """

    def __init__(self, spec: str, image_size: int, split: str, flip: bool = False):
        images, self.attr_file = resolve_spec(spec)
        if not images.is_dir():
            raise DatasetError(
                f"CelebA image folder {images} does not exist.{where_to_get('celeba_female')}"
            )
        super().__init__(images, image_size, split, flip=flip)

    def _find_images(self) -> list[Path]:
        wanted = female_names(self.attr_file)
        # Kaggle's zip nests img_align_celeba/img_align_celeba/, so look files up by name.
        on_disk = {p.name: p for p in walk_files(self.root) if p.suffix.lower() in IMAGE_EXTENSIONS}
        missing = [n for n in wanted if n not in on_disk]
        if missing:
            raise DatasetError(
                f"{len(missing)} of the {len(wanted)} female images listed in {self.attr_file} "
                f"are not under {self.root} (first: {missing[0]}); extract img_align_celeba.zip "
                f"completely"
            )
        if not wanted:
            raise DatasetError(f"{self.attr_file} lists no image with {ATTRIBUTE} == {FEMALE}")
        return [on_disk[n] for n in wanted]

    def __getitem__(self, index: int) -> torch.Tensor:
        size = self.image_size
        image = to_model(
            decode_image(self.paths[index]).resize((size, size), Image.Resampling.BILINEAR)
        )
        return random_flip(image, self.flip)
