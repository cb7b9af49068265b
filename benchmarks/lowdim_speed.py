"""The step time of the low-dimensional solver (`enot.fit`): its step, as `fit` builds it
(`enot.lowdim.solver.stepper`), with the map's gradient by autograd, by the hand-written MLP
gradient, and compiled; and where the eager step's time goes (torch.profiler).

    python -m benchmarks.lowdim speed [--speed-dim 64] [--speed-width 512] [--profile]
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import torch

from enot.lowdim import FitConfig
from enot.lowdim.costs import HALF_SQ_L2
from enot.lowdim.maps import GradientMap
from enot.lowdim.networks import potential
from enot.lowdim.solver import stepper


def speed(repeats: int, with_compile: bool, dim: int, profile: bool, width: int | None) -> None:
    cfg = FitConfig() if width is None else FitConfig(hidden=(width,) * 3)
    widths = list(cfg.widths(dim))
    print(f"\n### Step time, D={dim}, batch 1024, MLP {widths}, bidirectional half squared L2\n")
    print(f"{torch.get_num_threads()} torch threads; median of {repeats} steps after 3 warm-up\n")
    print("| variant | ms/step | step/s |")
    print("| --- | --- | --- |")
    torch.manual_seed(0)
    d = dim
    f, g = potential(cfg, d), potential(cfg, d)
    x, y = torch.randn(1024, d), torch.randn(1024, d)
    eager = dataclasses.replace(cfg, compile=False)
    autograd = stepper(GradientMap(f, HALF_SQ_L2, fused=False), g, HALF_SQ_L2, eager)
    fused = stepper(GradientMap(f, HALF_SQ_L2, fused=True), g, HALF_SQ_L2, eager)
    variants = {
        "autograd grad f (create_graph), lean step": lambda: autograd(x, y),
        "hand-written grad f (mlp_gradient), lean step": lambda: fused(x, y),
    }
    if with_compile:  # what fit(..., compile=True) runs
        compiled = stepper(
            GradientMap(f, HALF_SQ_L2, fused=True),
            g,
            HALF_SQ_L2,
            dataclasses.replace(cfg, compile=True),
        )
        variants["hand-written grad f, torch.compile, one backward"] = lambda: compiled(x, y)
    for name, run in variants.items():
        start = time.perf_counter()
        for _ in range(3):
            run()
        warm = time.perf_counter() - start
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            run()
            times.append(time.perf_counter() - t0)
        ms = 1e3 * float(np.median(times))
        note = f" (first 3 calls incl. compile {warm:.0f} s)" if "compile" in name else ""
        print(f"| {name}{note} | {ms:.1f} | {1e3 / ms:.2f} |", flush=True)
    if profile:
        print(profile_step(variants["hand-written grad f (mlp_gradient), lean step"], repeats))


def profile_step(run, repeats: int) -> str:
    """Where the eager step's time goes: torch.profiler's operators, grouped by kind."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    groups = {
        "matrix products (mm, addmm, bmm)": ("aten::mm", "aten::addmm", "aten::bmm"),
        "activation and its derivative (elu, elu_backward, where, lt, clamp)": (
            "aten::elu",
            "aten::elu_backward",
            "aten::where",
            "aten::lt",
            "aten::clamp",
            "aten::clamp_max",
        ),
    }
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(repeats):
            run()
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    shares = {
        name: sum(e.self_cpu_time_total for e in events if e.key in ops) / total
        for name, ops in groups.items()
    }
    lines = ["", "| where the eager step's time goes (self CPU time) | share |", "| --- | --- |"]
    lines += [f"| {name} | {100 * share:.0f}% |" for name, share in shares.items()]
    lines.append(
        f"| everything else (elementwise ops, copies, autograd) | "
        f"{100 * (1 - sum(shares.values())):.0f}% |"
    )
    top = sorted(events, key=lambda e: -e.self_cpu_time_total)[:8]
    lines += [
        "",
        "top operators: "
        + ", ".join(f"{e.key} {100 * e.self_cpu_time_total / total:.0f}%" for e in top),
    ]
    return "\n".join(lines)
