"""Images/s each dataset format feeds one domain of the training loop, at each worker count.

It writes photo-like images (smooth colour fields, detail and grain, so JPEG decoding costs
what it costs on photographs) in the real formats: JPEG folders (FFHQ-like 256 px, anime-like
128 px), CelebA (178x218 JPEGs and ``list_attr_celeba.txt``), iGAN HDF5 and the packed .npy.
It reads each through ``data.build_domain`` and the trainer's own DataLoaders, endlessly over
epochs as ``InfiniteStream`` does, and times the steady state after the workers have started.
Whether a rate keeps a GPU step fed is ``benchmarks.predict_hours``'s question.

    python -m benchmarks.data_feed            # every format at 64 and 128 px, 0-2 workers
    python -m benchmarks.data_feed --quick    # a smoke run: 200 images, 64 px
"""

from __future__ import annotations

import argparse
import gc
import os
import time
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image

from benchmarks.common import machine, write_json
from data import build_domain, to_model
from data.atomic import atomic_folder
from data.celeba import IMAGE_SIZE as CELEBA_SIZE
from data.celeba import IMAGES_DIR, OFFICIAL_ATTRIBUTES, write_attributes
from data.igan_hdf5 import write_igan_array
from dataset_tools.pack import write_packed
from enot.training.streams import shuffled_loaders

BATCH = 64  # the paper's batch per domain
# format: (data.build_domain kind, its folder under --root, the file in it); a folder is
# written whole or not at all, and a rerun with the same --images reuses it.
FORMATS = {
    "ffhq_folder": ("folder", "ffhq_256px_{n}", ""),
    "anime_folder": ("folder", "anime_128px_{n}", ""),
    "celeba": ("celeba_female", "celeba_{n}", ""),
    "igan_hdf5": ("igan_hdf5", "igan_{px}px_{n}", "handbag_{px}.hdf5"),
    "packed": ("packed", "packed_{px}px_{n}", "ffhq_{px}.npy"),
}
FORMAT_NAMES = tuple(FORMATS)


