"""The data feed: how many images/s each dataset format delivers to the training loop, and how
many a GPU step needs.

Files are written in the real formats at realistic sizes (``prepare``): JPEG folders (FFHQ-like
256 px, anime-like 128 px), CelebA (178x218 JPEGs and ``list_attr_celeba.txt``), iGAN HDF5
(uint8 [N, S, S, 3] under ``imgs``, contiguous as iGAN's create_hdf5.py writes it) and the
project's packed .npy with its sidecar (``dataset_tools.pack.write_packed``). Pixels are photo-like
(smooth random colour fields, a mid-frequency layer and grain, different in every image), so
JPEG decoding costs what it costs on photographs, not what it costs on flat colours.

``measure`` reads a domain through ``data.build_domain`` and the trainer's own DataLoaders
(``enot.training.streams.shuffled_loaders``), endlessly over epochs as ``InfiniteStream`` does,
and times steady state after the workers have started; ``main`` sets each rate against what a
GPU step needs at an assumed MFU.

    python -m benchmarks.data_feed            # every format at 64 and 128 px, 0-2 workers
    python -m benchmarks.data_feed --quick    # a smoke run: 200 images, 64 px
"""

from __future__ import annotations

import argparse
import gc
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image

from benchmarks.common import GPU_NAMES, GPU_PEAK_BF16, cpu_description
from data import build_domain, resolve_kind, split_range, to_model
from data.atomic import atomic_folder
from data.celeba import IMAGE_SIZE as CELEBA_SIZE
from data.celeba import IMAGES_DIR, OFFICIAL_ATTRIBUTES, write_attributes
from data.igan_hdf5 import write_igan_array
from dataset_tools.pack import write_packed
from enot.training.streams import shuffled_loaders

BATCH = 64  # the paper's batch per domain

# Achieved fraction of that peak (model FLOPs utilisation, MFU, as defined in the PaLM paper,
# Chowdhery et al. 2022, arXiv 2204.02311, Sec. 4.1 and App. B: counted model FLOPs per second
# over the datasheet peak). An ASSUMPTION, not a measurement of this project: Epoch AI
# (Hobbhahn 2021, "How to measure FLOP/s for Neural Networks empirically?") measured 0.3-0.75
# for most CNNs on a P100 in fp32; small convnets at 64-128 px and batch 64 reach a smaller
# fraction of a much larger tensor-core peak, so 0.35 is a middle guess. Measure yours with
# `benchmarks.step_timing` on the GPU and pass --mfu.
DEFAULT_MFU = 0.35


# Folders of 256 px (FFHQ downscale; --ffhq-side) and of 128 px JPEGs (aligned anime faces),
# CelebA's 178x218 JPEGs with list_attr_celeba.txt, iGAN's .hdf5 and the packed .npy memmap
# (prepare_data.py pack), both at the task size.
FORMAT_NAMES = ("ffhq_folder", "anime_folder", "celeba", "igan_hdf5", "packed")
# The benchmark format that stands for each dataset kind of the paper presets. Kaggle's comics
# are larger JPEGs than this FFHQ-like folder, so their figure is an upper bound.
KIND_FORMAT = {
    "folder": "ffhq_folder",
    "ffhq": "ffhq_folder",
    "comics": "ffhq_folder",
    "anime_faces": "anime_folder",
    "celeba_female": "celeba",
    "igan_hdf5": "igan_hdf5",
    "packed": "packed",
    # Small image files read whole, as the anime faces are.
    "paired_folder": "anime_folder",
}
CELEBA_MALE_SHARE = 0.417  # 84,434 of CelebA's 202,599 images have Male == 1
JPEG_QUALITY = 90


