"""`scripts/benchmark.py translate`: the translate command on a folder of 1,000 photo-like JPEGs
of which one is corrupt, timed end to end as a user runs it (a real subprocess).

The export is an untrained map at the preset's networks (the speed does not depend on the
weights): the quickstart's U-Net base 16 at 32 px, the paper's base 48 at 128 px.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from benchmarks.data_feed import photo_like
from enot.config import get_preset
from enot.training.export import write_export
from enot.training.networks import build_networks

PRESET_OF_SIZE = {32: "colored_mnist", 128: "celeba2anime_128"}
CORRUPT = "corrupt_0500.jpg"


def write_inputs(folder: Path, n: int) -> Path:
    """n - 1 photo-like 256 px JPEGs in two sub-folders, and one file that is not an image."""
    rng = np.random.default_rng(0)
    for i in range(n - 1):
        path = folder / f"part{i % 2}" / f"img_{i:04d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(photo_like(rng, 256, 256)).save(path, quality=90)
    (folder / CORRUPT).write_bytes(b"\xff\xd8\xff\xe0 this JPEG stops here")
    return folder


def untrained_export(folder: Path, size: int) -> Path:
    cfg = get_preset(PRESET_OF_SIZE[size])
    torch.manual_seed(0)
    T, g = build_networks(cfg)
    return write_export(folder, T, g, None, cfg, step=0)


def time_translate(root: Path, size: int, n: int, batch_size: int) -> dict:
    inputs = root / f"inputs_{n}"
    if not (inputs / CORRUPT).is_file():
        write_inputs(inputs, n)
    export = untrained_export(root / f"export_{size}", size)
    out = root / f"out_{size}"
    cmd = [sys.executable, str(Path(__file__).parents[1] / "scripts" / "translate.py"),
           "--model", str(export), "--input", str(inputs), "--output", str(out),
           "--batch-size", str(batch_size), "--overwrite", "--quiet"]
    start = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    written = len(list(out.rglob("*.png")))
    return {"size": size, "returncode": res.returncode, "written": written, "seconds": seconds,
            "rate": written / seconds, "stdout": res.stdout.strip(), "stderr": res.stderr.strip()}