def photo_like(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """uint8 [height, width, 3]: a smooth random colour field, mid-frequency detail and grain."""

    def field(cells_y: int, cells_x: int, resample) -> np.ndarray:
        grid = rng.integers(0, 256, (cells_y, cells_x, 3), dtype=np.uint8)
        return np.asarray(Image.fromarray(grid).resize((width, height), resample), np.float32)

    img = 0.8 * field(5, 5, Image.Resampling.BICUBIC)
    img += 0.2 * field(height // 8 + 1, width // 8 + 1, Image.Resampling.BILINEAR)
    img += rng.normal(0.0, 6.0, (height, width, 1)).astype(np.float32)
    return img.clip(0, 255).astype(np.uint8)


def write_jpeg_folder(folder: Path, n: int, side: int, seed: int) -> Path:
    """n photo-like side x side JPEGs, 00000.jpg ..., in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        image = Image.fromarray(photo_like(np.random.default_rng([seed, i]), side, side))
        image.save(folder / f"{i:05d}.jpg", quality=90)
    return folder


def write_format(fmt: str, folder: Path, n: int, px: int) -> None:
    """``n`` images of format ``fmt`` in ``folder``, at ``px`` where the format stores a size."""
    if fmt in ("ffhq_folder", "anime_folder"):
        write_jpeg_folder(folder, n, *((256, 1) if fmt == "ffhq_folder" else (128, 2)))
    elif fmt == "celeba":  # CelebA's layout; the 40 attributes (Male among them) at random
        (folder / IMAGES_DIR).mkdir(parents=True)
        rows = []
        for i in range(n):
            rng, name = np.random.default_rng([3, i]), f"{i + 1:06d}.jpg"
            jpeg = Image.fromarray(photo_like(rng, *CELEBA_SIZE))
            jpeg.save(folder / IMAGES_DIR / name, quality=90)
            rows.append((name, [int(v) for v in rng.choice((-1, 1), len(OFFICIAL_ATTRIBUTES))]))
        write_attributes(folder / "list_attr_celeba.txt", rows)
    else:
        pixels = np.stack([photo_like(np.random.default_rng([4, i]), px, px) for i in range(n)])
        file = folder / FORMATS[fmt][2].format(px=px)
        if fmt == "igan_hdf5":  # one contiguous uint8 dataset, as iGAN's create_hdf5.py writes
            write_igan_array(file, pixels)
        else:
            images = (to_model(a).permute(2, 0, 1) for a in pixels)
            write_packed(file, images, n, px, {"kind": "folder", "spec": "photo-like images"})


def prepare(root: Path, fmt: str, n: int, px: int) -> tuple[str, str]:
    """(kind, spec) of format ``fmt`` at ``px`` under ``root``, written unless already there."""
    kind, name, file = FORMATS[fmt]
    folder = root / name.format(n=n, px=px)
    if not folder.is_dir():
        with atomic_folder(folder) as tmp:
            write_format(fmt, tmp, n, px)
    return kind, str(folder / file.format(px=px))


def _endless(loader) -> Iterator:
    while True:  # epochs follow each other as in InfiniteStream (persistent workers stay)
        yield from loader


def measure(
    kind: str, spec: str, px: int, workers: int, min_batches: int, min_seconds: float
) -> dict:
    """Images/s of one domain's training loader, built as the trainer builds it.

    After the first batch, ``2 * workers + 1`` more are drawn untimed, so the prefetched
    batches are used up; then at least ``min_batches`` batches and ``min_seconds`` are timed.
    The loop does nothing with the batches: this is the rate the loader can supply.
    """
    t0 = time.perf_counter()
    dataset = build_domain(kind, spec, px, "train", seed=0, flip=False)
    build_s = time.perf_counter() - t0
    (loader,) = shuffled_loaders([dataset], BATCH, workers)
    t0 = time.perf_counter()
    batches = _endless(loader)
    next(batches)
    first_batch_s = time.perf_counter() - t0
    for _ in range(2 * workers + 1):
        next(batches)
    n, t0 = 0, time.perf_counter()
    while n < min_batches or time.perf_counter() - t0 < min_seconds:
        next(batches)
        n += 1
    rate = n * BATCH / (time.perf_counter() - t0)
    batches.close()
    del loader, batches  # ends the persistent workers before the next measurement
    gc.collect()
    return {"build_s": build_s, "first_batch_s": first_batch_s, "images_per_s": rate}


def main(argv: list[str] | None = None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", default="runs/datafeed_data", help="generated datasets, reused")
    p.add_argument("--images", type=int, default=0, help="per format (4000; 200 with --quick)")
    p.add_argument("--sizes", type=int, nargs="+", choices=(64, 128), default=[64, 128])
    p.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2], help="per domain")
    p.add_argument("--formats", nargs="+", choices=FORMAT_NAMES, default=list(FORMAT_NAMES))
    p.add_argument("--min-batches", type=int, default=30, help="timed batches at least")
    p.add_argument("--min-seconds", type=float, default=10.0, help="timed seconds at least")
    p.add_argument("--quick", action="store_true", help="200 images, 64 px, 3 timed batches")
    p.add_argument("--json", help="write the machine and the rows here")
    args = p.parse_args(argv)
    if args.quick:
        args.images = args.images or 200
        args.sizes, args.min_batches, args.min_seconds = [64], 3, 0.0
    print(f"{machine()}; {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}", flush=True)
    print(
        f"One domain's loader (batch {BATCH}, shuffle, drop_last, persistent workers), timed "
        f">= {args.min_batches} batches and >= {args.min_seconds:g} s after start-up:"
    )
    header = (
        f"{'format':<13} {'px':>4} {'workers':>7} {'build s':>7} {'1st batch s':>11} "
        f"{'images/s':>9}"
    )
    print(header + "\n" + "-" * len(header), flush=True)
    rows = []
    for fmt in args.formats:
        for px in args.sizes:
            kind, spec = prepare(Path(args.root), fmt, args.images or 4000, px)
            for workers in args.workers:
                r = measure(kind, spec, px, workers, args.min_batches, args.min_seconds)
                rows.append({"format": fmt, "px": px, "workers": workers, **r})
                print(
                    f"{fmt:<13} {px:>4} {workers:>7} {r['build_s']:>7.2f} "
                    f"{r['first_batch_s']:>11.2f} {r['images_per_s']:>9,.0f}",
                    flush=True,
                )
    write_json(args.json, {"machine": machine(), "rows": rows})
    return rows


if __name__ == "__main__":
    main()
