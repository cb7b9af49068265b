"""What the benchmark scripts share: the machine they ran on, a median time after a warm-up
with the device synchronised, how CUDA computes float32, datasheet peaks, and JSON output."""

from __future__ import annotations

import json
import platform
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import torch

# Matched in order against torch.cuda.get_device_name(): (bf16, tf32, fp32) dense FLOP/s from
# NVIDIA's datasheets (SXM parts unless named); the H200's repeats the H100 SXM's. A card not
# listed gets no MFU.
PEAKS = (
    ("H200", (989e12, 494.5e12, 66.9e12)),
    ("H100 PCIe", (756e12, 378e12, 51.2e12)),
    ("H100", (989e12, 494.5e12, 66.9e12)),
    ("A100", (312e12, 156e12, 19.5e12)),
)


def peak_of(device_name: str) -> dict[str, float] | None:
    """{"bf16", "tf32", "fp32": dense FLOP/s} of the GPU called ``device_name``, or None."""
    for key, figures in PEAKS:
        if key in device_name:
            return dict(zip(("bf16", "tf32", "fp32"), figures))
    return None


def machine() -> str:
    """One line: torch, Python, the CPU (its AVX level and torch's kernels, which speed figures
    depend on), the threads and, where there is one, the GPU with CUDA and cuDNN."""
    from enot.training.machine import cpu_model_and_flags

    model, flags = cpu_model_and_flags()
    isa = "AVX-512" if "avx512f" in flags else "AVX2 only" if "avx2" in flags else "no AVX2"
    line = (
        f"torch {torch.__version__}, Python {platform.python_version()}; {model} ({isa}; torch "
        f"kernels {torch.backends.cpu.get_cpu_capability()}), {torch.get_num_threads()} threads"
    )
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        line += (
            f"; {torch.cuda.get_device_name(0)} ({props.total_memory / 2**30:.0f} GiB), "
            f"CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}"
        )
    return line


def median_seconds(fn: Callable[[], object], repeats: int, warmup: int, device: str) -> float:
    """Median wall seconds of ``fn()`` after ``warmup`` untimed calls; on CUDA the clock is read
    after a synchronize, so each call's queued kernels are inside its time."""
    sync = torch.cuda.synchronize if torch.device(device).type == "cuda" else (lambda: None)
    for _ in range(warmup):  # allocator, kernel caches, a compile's first calls
        fn()
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


@contextmanager
def fp32_mode(mode: str) -> Iterator[None]:
    """Float32 matmuls and convolutions in IEEE float32 (``"ieee"``) or on TF32 tensor cores
    (``"tf32"``) inside the block; the flags found before it after. PyTorch's defaults differ
    (matmuls IEEE, cuDNN convolutions TF32), so a check against a float32 reference sets both."""
    if mode not in ("ieee", "tf32"):
        raise ValueError(f"fp32 mode must be 'ieee' or 'tf32', got {mode!r}")
    matmul, conv = torch.backends.cuda.matmul, torch.backends.cudnn.conv
    before = matmul.fp32_precision, conv.fp32_precision
    matmul.fp32_precision = conv.fp32_precision = mode
    try:
        yield
    finally:
        matmul.fp32_precision, conv.fp32_precision = before


def write_json(path: str | Path | None, payload: dict) -> None:
    """``payload`` as indented JSON at ``path`` (its folder made), when a path is given."""
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(payload, indent=2, default=str) + "\n")
        print(f"written: {path}")
