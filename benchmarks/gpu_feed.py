"""The data feed on the GPU's host: packed and folder loaders with several worker counts,
against what the measured step needs.

A step consumes one batch per domain, and each domain has its own loader, so one loader must
supply ``batch / step seconds`` images/s. The step is the fastest bf16 step the speed section
measured at this size (else ``benchmark.py predict``'s assumed one). The goal is a packed
loader at twice that.
"""

from __future__ import annotations

import time
from pathlib import Path

FORMATS = ("packed", "ffhq_folder")  # the project's packed .npy, and a folder of 256 px JPEGs
GOAL = 2.0  # packed data at >= 2x what the step needs


def step_need(speed: dict | None, px: int, batch: int) -> tuple[float | None, str]:
    """(images/s one domain's loader must supply, where the step time comes from): the
    measured step's batch per domain over its seconds."""
    rows = [r for r in (speed or {}).get("rows", []) if r["status"] == "ok" and r["px"] == px]
    bf16 = [r for r in rows if r["mode"].startswith("bf16")] or rows
    if bf16:
        best = min(bf16, key=lambda r: r["ms_per_step"])
        return best["batch"] / (best["ms_per_step"] / 1e3), (
            f"{best['ms_per_step']:.1f} ms, the {best['mode']} step measured at {px} px "
            f"(batch {best['batch']})"
        )
    predicted = [p for p in (speed or {}).get("predict", []) if p["px"] == px and p["predicted_ms"]]
    if predicted:
        ms = predicted[0]["predicted_ms"]
        return batch / (ms / 1e3), f"{ms:.1f} ms, predict's step at {px} px (none measured)"
    return None, f"unknown: no step was measured or predicted at {px} px"


def measure(
    root: Path,
    images: int,
    px: int,
    workers: tuple[int, ...],
    batch: int,
    ffhq_side: int,
    min_batches: int,
    min_seconds: float,
    need: float | None,
    deadline: float,
    log=print,
) -> dict:
    """Images/s of one domain's training loader per format and worker count."""
    from benchmarks import data_feed as feed

    specs = feed.prepare(root, images, (px,), ffhq_side, log=log, formats=FORMATS)
    rows = []
    for fmt in FORMATS:
        for n in workers:
            r = {"format": fmt, "px": px, "workers": n, "batch": batch}
            if time.monotonic() > deadline:
                rows.append({**r, "status": "skipped", "reason": "over the section's budget"})
                continue
            kind, spec = specs[fmt, px]
            f = feed.measure(
                fmt,
                kind,
                spec,
                px,
                n,
                batch=batch,
                min_batches=min_batches,
                min_seconds=min_seconds,
            )
            rows.append(
                {
                    **r,
                    "status": "ok",
                    "images_per_s": f.rate,
                    "first_batch_s": f.first_batch_s,
                    "timed_batches": f.batches,
                    "over_need": f.rate / need if need else None,
                }
            )
    packed = [r["over_need"] for r in rows if r["format"] == "packed" and r.get("over_need")]
    return {
        "rows": rows,
        "need_per_domain": need,
        "images": images,
        "goal": GOAL,
        "packed_best_over_need": max(packed) if packed else None,
    }
