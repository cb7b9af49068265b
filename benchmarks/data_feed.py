"""The data feed: how many images/s each dataset format delivers to the training loop, and how
many a GPU step needs.

Files are written in the real formats at realistic sizes (``prepare``): JPEG folders (FFHQ-like
256 px, anime-like 128 px), CelebA (178x218 JPEGs and ``list_attr_celeba.txt``), iGAN HDF5
(uint8 [N, S, S, 3] under ``imgs``, contiguous as iGAN's create_hdf5.py writes it) and the
project's packed .npy with its sidecar (``data.packed.write_packed``). Pixels are photo-like
(smooth random colour fields, a mid-frequency layer and grain, different in every image), so
JPEG decoding costs what it costs on photographs, not what it costs on flat colours.

``measure`` reads a domain through ``data.build_domain`` and the trainer's own DataLoaders
(``enot.training.streams.shuffled_loaders``), endlessly over epochs as ``InfiniteStream`` does,
and times steady state after the workers have started.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image

from benchmarks.gpu_peaks import GPU_PEAK_BF16
from data import build_domain, split_range, to_model
from data.atomic import atomic_folder
from data.celeba import IMAGE_SIZE as CELEBA_SIZE
from data.celeba import IMAGES_DIR, OFFICIAL_ATTRIBUTES, write_attributes
from data.igan_hdf5 import write_igan_array
from data.packed import write_packed
from enot.training.streams import shuffled_loaders

BATCH = 64  # the paper's batch per domain

# Dense bf16 peaks of the GPUs `benchmark.py predict` names, and their datasheets' names.
GPU_NAMES = {"a100": "A100 SXM", "h100": "H100 SXM"}

# Achieved fraction of that peak (model FLOPs utilisation, MFU, as defined in the PaLM paper,
# Chowdhery et al. 2022, arXiv 2204.02311, Sec. 4.1 and App. B: counted model FLOPs per second
# over the datasheet peak). An ASSUMPTION, not a measurement of this project: Epoch AI
# (Hobbhahn 2021, "How to measure FLOP/s for Neural Networks empirically?") measured 0.3-0.75
# for most CNNs on a P100 in fp32; small convnets at 64-128 px and batch 64 reach a smaller
# fraction of a much larger tensor-core peak, so 0.35 is a middle guess. Measure yours with
# `scripts/benchmark.py step` on the GPU and pass --mfu.
DEFAULT_MFU = 0.35


@dataclass(frozen=True)
class Format:
    name: str
    kind: str  # the data.build_domain kind that reads it
    what: str


FORMATS = (
    Format("ffhq_folder", "folder", "folder of 256 px JPEGs (FFHQ downscale; --ffhq-side)"),
    Format("anime_folder", "folder", "folder of 128 px JPEGs (aligned anime faces)"),
    Format("celeba", "celeba_female", "CelebA 178x218 JPEGs + list_attr_celeba.txt"),
    Format("igan_hdf5", "igan_hdf5", "iGAN .hdf5, uint8 [N,S,S,3] at the task size"),
    Format("packed", "packed", "packed .npy memmap at the task size (prepare_data.py pack)"),
)
FORMAT_NAMES = tuple(f.name for f in FORMATS)
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
    writers = {
        "ffhq_folder": lambda px: (
            "folder",
            _cached(
                root,
                f"ffhq_{ffhq_side}px_{n}",
                lambda d: write_jpeg_folder(d, n, ffhq_side, seed=1),
            ),
        ),
        "anime_folder": lambda px: (
            "folder",
            _cached(root, f"anime_128px_{n}", lambda d: write_jpeg_folder(d, n, 128, seed=2)),
        ),
        "celeba": lambda px: (
            "celeba_female",
            _cached(root, f"celeba_{n}", lambda d: write_celeba_like(d, n, seed=3)),
        ),
        "igan_hdf5": lambda px: (
            "igan_hdf5",
            _cached(
                root,
                f"igan_{px}px_{n}",
                lambda d: write_igan_array(d / f"handbag_{px}.hdf5", photo_array(n, px, seed=4)),
            )
            / f"handbag_{px}.hdf5",
        ),
        "packed": lambda px: (
            "packed",
            _cached(
                root,
                f"packed_{px}px_{n}",
                lambda d: write_packed(
                    d / f"ffhq_{px}.npy",
                    (to_model(a).permute(2, 0, 1) for a in photo_array(n, px, 5)),
                    n,
                    px,
                    {
                        "kind": "folder",
                        "spec": "photo-like benchmark images",
                        "train": len(split_range(n, "train")),
                        "test": len(split_range(n, "test")),
                        "flip_train": False,
                    },
                ),
            )
            / f"ffhq_{px}.npy",
        ),
    }
    specs = {}
    for fmt in formats:
        for px in sizes:
            kind, path = writers[fmt](px)
            specs[fmt, px] = (kind, str(path))
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


# One domain's loader with 2 workers, images/s: `scripts/benchmark.py data` (see MEASURED_ON).
# `benchmark.py predict` uses these when no --data-rate is given; replace them with the
# figures of the machine that feeds the GPU.
MEASURED_WORKERS = 2
MEASURED_ON = (
    "with `benchmark.py data` (4,000 images a format; celeba rerun with "
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
