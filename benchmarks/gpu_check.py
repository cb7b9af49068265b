"""``scripts/benchmark.py gpu``: one command that checks and times the CUDA path on whatever GPU
a session is lent, and writes ``gpu_check.json`` and ``gpu_check.md``.

Sections, in order, each with its share of the time budget: the machine; correctness (the
``cuda`` pytest tier, in a subprocess); speed (the 64 and 128 px paper steps in five modes);
memory (each paper preset's step, allocated against predicted); the data feed (packed and
folder loaders against the measured step's need); a real short training with its judgement.
A section that fails or does not fit is recorded with its reason, and the others still run.
Everything past the machine section imports the project lazily, so a machine without one of
its dependencies gets a report that names it.

``--quick`` runs every section on the CPU with tiny shapes, in about a minute: the CUDA-only
parts say "skipped: no CUDA", the rest runs for real. The suite runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

import torch

from benchmarks import gpu_machine

# Shares of --budget; the training takes what the sections before it leave (at least 0.31).
SHARES = {"machine": 0.02, "correctness": 0.30, "speed": 0.24, "memory": 0.05, "data": 0.08}


class SectionSkipped(Exception):
    """A section that cannot run here, for the reason given."""


def _settings(quick: bool) -> dict:
    from enot.config import Config, get_preset

    if not quick:
        return {"paper64": Config(), "paper128": get_preset("celeba2anime_128")}
    settings = {}
    for px in (16, 32):
        cfg = get_preset("colored_mnist")
        cfg.data.image_size, cfg.train.batch_size = px, 2
        cfg.t_net.t_base_channels, cfg.g_net.g_nfilter = 4, 4
        settings[f"tiny{px}"] = cfg
    return settings


class Check:
    """The sections' shared state: arguments, device, deadlines and the results so far."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.quick = args.quick
        self.device = "cuda" if torch.cuda.is_available() and not args.quick else "cpu"
        self.out = Path(args.out)
        self.work = Path(args.work or tempfile.mkdtemp(prefix="enot_gpu_check_"))
        self.start = time.monotonic()
        self.end = self.start + args.budget
        self.results: dict[str, dict] = {}

    def budget(self, name: str) -> float:
        if name == "training":
            return max(self.end - time.monotonic(), 30.0)
        return SHARES[name] * self.args.budget

    def ok(self, name: str) -> dict | None:
        r = self.results.get(name)
        return r["result"] if r and r["status"] in ("ok", "partial") else None

    # The sections. Each returns its result; raising records the section as failed.

    def machine(self, deadline: float) -> dict:
        return gpu_machine.describe()

    def correctness(self, deadline: float) -> dict:
        from benchmarks.gpu_tier import run_tier

        return run_tier(self.work / "cuda_tier.xml", deadline - time.monotonic())

    def speed(self, deadline: float) -> dict:
        from benchmarks.gpu_peaks import peak_of
        from benchmarks.gpu_speed import measure

        name = torch.cuda.get_device_name(0) if self.device == "cuda" else ""
        peak = peak_of(name) if name else None
        r = measure(
            _settings(self.quick),
            self.device,
            peak,
            deadline,
            repeats=2 if self.quick else 20,
            warmup=1 if self.quick else 3,
        )
        r["peak"] = (
            None
            if peak is None
            else {
                "card": peak.card,
                "bf16_tflops": peak.bf16 / 1e12,
                "tf32_tflops": peak.tf32 / 1e12,
                "fp32_tflops": peak.fp32 / 1e12,
            }
        )
        r["peak_reason"] = (
            None
            if peak
            else (f"unknown: no datasheet peak for {name}" if name else "unknown: no GPU")
        )
        return r

    def memory(self, deadline: float) -> dict:
        from benchmarks.gpu_memory import measure
        from benchmarks.gpu_scale import PAPER_PRESETS
        from enot.config import get_preset

        if self.quick:  # counting on fake tensors costs seconds whatever the size
            return measure({"tiny16": _settings(True)["tiny16"]}, ("bf16",), self.device, deadline)
        return measure(
            {p: get_preset(p) for p in PAPER_PRESETS}, ("no", "bf16"), self.device, deadline
        )

    def data(self, deadline: float) -> dict:
        from benchmarks.gpu_feed import measure, step_need

        px, batch = (32, 16) if self.quick else (64, 64)
        need, source = step_need(self.ok("speed"), px, batch)
        cores = os.cpu_count() or 1
        workers = (1,) if self.quick else tuple(sorted({min(w, cores) for w in (4, 8, 16)}))
        r = measure(
            self.work / "data",
            128 if self.quick else 1500,
            px,
            workers,
            batch,
            64 if self.quick else 256,
            3 if self.quick else 20,
            0.0 if self.quick else 3.0,
            need,
            deadline,
            log=lambda s: None,
        )
        r["need_from"] = source
        return r

    def training(self, deadline: float) -> dict:
        from benchmarks.gpu_training import NoTask, run

        machine = self.ok("machine") or {}
        found = machine.get("inception_weights", {}).get("found", False)
        try:
            return run(
                self.quick, self.ok("speed"), self.work, self.out, deadline, found, self.device
            )
        except NoTask as e:
            raise SectionSkipped(str(e)) from None


