"""The paper's ENOT step on one device in five modes, each adding one thing to the one before:
float32, TF32, bf16 autocast, channels-last, torch.compile. Per mode: ms per step, images/s,
achieved TFLOP/s and MFU against the card's datasheet peak; per size, what
``benchmark.py predict`` assumed (FLOPs / (0.35 x the bf16 peak)) beside the best measured.

The step is ``benchmarks.step_timing.time_steps``'s (the lean ENOT step and both AdamW updates,
median of the timed steps) and its FLOPs ``step_flops``'s (counted on the meta device).
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass

import torch

from benchmarks.gpu_peaks import Peak
from benchmarks.gpu_precision import fp32_mode

PAPER_STEPS = 120_000  # the paper's run length at 64 and 128 px (App. C)


@dataclass(frozen=True)
class Mode:
    name: str
    what: str
    fp32: str  # "ieee" or "tf32": how what stays float32 is computed on CUDA
    bf16: bool
    channels_last: bool
    compile: bool
    cuda_only: bool  # TF32 and inductor's Triton kernels exist on CUDA only
    min_seconds: float  # time it needs at least (a compile costs a minute), to fit a budget

    @property
    def peak_mode(self) -> str:
        return "bf16" if self.bf16 else "tf32" if self.fp32 == "tf32" else "fp32"


MODES = (
    Mode(
        "fp32",
        "float32, TF32 off (IEEE matmuls and convolutions)",
        "ieee",
        False,
        False,
        False,
        False,
        5.0,
    ),
    Mode("tf32", "float32 on TF32 tensor cores", "tf32", False, False, False, True, 5.0),
    Mode(
        "bf16", "bf16 autocast, TF32 for what stays float32", "tf32", True, False, False, False, 5.0
    ),
    Mode(
        "bf16_cl",
        "bf16 + channels-last weights (the trainer's default)",
        "tf32",
        True,
        True,
        False,
        False,
        5.0,
    ),
    Mode(
        "bf16_compile",
        "bf16 + channels-last + torch.compile (inductor, static shapes)",
        "tf32",
        True,
        True,
        True,
        True,
        45.0,
    ),
)


def time_mode(cfg, mode: Mode, device: str, repeats: int, warmup: int) -> float:
    """Median seconds of one step of ``cfg``'s networks and batch in ``mode`` on ``device``."""
    from benchmarks.step_timing import time_steps
    from enot.config import Config
    from enot.step import enot_step
    from enot.training.networks import build_networks

    cfg = Config.from_dict(cfg.to_dict())
    cfg.train.channels_last = mode.channels_last
    torch.manual_seed(0)
    T, g = (m.to(device).train() for m in build_networks(cfg))
    if mode.compile:
        T, g = (torch.compile(m, dynamic=False) for m in (T, g))
    try:
        with fp32_mode(mode.fp32):
            return time_steps(
                enot_step,
                T,
                g,
                cfg,
                repeats,
                device=device,
                precision="bf16" if mode.bf16 else "no",
                warmup=max(warmup, 3) if mode.compile else warmup,
            )
    finally:
        del T, g
        if mode.compile:
            torch._dynamo.reset()
        gc.collect()
        if device == "cuda":
            torch.cuda.empty_cache()


def row(setting: str, cfg, mode: Mode, flops: int, seconds: float, peak: Peak | None) -> dict:
    batch = cfg.train.batch_size
    achieved = flops / seconds
    return {
        "setting": setting,
        "px": cfg.data.image_size,
        "batch": batch,
        "mode": mode.name,
        "what": mode.what,
        "status": "ok",
        "ms_per_step": seconds * 1e3,
        "images_per_s": 2 * batch / seconds,
        "tflops": achieved / 1e12,
        "mfu_bf16_peak": achieved / peak.bf16 if peak else None,
        "mfu_own_peak": achieved / peak.of(mode.peak_mode) if peak else None,
        "own_peak": mode.peak_mode,
    }


def prediction(setting: str, cfg, flops: int, peak: Peak | None, rows: list[dict]) -> dict:
    """``benchmark.py predict``'s compute time per step beside the fastest measured mode."""
    from benchmarks.data_feed import DEFAULT_MFU

    done = [r for r in rows if r["setting"] == setting and r["status"] == "ok"]
    best = min(done, key=lambda r: r["ms_per_step"]) if done else None
    bf16 = [r for r in done if r["mode"].startswith("bf16")]
    best_bf16 = max((r["mfu_bf16_peak"] or 0 for r in bf16), default=None) if peak else None
    predicted_ms = flops / (DEFAULT_MFU * peak.bf16) * 1e3 if peak else None
    return {
        "setting": setting,
        "px": cfg.data.image_size,
        "gflop_per_step": flops / 1e9,
        "assumed_mfu": DEFAULT_MFU,
        "predicted_ms": predicted_ms,
        "predicted_hours": predicted_ms * PAPER_STEPS / 3.6e6 if predicted_ms else None,
        "best_mode": best["mode"] if best else None,
        "best_ms": best["ms_per_step"] if best else None,
        "best_hours": best["ms_per_step"] * PAPER_STEPS / 3.6e6 if best else None,
        "best_bf16_mfu": best_bf16,
    }


def measure(
    settings: dict, device: str, peak: Peak | None, deadline: float, repeats: int, warmup: int
) -> dict:
    """Every mode of every setting that fits before ``deadline`` (time.monotonic()).

    Eager modes of all settings first, the compiled ones last: a compile costs the most, and
    is the first thing to drop when time runs short.
    """
    from benchmarks.step_timing import step_flops

    flops = {name: step_flops(cfg) for name, cfg in settings.items()}
    order = sorted(((s, m) for s in settings for m in MODES), key=lambda sm: sm[1].compile)
    rows = []
    for setting, mode in order:
        cfg = settings[setting]
        skip = {
            "setting": setting,
            "px": cfg.data.image_size,
            "batch": cfg.train.batch_size,
            "mode": mode.name,
            "what": mode.what,
        }
        if mode.cuda_only and device != "cuda":
            rows.append({**skip, "status": "skipped", "reason": "no CUDA"})
            continue
        left = deadline - time.monotonic()
        if left < mode.min_seconds:
            rows.append(
                {
                    **skip,
                    "status": "skipped",
                    "reason": f"over the section's budget "
                    f"({left:.0f} s left, needs about {mode.min_seconds:.0f} s)",
                }
            )
            continue
        try:
            seconds = time_mode(cfg, mode, device, repeats, warmup)
        except Exception as e:  # one mode failing (a compile, say) must not hide the others
            rows.append({**skip, "status": "failed", "reason": f"{type(e).__name__}: {e}"[:500]})
            continue
        rows.append(row(setting, cfg, mode, flops[setting], seconds, peak))
    rows.sort(
        key=lambda r: (list(settings).index(r["setting"]), [m.name for m in MODES].index(r["mode"]))
    )
    return {
        "rows": rows,
        "repeats": repeats,
        "warmup": warmup,
        "predict": [prediction(s, settings[s], flops[s], peak, rows) for s in settings],
    }
