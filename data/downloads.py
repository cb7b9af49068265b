"""Where each paper dataset comes from, for error messages and ``scripts/prepare_data.py``.

Nothing here downloads anything: the training code never fetches data, it only says where to
get what is missing.
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "ENOT_CACHE_DIR"

DOWNLOADS: dict[str, str] = {
    "igan_hdf5": (
        "the iGAN HDF5 files handbag_64.hdf5 / handbag_128.hdf5 and shoes_64.hdf5 / "
        "shoes_128.hdf5 from github.com/junyanz/iGAN (train_dcgan/README.md; in a clone: "
        "`bash ./datasets/scripts/download_hdf5_dataset.sh handbag_128`)"
    ),
    "celeba_female": (
        "CelebA's aligned images img_align_celeba.zip and Anno/list_attr_celeba.txt from "
        "mmlab.ie.cuhk.edu.hk/projects/CelebA.html (unzip into one folder beside the .txt)"
    ),
    "anime_faces": "the Kaggle dataset reitanaka/alignedanimefaces (unzip to one folder)",
    "ffhq": (
        "FFHQ from github.com/NVlabs/ffhq-dataset (images1024x1024 or "
        "thumbnails128x128; any resolution is resized)"
    ),
    "comics": (
        "the Kaggle dataset defileroff/comic-faces-paired-synthetic-v2; only its "
        "comics/ side is used"
    ),
    "fashion_mnist": (
        "`apt-get install dataset-fashion-mnist` (Debian: /usr/share/datasets/fashion-mnist/), "
        "torchvision.datasets.FashionMNIST(download=True) (FashionMNIST/raw/), or the four "
        "*-ubyte.gz files from github.com/zalandoresearch/fashion-mnist"
    ),
    "packed": "scripts/prepare_data.py pack (it writes NAME.npy and NAME.json)",
    "paired_folder": (
        "`python scripts/prepare_data.py emoji` for the emoji folders "
        "(datasets/emoji/noto and datasets/emoji/twemoji; it needs npm)"
    ),
}


def where_to_get(kind: str) -> str:
    """A sentence naming where the data of dataset kind ``kind`` can be downloaded, or ''."""
    hint = DOWNLOADS.get(kind)
    return f" Get it from {hint}." if hint else ""


def cache_root() -> Path:
    """``$ENOT_CACHE_DIR``, else ``$XDG_CACHE_HOME/enot``, else ``~/.cache/enot``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "enot"
    return Path.home() / ".cache" / "enot"
