"""The translate command timed end to end as a user runs it (a real subprocess), on a folder of
photo-like JPEGs of which one is corrupt, with either backend: PyTorch, or the export's T.onnx
through onnxruntime.

The export is an untrained map at the preset's networks (the speed does not depend on the
weights): the quickstart's U-Net base 16 at 32 px, the paper's base 48 at 128 px. Its T.onnx
is written once by the exporter (``app.onnx_export``), outside the timing. Both backends get
the same thread count (OMP_NUM_THREADS, which torch and the onnx backend follow).

    python -m benchmarks.translate_speed --backend torch onnx --threads 2
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from benchmarks.common import machine
from benchmarks.data_feed import photo_like
from enot.config import get_preset
from enot.export import write_export
from enot.training.networks import build_networks

PRESET_OF_SIZE = {32: "colored_mnist", 128: "celeba2anime_128"}
CORRUPT = "corrupt_0500.jpg"
TRANSLATE = Path(__file__).parents[1] / "scripts" / "translate.py"


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


def time_translate(
    root: Path, size: int, n: int, batch_size: int, backend: str = "torch", threads: int = 2
) -> dict:
    """Seconds of one translate command over ``n`` files, and the PNGs it wrote."""
    inputs, export = root / f"inputs_{n}", root / f"export_{size}"
    if not (inputs / CORRUPT).is_file():
        write_inputs(inputs, n)
    if not (export / "translator.json").is_file():
        untrained_export(export, size)
    if backend == "onnx" and not (export / "T.onnx").is_file():
        from app.onnx_export import export_onnx

        export_onnx(export, parity_images=8, log=lambda _: None)
    out = root / f"out_{size}_{backend}"
    cmd = [sys.executable, str(TRANSLATE), "--model", str(export), "--input", str(inputs)]
    cmd += ["--output", str(out), "--batch-size", str(batch_size), "--backend", backend]
    cmd += ["--overwrite", "--quiet", "--device", "cpu"]
    start = time.perf_counter()
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    written = len(list(out.rglob("*.png")))
    result = {"size": size, "backend": backend, "threads": threads, "seconds": seconds}
    ran = {"returncode": res.returncode, "stdout": res.stdout.strip(), "stderr": res.stderr.strip()}
    return result | ran | {"written": written, "rate": written / seconds}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", choices=(32, 128), default=[32, 128])
    p.add_argument("--images", type=int, default=1000, help="files in the folder, one corrupt")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--root", default="runs/translate_bench", help="for inputs and outputs")
    p.add_argument("--backend", nargs="+", choices=("torch", "onnx"), default=["torch"])
    p.add_argument("--threads", type=int, default=2, help="threads of either backend")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(machine())
    for size in args.sizes:
        for backend in args.backend:
            r = time_translate(
                Path(args.root), size, args.images, args.batch_size, backend, args.threads
            )
            print(
                f"{size} px, {backend}: exit status {r['returncode']}, {r['written']} PNGs "
                f"written in {r['seconds']:.1f} s, {r['rate']:.1f} images/s end to end "
                f"(process start, model load, decode, translate, PNG)\n  stdout: "
                f"{r['stdout']}\n  stderr: {r['stderr']}",
                flush=True,
            )


if __name__ == "__main__":
    main()
