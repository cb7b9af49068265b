"""How CUDA computes float32 matrix products and convolutions: IEEE float32 or TF32.

TF32 rounds each float32 operand to 10 mantissa bits on the tensor cores (relative error near
3e-4 instead of far under 1e-3's float32). PyTorch's defaults differ between the two: matmuls
are IEEE float32 and cuDNN convolutions TF32. A check against a float32 reference must set
both to IEEE; a speed comparison names which it timed. The flags are global, so the context
manager restores what it found.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch

MODES = ("ieee", "tf32")


def _get() -> tuple[object, object]:
    backends = torch.backends
    if hasattr(backends.cudnn, "conv"):  # torch >= 2.9: one fp32_precision per backend
        return backends.cuda.matmul.fp32_precision, backends.cudnn.conv.fp32_precision
    return backends.cuda.matmul.allow_tf32, backends.cudnn.allow_tf32


def _set(matmul: object, conv: object) -> None:
    backends = torch.backends
    if hasattr(backends.cudnn, "conv"):
        backends.cuda.matmul.fp32_precision = matmul
        backends.cudnn.conv.fp32_precision = conv
    else:
        backends.cuda.matmul.allow_tf32, backends.cudnn.allow_tf32 = matmul, conv


def set_fp32_mode(mode: str) -> None:
    """``"ieee"``: float32 matmuls and convolutions in float32; ``"tf32"``: on TF32 cores."""
    if mode not in MODES:
        raise ValueError(f"fp32 mode must be one of {MODES}, got {mode!r}")
    if hasattr(torch.backends.cudnn, "conv"):
        _set(mode, mode)
    else:
        _set(mode == "tf32", mode == "tf32")


@contextmanager
def fp32_mode(mode: str) -> Iterator[None]:
    """``set_fp32_mode(mode)`` inside the block, the flags found before it after."""
    before = _get()
    set_fp32_mode(mode)
    try:
        yield
    finally:
        _set(*before)
