"""Benchmarks, each with its own command. Figures in README and issue notes come from here.

    python scripts/benchmark.py step            # ENOT step time, GFLOP/s, lean vs naive passes
    python scripts/benchmark.py step --settings cpu_preset --repeats 20
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from enot.config import Config, get_preset  # noqa: E402
from enot.costs import get_cost  # noqa: E402
from enot.networks import build_networks  # noqa: E402
from enot.step import enot_step, naive_enot_step  # noqa: E402

SETTINGS = {
    "cpu_preset": lambda: get_preset("colored_mnist"),
    "paper64": Config,  # the dataclass defaults are the paper's 64 px setting: U-Net 48, batch 64
}


def _time_steps(step_fn, T, g, cfg: Config, repeats: int) -> float:
    size, batch = cfg.data.image_size, cfg.train.batch_size
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(batch, 3, size, size, generator=gen) * 2 - 1
    y = torch.rand(batch, 3, size, size, generator=gen) * 2 - 1
    cost = get_cost(cfg.enot.cost)
    opts = [torch.optim.AdamW(m.parameters(), lr=1e-5) for m in (T, g)]

    def one():
        for o in opts:
            o.zero_grad(set_to_none=True)
        step_fn(T, g, x, y, cost, cfg.enot.tau, cfg.enot.lam)
        for o in opts:
            o.step()

    one()  # warm-up: allocator and oneDNN primitive caches
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        one()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


def _flops(step_fn, T, g, cfg: Config) -> int:
    size, batch = cfg.data.image_size, cfg.train.batch_size
    x = torch.zeros(batch, 3, size, size)
    with FlopCounterMode(display=False) as counter:
        step_fn(T, g, x, x.clone(), get_cost(cfg.enot.cost), cfg.enot.tau, cfg.enot.lam)
    return counter.get_total_flops()


def bench_step(args: argparse.Namespace) -> None:
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device cpu")
    print(f"{'setting':<11} {'px':>4} {'batch':>5} {'T base':>6} {'g nf':>5} {'variant':<6} "
          f"{'s/step':>8} {'GFLOP/step':>10} {'GFLOP/s':>8}")
    for name in args.settings:
        cfg = SETTINGS[name]()
        torch.manual_seed(0)
        T, g = build_networks(cfg)
        T.train()
        g.train()
        repeats = args.repeats if args.repeats else (20 if cfg.data.image_size <= 32 else 3)
        results = {}
        for variant, fn in (("naive", naive_enot_step), ("lean", enot_step)):
            flops = _flops(fn, T, g, cfg)
            sec = _time_steps(fn, T, g, cfg, repeats)
            results[variant] = sec
            print(f"{name:<11} {cfg.data.image_size:>4} {cfg.train.batch_size:>5} "
                  f"{cfg.t_net.t_base_channels:>6} {cfg.g_net.g_nfilter:>5} {variant:<6} "
                  f"{sec:>8.3f} {flops / 1e9:>10.1f} {flops / 1e9 / sec:>8.1f}", flush=True)
        print(f"{name:<11} lean/naive time ratio {results['lean'] / results['naive']:.3f} "
              f"(speed-up {results['naive'] / results['lean']:.2f}x), median of {repeats}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("step", help="ENOT step time and achieved GFLOP/s, lean vs naive")
    s.add_argument("--settings", nargs="+", choices=sorted(SETTINGS),
                   default=["cpu_preset", "paper64"])
    s.add_argument("--repeats", type=int, default=0,
                   help="timed steps per variant (default: 20 at 32 px, 3 at 64 px)")
    s.set_defaults(func=bench_step)
    args = p.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
