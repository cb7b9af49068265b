"""The comics side of Kaggle's "Comic faces (paired, synthetic) v2" as one domain.

The download unpacks to ``face2comics_v2.0.0_by_Sxela/face2comics_v2.0.0_by_Sxela/{comics,
faces}/``. The ENOT FFHQ -> comics task uses only ``comics/`` (unpaired), mirrored at random in
training; the test split is never flipped, so evaluation sees the files as they are.
"""

from __future__ import annotations

import os
from pathlib import Path

from .downloads import where_to_get
from .errors import DatasetError
from .image_folder import ImageFolder

COMICS_FOLDER = "comics"
_MAX_DEPTH = 3  # the Kaggle layout puts comics/ two levels down


def find_comics_folder(spec: str | os.PathLike) -> Path:
    """``spec`` itself if it is named comics/, else the one comics/ folder beneath it."""
    root = Path(spec)
    if not root.is_dir():
        raise DatasetError(f"comics folder {root} does not exist.{where_to_get('comics')}")
    if root.name == COMICS_FOLDER:
        return root
    found = []
    for dirpath, dirnames, _ in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        if len(Path(dirpath).relative_to(root).parts) >= _MAX_DEPTH:
            dirnames[:] = []
        found += [Path(dirpath, d) for d in dirnames if d == COMICS_FOLDER]
    if len(found) != 1:
        listed = ", ".join(str(p) for p in found)
        raise DatasetError(
            f"expected one {COMICS_FOLDER}/ folder under {root}, found {len(found)}"
            f"{': ' + listed if found else ''}; pass the {COMICS_FOLDER}/ folder itself."
            f"{'' if found else where_to_get('comics')}"
        )
    return found[0]


class ComicsFaces(ImageFolder):
    """Images of the comics side; ``split == "train"`` always flips at random (paper setting)."""

    def __init__(self, spec: str | os.PathLike, image_size: int, split: str, flip: bool = False):
        super().__init__(find_comics_folder(spec), image_size, split, flip=flip or split == "train")
