"""Write an export's map as ONNX, with its parity to PyTorch proven: ``enot-export``.

    enot-export runs/colored_mnist/export --format onnx
    python scripts/export.py EXPORT --format onnx --parity-images 256

T.onnx is written beside the export's export card: the EMA of T when the export has one (else T),
BatchNorm folded into the convolutions (``app.fast_map.fold_batchnorm``), float32, input
``x`` [batch, 3, S, S] and output ``tx`` of the same shape, the batch axis dynamic and S the
export's image size, opset ``OPSET`` through PyTorch's torch.export-based exporter.

Parity is proven before the file is kept: onnxruntime on the CPU and the PyTorch map (eager,
its BatchNorms not folded) translate the same images, the source domain's held-out test split
when it is here, else uniform noise in [-1, 1] (the card says which), in batches of
``BATCH`` and once alone, and the largest |onnxruntime - PyTorch| must not exceed
``TOLERANCE``. That figure goes into the export card (``enot.export.card.OnnxExport``) with the
preprocessing, and the model card gains a five-line onnxruntime snippet.

Nothing half-made is left: the file is built under a temporary name, checked, and renamed to
T.onnx only when it passed; any failure removes it and leaves a T.onnx written before intact.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from data import DatasetError, build_domain
from enot.export import ExportError, LoadedExport, load_export, rewrite_card
from enot.export.card import OnnxExport
from models.io import CONFIG_NAME, WEIGHTS_NAME

from .fast_map import fold_batchnorm

ONNX_FILE = "T.onnx"
OPSET = 18
MIN_ONNXRUNTIME = (1, 14)  # the first onnxruntime that runs opset 18
# Largest |onnxruntime - PyTorch| on [-1, 1] outputs allowed at export. fp32 differences come
# from the folded BatchNorm and the kernels' summation order; docs/onnx.md gives the measured
# figures (python -m benchmarks.onnx_speed) beside this bound.
TOLERANCE = 1e-4
PARITY_IMAGES = 64
BATCH = 16
INPUT, OUTPUT = "x", "tx"
SUPPORTED = ("UNet",)
INSTALL = 'pip install -e ".[onnx]"'


class OnnxExportError(ValueError):
    """The export cannot be written as ONNX; the message says why. No T.onnx was written."""


def require_onnx() -> tuple[Any, Any]:
    """The onnx and onnxruntime modules, checked for presence and version, with onnxscript
    (which PyTorch's exporter needs)."""
    missing = []
    for name in ("onnx", "onnxruntime", "onnxscript"):
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise OnnxExportError(
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} "
            f"not installed: ONNX export and the onnx backend need them; "
            f"install the onnx extra: {INSTALL}"
        )
    import onnx
    import onnxruntime

    have = tuple(int(part) for part in onnxruntime.__version__.split(".")[:2])
    if have < MIN_ONNXRUNTIME:
        need = ".".join(map(str, MIN_ONNXRUNTIME))
        raise OnnxExportError(
            f"onnxruntime {onnxruntime.__version__} cannot run opset {OPSET}; "
            f"it needs onnxruntime >= {need}: {INSTALL}"
        )
    return onnx, onnxruntime


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def preprocessing(export: LoadedExport) -> dict[str, Any]:
    """How an image becomes the model's input, as ``data.normalization`` does it."""
    size = export.image_size
    return {
        "size": size,
        "channels": export.card.channels,
        "layout": "NCHW float32 RGB",
        "crop": "the largest centred square",
        "resize": "bilinear (PIL)",
        "background": export.card.background,
        "normalisation": "x = pixel / 127.5 - 1 (uint8 0..255 to [-1, 1])",
        "output": "[-1, 1]: pixel = round((tx + 1) * 127.5), clamped to 0..255",
        "function": "data.normalization.center_crop_resize, then to_model",
    }


def parity_inputs(export: LoadedExport, n: int) -> tuple[torch.Tensor, str]:
    """Up to ``n`` source test-split images of the export's task, or noise when absent."""
    cfg = export.config
    d = cfg.data
    try:
        domain = build_domain(
            d.dataset, d.source, d.image_size, "test", seed=cfg.train.seed, background=d.background
        )
        count = min(n, len(domain))
        if count:
            images = torch.stack([domain[i] for i in range(count)])
            return images, f"the first {count} images of the {d.dataset} {d.source} test split"
        why = "it is empty"
    except (DatasetError, OSError) as err:
        why = str(err).splitlines()[0].split(". ")[0][:200]
    noise = (
        torch.rand(n, 3, d.image_size, d.image_size, generator=torch.Generator().manual_seed(0)) * 2
        - 1
    )
    return noise, f"{n} images of uniform noise in [-1, 1] (the test split is not here: {why})"


def _check_architecture(folder: Path, sub: str) -> None:
    config = folder / sub / CONFIG_NAME
    try:
        name = json.loads(config.read_text()).get("_class_name")
    except (OSError, json.JSONDecodeError, AttributeError):
        return  # load_export names the problem
    if name not in SUPPORTED:
        raise OnnxExportError(
            f"{folder / sub} holds a {name}: enot-export writes ONNX for the "
            f"map T of an ENOT export, a {' or '.join(SUPPORTED)}"
        )


def load_for_export(folder: str | os.PathLike, use_ema: bool = True) -> LoadedExport:
    folder = Path(folder)
    if not folder.is_dir():
        raise OnnxExportError(
            f"{folder}: no such export folder (enot-export writes T.onnx "
            f"beside the export, so it takes a folder, not a Hub id)"
        )
    sub = "T_ema" if use_ema and (folder / "T_ema").is_dir() else "T"
    if not (folder / sub / WEIGHTS_NAME).is_file() and (folder / sub).is_dir():
        raise OnnxExportError(
            f"{folder / sub} has no weights ({WEIGHTS_NAME} is missing): "
            f"there is nothing to export; copy the whole export folder"
        )
    _check_architecture(folder, sub)
    try:
        return load_export(folder, use_ema=use_ema)
    except ExportError as err:
        raise OnnxExportError(str(err)) from None


