"""What the expectile regulariser alone makes of the dual, on a task's real samples.

ENOT's potential loss, L_g = -(mean g + mean g*) + lambda * mean L_tau(g*(x) + g(y) - c(x, y)),
counts on T to make g* the c-transform of g: then g*(x) + g(y) <= c(x, y) for every pair, and
the dual cannot exceed the OT cost. Where T does not track g's argmin, g* is free, and only the
regulariser holds it. This script solves that case exactly on the samples: free values f_i
(for g*) and g_j, over all N x N pairs (what random batch pairs sample), stationary where
mean_i w(u_ij) u_ij = 1 / (2 lambda) for every j and the same for every i (w = tau where u >= 0,
else 1 - tau). It prints that regularised dual beside the exact OT cost of the same samples:
the value a runaway dual climbs toward.

    python -m benchmarks.expectile_dual --preset emoji_32 --max-samples 1500
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from enot.config import get_preset
from enot.evaluation.held_out import data_from_config
from enot.evaluation.ot_reference import ot_reference
from enot.evaluation.ot_reference_data import load_domain
from enot.ot_plan import cost_matrix


def _solve_rows(c: np.ndarray, other: np.ndarray, tau: float, lam: float) -> np.ndarray:
    """For each row i, the v solving mean_j w(u) u = 1/(2 lam), u = v + other_j - c_ij, by
    bisection (the left side rises with v)."""
    base = c - other[None, :]  # u = v - base
    lo, hi = base.min(1) - 1.0, base.max(1) + 1.0 / lam
    for _ in range(50):
        mid = (lo + hi) / 2
        u = mid[:, None] - base
        value = (np.where(u >= 0, tau, 1 - tau) * u).mean(1)
        below = value < 1 / (2 * lam)
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return (lo + hi) / 2


def regularised_dual(c: np.ndarray, tau: float, lam: float, sweeps: int = 60) -> float:
    """mean f + mean g at the stationary point of the regularised dual with free f, g."""
    f, g = np.zeros(c.shape[0]), np.zeros(c.shape[1])
    for _ in range(sweeps):
        f = _solve_rows(c, g, tau, lam)
        g = _solve_rows(c.T, f, tau, lam)
    return float(f.mean() + g.mean())


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="emoji_32")
    p.add_argument("--max-samples", type=int, default=1500, help="train images per domain")
    p.add_argument("--taus", default="0.9,0.98,0.99,0.999")
    p.add_argument("--lams", default="0.1,1,10")
    a = p.parse_args(argv)
    cfg = get_preset(a.preset)
    data = data_from_config(cfg)
    x = load_domain(data, "source", "train", a.max_samples).images
    y = load_domain(data, "target", "train", a.max_samples).images
    c = cost_matrix(x, y, cfg.method.cost)
    ref = ot_reference(x, y, cfg.method.cost)
    print(f"{a.preset}, {len(x)} train images a side, cost {cfg.method.cost}")
    print(f"exact OT {ref.optimal:.3f}; random pairs {c.mean():.3f}")
    print("| tau | lambda | regularised dual, free g* | / exact OT | seconds |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for tau in map(float, a.taus.split(",")):
        for lam in map(float, a.lams.split(",")):
            start = time.perf_counter()
            w = regularised_dual(c, tau, lam)
            seconds = time.perf_counter() - start
            print(f"| {tau} | {lam:g} | {w:.3f} | {w / ref.optimal:.2f} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