def photo_like(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """uint8 [height, width, 3]: a smooth random colour field, mid-frequency detail and grain."""

    def field(cells_y: int, cells_x: int, resample) -> np.ndarray:
        grid = rng.integers(0, 256, (cells_y, cells_x, 3), dtype=np.uint8)
        return np.asarray(Image.fromarray(grid).resize((width, height), resample), np.float32)

    img = 0.8 * field(5, 5, Image.Resampling.BICUBIC)
    img += 0.2 * field(height // 8 + 1, width // 8 + 1, Image.Resampling.BILINEAR)
    img += rng.normal(0.0, 6.0, (height, width, 1)).astype(np.float32)
    return img.clip(0, 255).astype(np.uint8)


def _rng(seed: int, i: int) -> np.random.Generator:
    return np.random.default_rng([seed, i])


def write_jpeg_folder(folder: Path, n: int, side: int, seed: int) -> Path:
    """n photo-like side x side JPEGs, 00000.jpg ..., in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.fromarray(photo_like(_rng(seed, i), side, side)).save(
            folder / f"{i:05d}.jpg", format="JPEG", quality=JPEG_QUALITY
        )
    return folder


def write_celeba_like(root: Path, n: int, seed: int) -> Path:
    """CelebA's layout: img_align_celeba/000001.jpg ... (178x218) and list_attr_celeba.txt,
    with about CelebA's share of Male == 1 and the other 39 attributes random."""
    images = root / IMAGES_DIR
    images.mkdir(parents=True, exist_ok=True)
    male = OFFICIAL_ATTRIBUTES.index("Male")
    rows = []
    for i in range(n):
        rng = _rng(seed, i)
        name = f"{i + 1:06d}.jpg"
        Image.fromarray(photo_like(rng, *CELEBA_SIZE)).save(
            images / name, format="JPEG", quality=JPEG_QUALITY
        )
        values = [int(v) for v in rng.choice((-1, 1), len(OFFICIAL_ATTRIBUTES))]
        values[male] = 1 if rng.random() < CELEBA_MALE_SHARE else -1
        rows.append((name, values))
    write_attributes(root / "list_attr_celeba.txt", rows)
    return root


def photo_array(n: int, side: int, seed: int) -> np.ndarray:
    """uint8 [n, side, side, 3] photo-like images (the pixels of the HDF5 and packed files)."""
    return np.stack([photo_like(_rng(seed, i), side, side) for i in range(n)])


def _cached(root: Path, name: str, write) -> Path:
    """``root/name``, written by ``write(tmp_folder)`` unless a finished one is there."""
    folder = root / name
    if not folder.is_dir():
        with atomic_folder(folder) as tmp:
            write(tmp)
    return folder


def prepare(
    root: Path,
    n: int,
    sizes: tuple[int, ...],
    ffhq_side: int = 256,
    log=print,
    formats: tuple[str, ...] = FORMAT_NAMES,
) -> dict[tuple[str, int], tuple[str, str]]:
    """Write (or find, from an earlier run) each of ``formats``; {(format, px): (kind, spec)}.

    Each dataset is a folder under ``root`` named by what it holds (count, side), written whole
    or not at all, so a rerun with the same --images skips it.
    """
    t0 = time.perf_counter()

    def packed(d: Path, px: int) -> None:
        images = (to_model(a).permute(2, 0, 1) for a in photo_array(n, px, 5))
        train, test = len(split_range(n, "train")), len(split_range(n, "test"))
        meta = {"kind": "folder", "spec": "photo-like benchmark images", "train": train}
        write_packed(
            d / f"ffhq_{px}.npy", images, n, px, meta | {"test": test, "flip_train": False}
        )

    def igan(d: Path, px: int) -> None:
        write_igan_array(d / f"handbag_{px}.hdf5", photo_array(n, px, seed=4))

    # format: (data.build_domain kind, folder name, writer(folder, px), the file in the folder)
    writers = {
        "ffhq_folder": (
            "folder",
            f"ffhq_{ffhq_side}px_{n}",
            lambda d, px: write_jpeg_folder(d, n, ffhq_side, seed=1),
            "",
        ),
        "anime_folder": (
            "folder",
            f"anime_128px_{n}",
            lambda d, px: write_jpeg_folder(d, n, 128, seed=2),
            "",
        ),
        "celeba": ("celeba_female", f"celeba_{n}", lambda d, px: write_celeba_like(d, n, 3), ""),
        "igan_hdf5": ("igan_hdf5", f"igan_{{px}}px_{n}", igan, "handbag_{px}.hdf5"),
        "packed": ("packed", f"packed_{{px}}px_{n}", packed, "ffhq_{px}.npy"),
    }
    specs = {}
    for fmt in formats:
        for px in sizes:
            kind, name, write, file = writers[fmt]
            folder = _cached(root, name.format(px=px), lambda d: write(d, px))
            specs[fmt, px] = (kind, str(folder / file.format(px=px)))
    log(f"data under {root} ready in {time.perf_counter() - t0:.1f} s ({n} images a format)")
    return specs


@dataclass(frozen=True)
class Feed:
    """One loader's measurement: ``rate`` images/s in steady state."""

    format: str
    px: int
    workers: int
    build_s: float  # build_domain: listing, header checks, attribute file
    first_batch_s: float  # iter() to the first batch: worker start-up and their first batches
    batches: int
    seconds: float
    batch: int = BATCH

    @property
    def rate(self) -> float:
        return self.batches * self.batch / self.seconds


def _endless(loader) -> Iterator:
    while True:  # epochs follow each other as in InfiniteStream (persistent workers stay)
        yield from loader


def measure(
    fmt: str,
    kind: str,
    spec: str,
    px: int,
    workers: int,
    *,
    batch: int = BATCH,
    min_batches: int = 30,
    min_seconds: float = 10.0,
) -> Feed:
    """Images/s of one domain's training loader, built as the trainer builds it.

    After the first batch, ``2 * workers + 1`` more are drawn untimed, so the prefetched
    batches are used up; then at least ``min_batches`` batches and ``min_seconds`` are timed.
    The loop does nothing with the batches: this is the rate the loader can supply.
    """
    t0 = time.perf_counter()
    dataset = build_domain(kind, spec, px, "train", seed=0, flip=False)
    build_s = time.perf_counter() - t0
    (loader,) = shuffled_loaders([dataset], batch, workers)
    t0 = time.perf_counter()
    batches = _endless(loader)
    next(batches)
    first = time.perf_counter() - t0
    for _ in range(2 * workers + 1):
        next(batches)
    n, t0 = 0, time.perf_counter()
    while n < min_batches or time.perf_counter() - t0 < min_seconds:
        next(batches)
        n += 1
    seconds = time.perf_counter() - t0
    batches.close()
    del loader, batches  # ends the persistent workers before the next measurement
    gc.collect()
    return Feed(fmt, px, workers, build_s, first, n, seconds, batch)


def fed_mark(feed: Feed, step_s: float) -> str:
    """Whether one domain's loader keeps a step of ``step_s`` seconds fed, for the table.

    With workers, loading overlaps the step: "yes" when the loader supplies a batch within a
    step. With none, the training process loads both domains between steps, so the mark is the
    time that adds to each step (2 x batch / rate, both domains at this rate).
    """
    if feed.workers == 0:
        return f"+{2 * feed.batch / feed.rate / step_s:.0%}"
    return "yes" if feed.rate * step_s >= feed.batch else "no"


def step_seconds(flops: float, gpu: str, mfu: float) -> float:
    """Seconds of one training step on ``gpu`` at utilisation ``mfu``: FLOPs / (mfu * peak)."""
    return flops / (mfu * GPU_PEAK_BF16[gpu])


def needed_rate(flops: float, gpu: str, mfu: float, batch: int = BATCH) -> float:
    """Images/s both domains together must supply: 2 * batch / seconds per step."""
    return 2 * batch / step_seconds(flops, gpu, mfu)


# One domain's loader with 2 workers, images/s: `benchmarks.data_feed` (see MEASURED_ON).
# `benchmarks.predict_hours` uses these when no --data-rate is given; replace them with the
# figures of the machine that feeds the GPU.
MEASURED_WORKERS = 2
MEASURED_ON = (
    "with `benchmarks.data_feed` (4,000 images a format; celeba rerun with "
    "`--formats celeba`) on a 2-core AMD EPYC (AVX2), 2 cores for 2 workers"
)
MEASURED_RATES: dict[tuple[str, int], float] = {
    ("ffhq_folder", 64): 1743,
    ("ffhq_folder", 128): 1275,
    ("anime_folder", 64): 3394,
    ("anime_folder", 128): 1997,
    ("celeba", 64): 2016,
    ("celeba", 128): 1396,
    ("igan_hdf5", 64): 12534,
    ("igan_hdf5", 128): 5386,
    ("packed", 64): 14293,
    ("packed", 128): 5755,
}


def default_data_rate(kinds: list[str], px: int) -> tuple[float, str]:
    """(images/s of both domains together, where it comes from) for a task's dataset kinds.

    Each domain has its own loader and a step waits for the slower one, so the pair supplies
    2 x the slower loader's rate.
    """
    rates = {k: MEASURED_RATES[KIND_FORMAT[k], px] for k in kinds}
    slow = min(rates, key=rates.get)
    return 2 * rates[slow], (
        f"default: 2 x {rates[slow]:,.0f}/s, the slower domain's loader "
        f"({KIND_FORMAT[slow]}, {px} px, {MEASURED_WORKERS} workers) as "
        f"measured {MEASURED_ON}; pass --data-rate for yours"
    )


SETTING_OF_SIZE = {64: "paper64", 128: "paper128"}
GPUS = ("a100", "h100")


def feeding_loaders(results: dict, need: dict, args: argparse.Namespace) -> None:
    """Print which loaders keep each paper preset fed (each domain has its own loader, so a run
    uses 2 x workers worker processes besides the training process)."""
    from benchmarks.step_memory import PAPER_PRESETS
    from enot.config import get_preset

    print("\nWhich loaders keep each paper preset fed (2 x workers processes per run):")
    tried = [w for w in args.workers if w > 0]
    for name in PAPER_PRESETS:
        cfg = get_preset(name)
        px = cfg.data.image_size
        if px not in args.sizes or not tried:
            continue
        kinds = [
            resolve_kind(cfg.data.dataset, getattr(cfg.data, r))[0] for r in ("source", "target")
        ]
        formats = [KIND_FORMAT[k] for k in kinds]
        for gpu in GPUS:
            per_domain, said = need[px, gpu] / 2, []
            for fmt in (f for f in dict.fromkeys([*formats, "packed"]) if f in args.formats):
                enough = [w for w in tried if results[fmt, px, w] >= per_domain]
                best = max(results[fmt, px, w] for w in tried)
                said.append(
                    f"{fmt} with {min(enough)} worker(s)"
                    if enough
                    else f"{fmt} not with <= {max(tried)} workers (best {best:,.0f}/s)"
                )
            print(
                f"  {name} ({' -> '.join(formats)}) on {GPU_NAMES[gpu]}, "
                f"{per_domain:,.0f} images/s per domain: {'; '.join(said)}"
            )


def main(argv: list[str] | None = None) -> None:
    from benchmarks.step_timing import SETTINGS, step_flops

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", default="runs/datafeed_data", help="generated datasets, reused")
    p.add_argument("--images", type=int, default=0, help="per format (4000; 200 with --quick)")
    p.add_argument("--sizes", type=int, nargs="+", choices=(64, 128), default=[64, 128])
    p.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2], help="per domain")
    p.add_argument("--formats", nargs="+", choices=FORMAT_NAMES, default=list(FORMAT_NAMES))
    p.add_argument("--ffhq-side", type=int, default=256, help="FFHQ: 1024, or 256/128 downscales")
    p.add_argument("--min-batches", type=int, default=30, help="timed batches at least")
    p.add_argument("--min-seconds", type=float, default=10.0, help="timed seconds at least")
    p.add_argument("--mfu", type=float, default=DEFAULT_MFU, help="of the bf16 peak (assumed)")
    p.add_argument("--quick", action="store_true", help="200 images, 64 px, 3 timed batches")
    args = p.parse_args(argv)
    if args.quick:
        args.images = args.images or 200
        args.sizes, args.min_batches, args.min_seconds = [64], 3, 0.0
    print(
        f"{cpu_description()}; {os.cpu_count()} cores seen; load avg (1 min) "
        f"{os.getloadavg()[0]:.2f}",
        flush=True,
    )
    specs = prepare(
        Path(args.root),
        args.images or 4000,
        tuple(args.sizes),
        args.ffhq_side,
        print,
        tuple(args.formats),
    )
    flops = {px: step_flops(SETTINGS[SETTING_OF_SIZE[px]]()) for px in args.sizes}
    need = {(px, gpu): needed_rate(flops[px], gpu, args.mfu) for px in args.sizes for gpu in GPUS}
    print(
        f"\nA GPU step (both domains, batch {BATCH} each) needs 2 x {BATCH} / (FLOPs per step "
        f"/ (mfu x dense bf16 peak)) images/s; mfu {args.mfu} (assumed):"
    )
    for px, gpu in need:
        print(
            f"  {px:>3} px ({SETTING_OF_SIZE[px]}, {flops[px] / 1e9:,.0f} GFLOP/step) on "
            f"{GPU_NAMES[gpu]} ({GPU_PEAK_BF16[gpu] / 1e12:.0f} TFLOP/s): "
            f"{step_seconds(flops[px], gpu, args.mfu) * 1e3:.1f} ms/step -> "
            f"{need[px, gpu]:,.0f} images/s ({need[px, gpu] / 2:,.0f} per domain)"
        )
    print(
        f"\nOne domain's loader (batch {BATCH}, shuffle, drop_last, persistent workers), timed "
        f">= {args.min_batches} batches and >= {args.min_seconds:g} s after start-up. Fed: with "
        f"workers, yes when its rate >= the per-domain need; with 0 workers, the time both "
        f"domains' loading adds to a step:"
    )
    header = (
        f"{'format':<13} {'px':>4} {'workers':>7} {'build s':>7} {'1st batch s':>11} "
        f"{'images/s':>9} {'A100 fed':>8} {'H100 fed':>8}"
    )
    print(header + "\n" + "-" * len(header), flush=True)
    results = {}
    for fmt in args.formats:
        for px in args.sizes:
            for workers in args.workers:
                kind, spec = specs[fmt, px]
                r = measure(
                    fmt,
                    kind,
                    spec,
                    px,
                    workers,
                    min_batches=args.min_batches,
                    min_seconds=args.min_seconds,
                )
                results[fmt, px, workers] = r.rate
                fed = [fed_mark(r, step_seconds(flops[px], gpu, args.mfu)) for gpu in GPUS]
                print(
                    f"{fmt:<13} {px:>4} {workers:>7} {r.build_s:>7.2f} {r.first_batch_s:>11.2f} "
                    f"{r.rate:>9,.0f} {fed[0]:>8} {fed[1]:>8}",
                    flush=True,
                )
    feeding_loaders(results, need, args)


if __name__ == "__main__":
    main()