SECTIONS = ("machine", "correctness", "speed", "memory", "data", "training")


def run_section(check: Check, name: str) -> dict:
    budget = check.budget(name)
    t0 = time.monotonic()
    try:
        result = getattr(check, name)(t0 + budget)
        rows = result.get("rows", []) + result.get("tests", [])
        status = (
            "partial"
            if any(r.get("status") == "skipped" and "budget" in r.get("reason", "") for r in rows)
            else "ok"
        )
        entry = {"status": status, "result": result}
    except SectionSkipped as e:
        entry = {"status": "skipped", "reason": str(e)}
    except Exception as e:  # recorded, so that the sections after it still run
        missing = getattr(e, "name", None) if isinstance(e, ImportError) else None
        reason = (
            f"missing module {missing} (carry its wheel: docs/gpu.md): {e}"
            if missing
            else f"{type(e).__name__}: {e}"
        )
        entry = {
            "status": "failed",
            "reason": reason[:2000],
            "traceback": traceback.format_exc()[-3000:],
        }
    entry.update(seconds=time.monotonic() - t0, budget_s=budget)
    check.results[name] = entry
    print(
        f"{name}: {entry['status']} in {entry['seconds']:.0f} s (budget {budget:.0f} s)"
        + (f": {entry['reason']}" if "reason" in entry else ""),
        flush=True,
    )
    return entry


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="benchmark.py gpu", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--out",
        default="runs/gpu_check",
        help="folder for gpu_check.json, "
        "gpu_check.md and the export's parts (on a device machine: $OUT)",
    )
    p.add_argument(
        "--work",
        help="folder for generated data and the training run (default: a new temporary folder)",
    )
    p.add_argument(
        "--budget",
        type=float,
        default=450.0,
        help="seconds for the whole check; each section gets its share",
    )
    p.add_argument(
        "--sections",
        nargs="+",
        choices=SECTIONS[1:],
        default=list(SECTIONS[1:]),
        help="the sections to run (the machine is always described)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="every section on the CPU with tiny shapes (about a minute)",
    )
    args = p.parse_args(argv)
    check = Check(args)
    check.out.mkdir(parents=True, exist_ok=True)
    check.work.mkdir(parents=True, exist_ok=True)
    for name in SECTIONS:
        if name == "machine" or name in args.sections:
            run_section(check, name)
        else:
            check.results[name] = {
                "status": "skipped",
                "reason": "not in --sections",
                "seconds": 0.0,
                "budget_s": 0.0,
            }
    from benchmarks.gpu_report import markdown

    argv = sys.argv[1:] if argv is None else argv
    report = {
        "command": "python scripts/benchmark.py gpu " + " ".join(argv),
        "quick": args.quick,
        "device": check.device,
        "budget_s": args.budget,
        "seconds": time.monotonic() - check.start,
        "sections": check.results,
    }
    (check.out / "gpu_check.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    (check.out / "gpu_check.md").write_text(markdown(report))
    print(
        f"written: {check.out / 'gpu_check.json'}, {check.out / 'gpu_check.md'} "
        f"({report['seconds']:.0f} s)"
    )
    tier = check.ok("correctness") or {}
    failed = tier.get("failed", 0) or any(r["status"] == "failed" for r in check.results.values())
    return 1 if failed else 0
