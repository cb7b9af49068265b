"""What a speed or a run time was measured on: the accelerators, or the CPU model and its flags.

Read by training (the provenance of an export) and by the benchmarks (their reports), so it
imports nothing of either.
"""

from __future__ import annotations

import platform
from pathlib import Path

import torch


def cpu_model_and_flags() -> tuple[str, set[str]]:
    """The CPU's model name and its feature flags, from /proc/cpuinfo where there is one."""
    model, flags = None, set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model is None:
                model = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    except OSError:
        pass
    return model or platform.processor() or "unknown CPU", flags


def machine_description() -> str:
    """The accelerators, or the CPU model: what a speed or run time was measured on."""
    if torch.cuda.is_available():
        n = torch.cuda.device_count()
        return f"{n} x {torch.cuda.get_device_name(0)}"
    return f"CPU: {cpu_model_and_flags()[0]}, {torch.get_num_threads()} threads"
