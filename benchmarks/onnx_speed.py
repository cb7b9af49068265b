"""enot-export's ONNX step on the 32 and 128 px preset networks (untrained, BatchNorm statistics
as initialised): seconds, file size, and the parity on noise of every input the exporter checks.

    python -m benchmarks.onnx_speed
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from benchmarks.common import machine
from benchmarks.translate_speed import untrained_export
from models.io import WEIGHTS_NAME


def onnx_figures(root: Path, size: int) -> dict:
    from app.onnx_export import export_onnx

    export = untrained_export(root / f"onnx_{size}", size)
    start = time.perf_counter()
    record = export_onnx(export, parity_images=64, log=lambda _: None)
    return {
        "size": size,
        "seconds": time.perf_counter() - start,
        "bytes": record.bytes,
        "parity": record.parity["max_abs_diff"],
        "inputs": record.parity["inputs"],
        "weights_bytes": (export / "T" / WEIGHTS_NAME).stat().st_size,
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", choices=(32, 128), default=[32, 128])
    p.add_argument("--root", default="runs/onnx_bench", help="folder for the exports")
    args = p.parse_args(argv)
    print(machine())
    for size in args.sizes:
        r = onnx_figures(Path(args.root), size)
        print(
            f"{size} px: exported in {r['seconds']:.1f} s; T.onnx {r['bytes'] / 2**20:.2f} MiB "
            f"(safetensors {r['weights_bytes'] / 2**20:.2f} MiB); max |onnxruntime - PyTorch| "
            f"{r['parity']:.2e} on {r['inputs']}",
            flush=True,
        )


if __name__ == "__main__":
    main()
