"""Translate image files with an export: ``enot-translate`` (or ``python scripts/translate.py``).

    enot-translate --model runs/colored_mnist/export --input photos/ --output translated/
    enot-translate --model EXPORT --input a.jpg b.png --output out/ --t 0.5
    enot-translate --model EXPORT --input photos/ --output out/ --backend onnx

Every file goes through the demo's path: the training preprocessing (``data.normalization``:
RGB, centred square, bilinear resize, [-1, 1]), the map T, then the displacement
interpolation (1 - t) x + t T(x). T runs in PyTorch, BatchNorm folded and channels-last
(``app.fast_map.FastMap``), or with ``--backend onnx`` from the export's T.onnx through
onnxruntime (``app.onnx_map.OnnxMap``), the same within the parity measured at export. Outputs
are PNGs at the model's size, at the input's path relative to its folder (a file given by name
lands at its own name), with the stem kept: ``photos/a/b.jpg`` -> ``translated/a/b.png``.

Nothing is lost: an existing output is never overwritten without ``--overwrite`` (checked before
any work), each PNG is written under a temporary name and renamed, and a file that does not
decode is skipped, named at the end, and makes the exit status 1 while every other file is
translated.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm

from data import CorruptImageError
from data.atomic import atomic_file
from data.image_folder import IMAGE_EXTENSIONS, walk_files
from data.normalization import WHITE, Color, decode_image, parse_background
from enot.export import ExportError, load_export

from .fast_map import FastMap
from .onnx_map import BACKENDS, OnnxLoadError, OnnxMap, build_map
from .pipeline import interpolate, preprocess, to_pil


class TranslateError(ValueError):
    """Bad input to the command: nothing was written."""


@dataclass(frozen=True)
class Job:
    source: Path
    target: Path


@dataclass
class Outcome:
    written: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)


def plan(inputs: list[Path], output: Path, overwrite: bool) -> list[Job]:
    """One job per input image: folders are searched recursively for image extensions."""
    jobs = []
    for item in inputs:
        if item.is_dir():
            found = [p for p in walk_files(item) if p.suffix.lower() in IMAGE_EXTENSIONS]
            jobs += [Job(p, output / p.relative_to(item).with_suffix(".png")) for p in found]
        elif item.is_file():
            jobs.append(Job(item, output / (item.stem + ".png")))
        else:
            raise TranslateError(f"--input {item}: no such file or folder")
    if not jobs:
        raise TranslateError(
            f"no image files ({', '.join(sorted(IMAGE_EXTENSIONS))}) under "
            f"{', '.join(map(str, inputs))}"
        )
    seen: dict[Path, Path] = {}
    for job in jobs:
        if job.target in seen:
            raise TranslateError(
                f"{seen[job.target]} and {job.source} would both be written to "
                f"{job.target}; translate them into different --output folders"
            )
        seen[job.target] = job.source
    existing = [j.target for j in jobs if j.target.exists()]
    if existing and not overwrite:
        shown = ", ".join(map(str, existing[:3])) + (" ..." if len(existing) > 3 else "")
        raise TranslateError(
            f"{len(existing)} output file(s) exist already ({shown}); pass "
            f"--overwrite to replace them, or choose another --output"
        )
    return jobs


def _save(image, target: Path) -> None:
    with atomic_file(target) as partial:
        image.save(partial, format="PNG", compress_level=1)


def run(
    jobs: list[Job],
    runner: FastMap | OnnxMap,
    size: int,
    t: float,
    batch_size: int,
    progress: bool = True,
    background: Color = WHITE,
) -> Outcome:
    outcome = Outcome()
    bar = tqdm(total=len(jobs), unit="img", disable=not progress, desc="translating")
    for start in range(0, len(jobs), batch_size):
        batch, xs = [], []
        for job in jobs[start : start + batch_size]:
            try:
                x, _ = preprocess(decode_image(job.source, background), size)
            except (CorruptImageError, OSError) as err:
                outcome.failed.append((job.source, str(err)))
                bar.update(1)
                continue
            batch.append(job)
            xs.append(x)
        if not batch:
            continue
        x = torch.stack(xs)
        tx = runner(x).float().cpu()
        for job, xi, txi in zip(batch, x, tx):
            _save(to_pil(interpolate(xi, txi, t)), job.target)
            outcome.written.append(job.target)
        bar.update(len(batch))
    bar.close()
    return outcome


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="enot-translate",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--model", required=True, help="an export folder (<run>/export)")
    p.add_argument(
        "--input",
        required=True,
        nargs="+",
        type=Path,
        metavar="DIR|FILE",
        help="image files, or folders searched recursively",
    )
    p.add_argument(
        "--output",
        required=True,
        type=Path,
        metavar="DIR",
        help="folder for the PNGs; sub-folders of the input are kept",
    )
    p.add_argument(
        "--t",
        type=float,
        default=1.0,
        help="displacement interpolation (1 - t) x + t T(x), in [0, 1]; 1 is T(x)",
    )
    p.add_argument("--batch-size", type=int, default=32, help="images per forward pass")
    p.add_argument(
        "--device",
        default=None,
        help="torch device, e.g. cpu, cuda, cuda:1, mps (default: cuda where there "
        "is one for the torch backend, else cpu; the onnx backend runs on cpu)",
    )
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default="torch",
        help="what runs T: PyTorch, or the export's T.onnx through onnxruntime "
        "(CPU; written by enot-export EXPORT --format onnx)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument(
        "--no-ema", action="store_true", help="use T rather than its EMA when the export has one"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if not 0.0 <= args.t <= 1.0:
            raise TranslateError(f"--t must lie in [0, 1], got {args.t}")
        if args.batch_size < 1:
            raise TranslateError(f"--batch-size must be >= 1, got {args.batch_size}")
        try:
            device = torch.device(
                args.device
                or ("cuda" if torch.cuda.is_available() and args.backend == "torch" else "cpu")
            )
        except RuntimeError as err:
            raise TranslateError(f"--device {args.device!r}: {err}") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise TranslateError("--device cuda was asked for, but CUDA is not available here")
        export = load_export(args.model, use_ema=not args.no_ema)
        jobs = plan(args.input, args.output, args.overwrite)
        runner = build_map(export, args.backend, device)
    except (TranslateError, ExportError, OnnxLoadError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    outcome = run(
        jobs,
        runner,
        export.image_size,
        args.t,
        args.batch_size,
        background=parse_background(export.config.data.background),
        progress=not args.quiet,
    )
    print(f"{len(outcome.written)} of {len(jobs)} images translated into {args.output}")
    if outcome.failed:
        print(f"{len(outcome.failed)} file(s) could not be read and were skipped:", file=sys.stderr)
        for path, why in outcome.failed:
            print(f"  {path}: {why}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
