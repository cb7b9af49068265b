"""Build one translation domain from a (kind, spec) pair, e.g. ("folder", "photos/cats").

A spec may start with ``KIND:`` to use another kind than ``--dataset`` for that domain, so a
task can mix formats: ``--dataset celeba_female --source datasets/celeba --target
anime_faces:datasets/anime``. Only registered kind names count as prefixes, so a Windows path
such as ``C:\\data`` stays a path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from torch.utils.data import Dataset

from .celeba import CelebAFemale
from .colored_mnist import ColoredMNIST
from .comics import ComicsFaces
from .downloads import where_to_get
from .errors import DatasetError
from .fashion_mnist import FashionMNIST
from .igan_hdf5 import HDF5Images
from .image_folder import ImageFolder
from .normalization import Color, parse_background
from .packed import PackedImages


def _colored_mnist(
    spec: str, image_size: int, split: str, seed: int, flip: bool, background: Color, tints: int
) -> Dataset:
    # flip and background are ignored: mirrored digits are not digits, so it would change the task.
    try:
        digit = int(spec)
    except (TypeError, ValueError):
        raise DatasetError(f"colored_mnist spec must be a digit 0..9, got {spec!r}") from None
    return ColoredMNIST(digit, split, image_size=image_size, seed=seed, tints=tints)


def _folder(
    spec: str, image_size: int, split: str, seed: int, flip: bool, background: Color, tints: int
) -> Dataset:
    # seed is unused: the folder order is sorted and flips draw from torch's global RNG.
    return ImageFolder(spec, image_size, split, flip=flip, background=background)


def _paired_folder(
    spec: str, image_size: int, split: str, seed: int, flip: bool, background: Color, tints: int
) -> Dataset:
    # Files correspond by name across the two domains: the split is by name, the same in both.
    if not Path(spec).is_dir():
        raise DatasetError(f"paired_folder {spec} does not exist.{where_to_get('paired_folder')}")
    return ImageFolder(spec, image_size, split, flip=flip, by_name=True, background=background)


def _named_folder(kind: str) -> Callable[..., Dataset]:
    """An image folder of a known download, whose absence is reported with where to get it."""

    def build(
        spec: str, image_size: int, split: str, seed: int, flip: bool, background: Color, tints: int
    ) -> Dataset:
        if not Path(spec).is_dir():
            raise DatasetError(f"{kind} folder {spec} does not exist.{where_to_get(kind)}")
        return ImageFolder(spec, image_size, split, flip=flip, background=background)

    return build


def _plain(cls: type) -> Callable[..., Dataset]:
    # Array formats (HDF5, packed, IDX) hold opaque RGB or gray; photo kinds (CelebA, comics)
    # are JPEG folders without transparency.
    def build(
        spec: str, image_size: int, split: str, seed: int, flip: bool, background: Color, tints: int
    ) -> Dataset:
        return cls(spec, image_size, split, flip=flip)

    return build


_BUILDERS: dict[str, Callable[..., Dataset]] = {
    "colored_mnist": _colored_mnist,
    "folder": _folder,
    "paired_folder": _paired_folder,
    "igan_hdf5": _plain(HDF5Images),
    "celeba_female": _plain(CelebAFemale),
    "anime_faces": _named_folder("anime_faces"),
    "ffhq": _named_folder("ffhq"),
    "comics": _plain(ComicsFaces),
    "fashion_mnist": _plain(FashionMNIST),
    "packed": _plain(PackedImages),
}
DATASET_KINDS = tuple(_BUILDERS)

SPEC_HELP = (
    "colored_mnist: a digit; folder, anime_faces, ffhq: a folder of images (searched "
    "recursively); paired_folder: a folder of images whose names match the other domain's "
    "(the test split is one name in ten by hash, the same in both; e.g. datasets/emoji/noto "
    "from scripts/prepare_data.py emoji); igan_hdf5: an iGAN .hdf5 file (key 'imgs'); "
    "celeba_female: the CelebA folder (img_align_celeba/ + list_attr_celeba.txt) or "
    "IMAGES_DIR,ATTR_FILE; comics: the Kaggle "
    "comic-faces-v2 folder or its comics/ side; fashion_mnist: bag, shoes or classes a+b, "
    "optionally @FOLDER of the IDX files; packed: a .npy from scripts/prepare_data.py. Prefix "
    "KIND: to use another kind than --dataset for this domain"
)


def resolve_kind(kind: str, spec: str) -> tuple[str, str]:
    """(kind, spec) after a ``KIND:`` prefix of ``spec``, if it names a registered kind."""
    head, sep, rest = spec.partition(":")
    if sep and head in _BUILDERS:
        return head, rest
    return kind, spec


def paired_by_name(kind: str, source: str, target: str) -> bool:
    """Whether both domains are ``paired_folder`` (after any ``KIND:`` prefix): folders whose
    files correspond by name, so every image has a true counterpart."""
    return all(resolve_kind(kind, spec)[0] == "paired_folder" for spec in (source, target))


def build_domain(
    kind: str,
    spec: str,
    image_size: int,
    split: str,
    *,
    seed: int = 0,
    flip: bool = False,
    background: str = "white",
    tints: int = 1,
) -> Dataset:
    """Dataset of [3, image_size, image_size] tensors in [-1, 1] for one domain.

    ``kind`` is one of DATASET_KINDS (see SPEC_HELP for each spec); a ``KIND:`` prefix on
    ``spec`` overrides it. seed picks colored_mnist's colours; flip mirrors training items at
    random (comics and packed comics flip their training split whatever it says). background
    (``white``, ``black`` or ``#rrggbb``) is what transparent pixels of image files show.
    tints is how many colours each colored_mnist train digit is drawn in (``ColoredMNIST``).
    """
    kind, spec = resolve_kind(kind, spec)
    builder = _BUILDERS.get(kind)
    if builder is None:
        raise DatasetError(
            f"unknown dataset kind {kind!r}; choose one of {', '.join(DATASET_KINDS)}"
        )
    try:
        color = parse_background(background)
    except ValueError as err:
        raise DatasetError(str(err)) from None
    return builder(spec, image_size, split, seed, flip, color, tints)
