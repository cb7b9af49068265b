"""One training step's peak memory on the device against ``benchmark.py memory``'s prediction.

The prediction is ``benchmarks.step_memory.measure_step`` on fake tensors (no data, any
machine). The measurement is the same step on real tensors on the device: on CUDA,
``torch.cuda.max_memory_allocated`` over it, which adds the caching allocator's rounding and
cuDNN's workspaces to what the step itself holds; where there is no CUDA, the same counter on
real CPU tensors, which checks the count and not an allocator.
"""

from __future__ import annotations

import gc
import time

import torch

MiB = 2**20


def _key(cfg) -> tuple:
    """Presets that build the same networks at the same batch and precision peak alike."""
    return (
        cfg.data.image_size,
        cfg.train.batch_size,
        cfg.t_net.t_base_channels,
        cfg.g_net.g_nfilter,
        cfg.g_net.g_nfilter_max,
        cfg.train.mixed_precision,
    )


def measured_peak(cfg, device: str) -> tuple[int, str]:
    """(bytes, what measured them) of one real training step of ``cfg`` on ``device``."""
    from benchmarks.step_memory import measure_step

    if device != "cuda":
        return measure_step(cfg, fake=False).peak, "the step's own counter on real CPU tensors"
    gc.collect()
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    measure_step(cfg, fake=False, device="cuda")
    peak = torch.cuda.max_memory_allocated() - base
    gc.collect()
    torch.cuda.empty_cache()
    return peak, "torch.cuda.max_memory_allocated"


def measure(configs: dict, precisions: tuple[str, ...], device: str, deadline: float) -> dict:
    """Rows of predicted and measured MiB for each of ``configs`` ({name: Config}) in each
    precision; presets whose step is the same share one row."""
    from benchmarks.step_memory import measure_step
    from enot.config import Config

    groups: dict[tuple, tuple[list[str], object]] = {}
    for name, base in configs.items():
        for precision in precisions:
            cfg = Config.from_dict(base.to_dict())
            cfg.train.mixed_precision = precision
            groups.setdefault(_key(cfg), ([], cfg))[0].append(name)
    rows = []
    for names, cfg in groups.values():
        r = {
            "presets": names,
            "px": cfg.data.image_size,
            "batch": cfg.train.batch_size,
            "precision": "fp32" if cfg.train.mixed_precision == "no" else "bf16",
        }
        if time.monotonic() > deadline:
            rows.append({**r, "status": "skipped", "reason": "over the section's budget"})
            continue
        predicted = measure_step(cfg)
        try:
            measured, how = measured_peak(cfg, device)
        except torch.cuda.OutOfMemoryError as e:
            rows.append(
                {
                    **r,
                    "status": "failed",
                    "reason": f"out of memory: {e}"[:300],
                    "predicted_mib": predicted.peak / MiB,
                }
            )
            continue
        rows.append(
            {
                **r,
                "status": "ok",
                "predicted_mib": predicted.peak / MiB,
                "measured_mib": measured / MiB,
                "measured_by": how,
                "measured_over_predicted": measured / predicted.peak,
                "activations_mib": predicted.activations / MiB,
            }
        )
    return {"rows": rows}