def _write_onnx(
    net: nn.Module, size: int, channels: int, path: Path, metadata: dict[str, str], onnx
) -> None:
    example = torch.zeros(2, channels, size, size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            net,
            (example,),
            dynamo=True,
            opset_version=OPSET,
            input_names=[INPUT],
            output_names=[OUTPUT],
            dynamic_shapes=({0: torch.export.Dim("batch")},),
            verbose=False,
        )
    model = program.model_proto
    opsets = {o.domain: o.version for o in model.opset_import}
    if opsets.get("", opsets.get("ai.onnx")) != OPSET:
        raise OnnxExportError(f"the exporter wrote opset {opsets}, not the asked-for {OPSET}")
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def measure_parity(
    export: LoadedExport, onnx_file: Path, images: torch.Tensor, onnxruntime
) -> float:
    """Largest |onnxruntime - PyTorch| over ``images``, batched by BATCH and once alone."""
    session = onnxruntime.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    T = export.T.eval()
    worst = 0.0
    batches = [images[i : i + BATCH] for i in range(0, len(images), BATCH)] + [images[:1]]
    for x in batches:
        with torch.inference_mode():
            want = T(x.float()).numpy()
        got = session.run([OUTPUT], {INPUT: x.numpy().astype(np.float32)})[0]
        if got.shape != want.shape:
            raise OnnxExportError(
                f"onnxruntime gave outputs {got.shape} for inputs "
                f"{tuple(x.shape)}; PyTorch gave {want.shape}"
            )
        diff = float(np.abs(got.astype(np.float64) - want).max())
        if not np.isfinite(diff):
            raise OnnxExportError("onnxruntime or PyTorch gave a non-finite output")
        worst = max(worst, diff)
    return worst


def export_onnx(
    folder: str | os.PathLike,
    *,
    use_ema: bool = True,
    parity_images: int = PARITY_IMAGES,
    tolerance: float = TOLERANCE,
    log=print,
) -> OnnxExport:
    """Write ``folder/T.onnx`` and record it in the export's cards; return what was recorded.

    Raises OnnxExportError, with nothing written, when the onnx extra is missing, the folder
    holds no weights or no U-Net, or the parity exceeds ``tolerance``.
    """
    if parity_images < 1:
        raise OnnxExportError(f"--parity-images must be >= 1, got {parity_images}")
    if not tolerance > 0:
        raise OnnxExportError(f"--tolerance must be > 0, got {tolerance}")
    onnx, onnxruntime = require_onnx()
    export = load_for_export(folder, use_ema)
    folder = export.path
    weights_sha = sha256(folder / export.weights / WEIGHTS_NAME)
    prep = preprocessing(export)
    images, described = parity_inputs(export, parity_images)
    partial = folder / f".{ONNX_FILE}.partial"
    try:
        log(f"exporting {folder / export.weights} (BatchNorm folded) to ONNX opset {OPSET} ...")
        _write_onnx(
            fold_batchnorm(export.T),
            export.image_size,
            export.card.channels,
            partial,
            {"enot.preprocessing": json.dumps(prep), "enot.weights_sha256": weights_sha},
            onnx,
        )
        diff = measure_parity(export, partial, images, onnxruntime)
        log(f"parity: max |onnxruntime - PyTorch| = {diff:.2e} on {described}")
        if diff > tolerance:
            raise OnnxExportError(
                f"onnxruntime and PyTorch differ by up to {diff:.2e} on "
                f"{described}, more than the tolerance {tolerance:.0e}: "
                f"{ONNX_FILE} was not written"
            )
        record = OnnxExport(
            file=ONNX_FILE,
            weights=export.weights,
            sha256=sha256(partial),
            weights_sha256=weights_sha,
            bytes=partial.stat().st_size,
            opset=OPSET,
            onnxruntime=onnxruntime.__version__,
            torch=torch.__version__,
            input_name=INPUT,
            output_name=OUTPUT,
            preprocessing=prep,
            parity={
                "max_abs_diff": diff,
                "tolerance": tolerance,
                "images": len(images),
                "inputs": described,
                "reference": "the PyTorch map, eager, float32, on the CPU",
            },
        )
        os.replace(partial, folder / ONNX_FILE)
    finally:
        partial.unlink(missing_ok=True)
    rewrite_card(folder, replace(export.card, onnx=record))
    return record


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="enot-export",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("export", type=Path, help="an export folder (<run>/export)")
    p.add_argument("--format", required=True, choices=["onnx"], help="what to write")
    p.add_argument(
        "--no-ema", action="store_true", help="export T rather than its EMA when the export has one"
    )
    p.add_argument(
        "--parity-images",
        type=int,
        default=PARITY_IMAGES,
        help="held-out images translated by both runtimes to prove parity",
    )
    p.add_argument(
        "--tolerance",
        type=float,
        default=TOLERANCE,
        help="largest |onnxruntime - PyTorch| allowed on the [-1, 1] outputs",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        record = export_onnx(
            args.export,
            use_ema=not args.no_ema,
            parity_images=args.parity_images,
            tolerance=args.tolerance,
        )
    except OnnxExportError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(
        f"wrote {args.export / record.file} ({record.bytes / 2**20:.2f} MiB, opset "
        f"{record.opset}, from {record.weights}); parity {record.parity['max_abs_diff']:.2e} "
        f"<= {record.parity['tolerance']:.0e}; the export card and model card say how to run it"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
