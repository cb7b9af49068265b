"""The image sets of a Train-tab run as scripts/train.py data flags, and their preview.

Two uploaded zips (unpacked into the run folder by ``app.zip_import``), two server folders under
the ``--data-dir`` roots, or the preset's own data. The preview reads the sets as the trainer
will (``data.build_domain``): counts, the train/test split, and the first images at the model's
size.
"""

from __future__ import annotations

import os
from pathlib import Path

from gradio import utils as gr_utils

from data import DatasetError, build_domain

from .pipeline import encode_png, to_pil
from .train_settings import check_flags
from .zip_import import DataRefused, allowed_folder, unpack_zip

THUMBS = 8
OWN_DATA, ZIPS, FOLDERS = "the preset's own data", "two zips", "two server folders"


def data_flags(
    kind: str, zips, folders, folder: Path, data_roots: list[Path], max_zip_bytes: int
) -> list[str]:
    """The --dataset/--source/--target flags of the chosen image sets, unpacking zips into
    ``folder``; DataRefused if a set is bad."""
    if kind == OWN_DATA:
        return []
    specs = []
    for side, zip_path, text in zip(("source", "target"), zips, folders):
        label = f"the {side} images"
        if kind == ZIPS:
            if not zip_path:
                raise DataRefused(f"{label}: no zip uploaded")
            if not gr_utils.is_in_or_equal(zip_path, gr_utils.get_upload_folder()):
                raise DataRefused(f"{label}: only zips uploaded to this demo can be used")
            specs.append(unpack_zip(zip_path, folder / "data" / side, label, max_zip_bytes))
        else:
            specs.append(allowed_folder(text, data_roots, label))
    return [
        "--dataset",
        "folder",
        "--source",
        str(specs[0].folder),
        "--target",
        str(specs[1].folder),
    ]


def preview(flags: list[str]) -> tuple[str, list, list]:
    """Counts, the split and the image size of the run's data, and model-size thumbnails."""
    cfg = check_flags(flags)
    d, lines, thumbs = cfg.data, [], []
    out = Path(gr_utils.get_upload_folder()) / f"enot-preview-{os.urandom(4).hex()}"
    out.mkdir(parents=True)
    for side, spec in (("source", d.source), ("target", d.target)):
        try:
            n = {
                split: build_domain(d.dataset, spec, d.image_size, split, background=d.background)
                for split in ("train", "test")
            }
        except DatasetError as err:
            raise DataRefused(f"the {side} images: {err}") from None
        pngs = []
        for i in range(min(THUMBS, len(n["train"]))):
            path = out / f"{side}_{i}.png"
            path.write_bytes(encode_png(to_pil(n["train"][i])))
            pngs.append(str(path))
        thumbs.append(pngs)
        lines.append(
            f"- **{side}** ({d.dataset} {Path(spec).name}): {len(n['train']) + len(n['test']):,} "
            f"images, {len(n['train']):,} train / {len(n['test']):,} test"
        )
    lines.append(
        f"- each image is centre-cropped and resized to **{d.image_size} × {d.image_size}**"
    )
    return "\n".join(lines), thumbs[0], thumbs[1]
