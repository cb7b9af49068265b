"""Image data for unpaired translation: datasets, the shared normalisation, and the split rule.

Knows nothing about optimal transport or training; every dataset yields float tensors
[3, S, S] in [-1, 1].
"""

from .colored_mnist import ColoredMNIST
from .errors import CorruptImageError, DatasetError, UserError
from .image_folder import ImageFolder
from .normalization import center_crop_resize, from_model, load_image, to_model, to_unit
from .registry import DATASET_KINDS, SPEC_HELP, build_domain, paired_by_name, resolve_kind
from .split import split_range, spread_indices

__all__ = [
    "DATASET_KINDS",
    "SPEC_HELP",
    "UserError",
    "ColoredMNIST",
    "CorruptImageError",
    "DatasetError",
    "ImageFolder",
    "build_domain",
    "center_crop_resize",
    "from_model",
    "load_image",
    "paired_by_name",
    "resolve_kind",
    "split_range",
    "spread_indices",
    "to_model",
    "to_unit",
]
