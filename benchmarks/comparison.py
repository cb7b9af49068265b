"""ENOT against NOT on identical networks: seconds and FLOPs of one outer iteration of each.

Both run the training loop's own updates (`enot.training.updates`) on the networks, cost,
objective and optimisers that `enot.training.networks` builds for the loop, so they differ only
in the method. Every method gets a copy of the
same T and g and its own optimisers; their iterations alternate (paired) on one fixed batch, so
load and thermal drift hit both alike. The map's quality against time is
``benchmarks.time_to_quality``.

    python -m benchmarks.comparison --settings cpu_preset paper64 --json runs/compare.json
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.common import machine, write_json
from benchmarks.step_timing import SETTINGS
from enot.config import Config
from enot.optim import finite_means
from enot.training.networks import (
    build_networks,
    convexity_from,
    cost_from,
    objective_from,
    optimisers_from,
)
from enot.training.updates import enot_update, not_map_updates, not_potential_update

METHODS = ("enot", "not")


def method_config(cfg: Config, method: str) -> Config:
    """``cfg`` with its method set to ``method`` (one of the loop's)."""
    cfg = copy.deepcopy(cfg)
    cfg.method.method = method
    return cfg


def outer_iteration(method: str, nets: tuple, x, y, cfg: Config, t_iters: int) -> None:
    """One outer iteration of ``method`` on (T, g, opt_T, opt_g), by the training loop's own
    updates (``enot.training.updates``), gradient norms and the finite check included; NOT's K
    map updates all on ``x``."""
    T, g, opt_t, opt_g = nets
    cfg = method_config(cfg, method)
    cost, backward = cost_from(cfg), torch.autograd.backward
    if method == "enot":
        enot_update(T, g, opt_t, opt_g, x, y, objective_from(cfg, cost), backward, finite_means)
        return
    not_map_updates(T, g, opt_t, [x] * t_iters, cost, backward, finite_means)
    alpha, k = convexity_from(cfg, y.shape)
    not_potential_update(T, g, opt_g, x, y, cost, alpha, k, backward, finite_means)


def time_outer_iterations(name: str, cfg: Config, t_iters: int, repeats: int) -> dict:
    """Median seconds and counted FLOPs of one outer iteration of ENOT and of NOT (K =
    ``t_iters``), paired on one batch, each from a copy of the same networks."""
    torch.manual_seed(0)
    T0, g0 = build_networks(cfg)
    size, batch = cfg.data.image_size, cfg.train.batch_size
    gen = torch.Generator().manual_seed(0)
    x, y = (torch.rand(batch, 3, size, size, generator=gen) * 2 - 1 for _ in "xy")
    nets = {}
    for m in METHODS:
        T, g = copy.deepcopy(T0).train(), copy.deepcopy(g0).train()
        opt_t, _, opt_g, _ = optimisers_from(cfg, T, g, 1)
        nets[m] = (T, g, opt_t, opt_g)
    flops, times = {}, {m: [] for m in METHODS}
    for m in METHODS:  # one counted iteration each, which also warms up the allocator
        with FlopCounterMode(display=False) as counter:
            outer_iteration(m, nets[m], x, y, cfg, t_iters)
        flops[m] = counter.get_total_flops()
    for _ in range(repeats):
        for m in METHODS:
            t0 = time.perf_counter()
            outer_iteration(m, nets[m], x, y, cfg, t_iters)
            times[m].append(time.perf_counter() - t0)
    seconds = {m: statistics.median(v) for m, v in times.items()}
    row = {"setting": name, "px": size, "batch": batch, "t_iters": t_iters, "repeats": repeats}
    row |= {"t_base": cfg.t_net.base_channels, "g_nfilter": cfg.g_net.nfilter}
    ratios = {"ratio": seconds["not"] / seconds["enot"], "flop_ratio": flops["not"] / flops["enot"]}
    return row | {"seconds": seconds, "flops": flops} | ratios


def main(argv: list[str] | None = None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--settings", nargs="+", choices=sorted(SETTINGS), default=["cpu_preset", "paper64"]
    )
    p.add_argument("--repeats", type=int, default=0, help="default: 10 at 32 px, 1 above")
    p.add_argument("--t-iters", type=int, default=10, help="NOT's T updates per g update (K)")
    p.add_argument("--json", help="write the machine and the rows here")
    args = p.parse_args(argv)
    print(machine(), flush=True)
    print(
        f"{'setting':<14} {'px':>4} {'batch':>5} {'ENOT s':>8} {'NOT s (K)':>12} {'NOT/ENOT':>8} "
        f"{'ENOT GFLOP':>10} {'NOT GFLOP':>10} {'FLOP ratio':>10}"
    )
    rows = []
    for name in args.settings:
        cfg = SETTINGS[name]()
        repeats = args.repeats or (10 if cfg.data.image_size <= 32 else 1)
        r = time_outer_iterations(name, cfg, args.t_iters, repeats)
        rows.append(r)
        not_s = f"{r['seconds']['not']:.3f} ({r['t_iters']})"
        print(
            f"{name:<14} {r['px']:>4} {r['batch']:>5} {r['seconds']['enot']:>8.3f} {not_s:>12} "
            f"{r['ratio']:>7.2f}x {r['flops']['enot'] / 1e9:>10.1f} "
            f"{r['flops']['not'] / 1e9:>10.1f} {r['flop_ratio']:>9.2f}x",
            flush=True,
        )
    write_json(args.json, {"command": sys.argv, "machine": machine(), "rows": rows})
    return rows


if __name__ == "__main__":
    main()
