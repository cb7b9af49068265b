"""Datasheet peaks of the GPUs this project knows, for model FLOPs utilisation (MFU).

Dense figures (no structured sparsity), FLOP/s, from NVIDIA's datasheets: "NVIDIA H100 Tensor
Core GPU" (SXM: BF16 989, TF32 494.5, FP32 66.9 TFLOPS dense; PCIe: 756, 378, 51.2), which
the H200 datasheet repeats for the H200 SXM (same processor, more memory); "NVIDIA A100 Tensor
Core GPU" (SXM: BF16 312, TF32 156, FP32 19.5; 624 and 1,979 are the bf16 figures *with*
sparsity). ``GPU_PEAK_BF16`` is what ``benchmark.py predict --gpu`` uses. A GPU not listed
here gets no MFU: its figures say "unknown" rather than borrow another card's.
"""

from __future__ import annotations

from dataclasses import dataclass

GPU_PEAK_BF16 = {"a100": 312e12, "h100": 989e12}


@dataclass(frozen=True)
class Peak:
    card: str  # the datasheet's name of the part
    bf16: float
    tf32: float
    fp32: float

    def of(self, mode: str) -> float:
        """The peak of ``mode``: "bf16", "tf32" or "fp32"."""
        return getattr(self, mode)


# Matched in order against torch.cuda.get_device_name(): the first key found in it wins.
PEAKS = (
    ("H200", Peak("H200 SXM", GPU_PEAK_BF16["h100"], 494.5e12, 66.9e12)),
    ("H100 PCIe", Peak("H100 PCIe", 756e12, 378e12, 51.2e12)),
    ("H100", Peak("H100 SXM", GPU_PEAK_BF16["h100"], 494.5e12, 66.9e12)),
    ("A100", Peak("A100 SXM", GPU_PEAK_BF16["a100"], 156e12, 19.5e12)),
)


def peak_of(device_name: str) -> Peak | None:
    """The datasheet peaks of the GPU called ``device_name``, or None when it is not listed."""
    for key, peak in PEAKS:
        if key in device_name:
            return peak
    return None
