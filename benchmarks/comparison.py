"""ENOT against NOT on identical networks: time per outer iteration, and the shared report.

Both measurements call the training loop's own outer iterations (`enot.methods`) on networks
built by `enot.training.networks.build_networks`, with the trainer's AdamW settings, so they
differ only in the method. `scripts/benchmark.py compare` runs them and writes the figures.

* Per iteration: one process builds T and g once; every method gets a copy of them and its own
  optimisers, and the methods' outer iterations alternate (paired) on one fixed batch, so load
  and thermal drift hit both alike. The median of each is reported with their ratio.
* Time to quality (the map's judged quality against wall time) is `benchmarks.time_to_quality`.
"""

from __future__ import annotations

import copy
import json
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch.optim import AdamW
from torch.utils.flop_counter import FlopCounterMode

from enot.config import Config
from enot.costs import get_cost
from enot.methods import enot_iteration, not_iteration
from enot.training.networks import build_networks

METHODS = ("enot", "not")


def with_method(cfg: Config, method: str, t_iters: int) -> Config:
    out = copy.deepcopy(cfg)
    out.method.method, out.method.t_iters = method, t_iters
    return out


# ---------------------------------------------------------------------------------------------
# Time per outer iteration.


@dataclass
class IterationTiming:
    setting: str
    image_size: int
    batch: int
    t_base: int
    g_nfilter: int
    t_iters: int
    repeats: int
    seconds: dict[str, float]  # median seconds per outer iteration, by method
    flops: dict[str, int]  # FLOPs of one outer iteration (torch.utils.flop_counter), by method

    @property
    def ratio(self) -> float:
        """NOT's time per outer iteration over ENOT's."""
        return self.seconds["not"] / self.seconds["enot"]

    @property
    def flop_ratio(self) -> float:
        """NOT's FLOPs per outer iteration over ENOT's: the ratio where time follows FLOPs."""
        return self.flops["not"] / self.flops["enot"]


def time_outer_iterations(name: str, cfg: Config, t_iters: int, repeats: int) -> IterationTiming:
    """Median wall seconds of one outer iteration of ENOT and of NOT (K = ``t_iters``), paired
    on one batch, each from a copy of the same networks with the trainer's AdamW."""
    torch.manual_seed(0)
    T0, g0 = build_networks(cfg)
    size, batch = cfg.data.image_size, cfg.train.batch_size
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(batch, 3, size, size, generator=gen) * 2 - 1
    y = torch.rand(batch, 3, size, size, generator=gen) * 2 - 1
    cost, e, o = get_cost(cfg.method.cost), cfg.enot, cfg.optim
    nets = {}
    for m in METHODS:
        T, g = copy.deepcopy(T0).train(), copy.deepcopy(g0).train()
        nets[m] = (
            T,
            g,
            AdamW(T.parameters(), lr=o.lr_t, betas=(o.beta1, o.beta2), weight_decay=o.weight_decay),
            AdamW(g.parameters(), lr=o.lr_g, betas=(o.beta1, o.beta2), weight_decay=o.weight_decay),
        )

    def iterate(method: str) -> None:
        if method == "enot":
            enot_iteration(*nets[method], x, y, cost, e.tau, e.lam, e.gauge)
        else:
            not_iteration(*nets[method], [x] * t_iters, x, y, cost)

    # One counted, untimed iteration per method; it also warms up the allocator and the oneDNN
    # primitives before the timed ones.
    flops: dict[str, int] = {}
    for m in METHODS:
        with FlopCounterMode(display=False) as counter:
            iterate(m)
        flops[m] = counter.get_total_flops()
    times: dict[str, list[float]] = {m: [] for m in METHODS}
    for _ in range(repeats):
        for m in METHODS:
            t0 = time.perf_counter()
            iterate(m)
            times[m].append(time.perf_counter() - t0)
    return IterationTiming(
        setting=name,
        image_size=size,
        batch=batch,
        t_base=cfg.t_net.t_base_channels,
        g_nfilter=cfg.g_net.g_nfilter,
        t_iters=t_iters,
        repeats=repeats,
        seconds={m: statistics.median(v) for m, v in times.items()},
        flops=flops,
    )


def write_report(
    out: Path,
    command: str,
    timings: list[IterationTiming],
    quality: dict | None = None,
    quality_lines: list[str] = (),
) -> tuple[Path, Path]:
    """compare.json (everything measured) and compare.md (its tables) in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    payload = {
        "command": command,
        "threads": torch.get_num_threads(),
        "timing": [{**asdict(t), "ratio": t.ratio, "flop_ratio": t.flop_ratio} for t in timings],
        "quality": quality,
    }
    json_path = out / "compare.json"
    json_path.write_text(json.dumps(payload, indent=2) + "\n")
    lines = [
        "# ENOT vs NOT",
        "",
        f"Command: `{command}` ({torch.get_num_threads()} threads, CPU)",
        "",
    ]
    if timings:
        lines += [
            "## Time per outer iteration (median, paired, same networks and batch)",
            "",
            "| setting | px | batch | T base | g nfilter | ENOT s/iter | NOT (K) s/iter | "
            "NOT / ENOT | ENOT GFLOP/iter | NOT GFLOP/iter | FLOP ratio |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for t in timings:
            lines.append(
                f"| {t.setting} | {t.image_size} | {t.batch} | {t.t_base} | "
                f"{t.g_nfilter} | {t.seconds['enot']:.3f} | {t.seconds['not']:.3f} "
                f"(K={t.t_iters}) | {t.ratio:.2f}x | {t.flops['enot'] / 1e9:.1f} | "
                f"{t.flops['not'] / 1e9:.1f} | {t.flop_ratio:.2f}x |"
            )
        lines.append("")
    lines += list(quality_lines)
    md_path = out / "compare.md"
    md_path.write_text("\n".join(lines) + "\n")
    return json_path, md_path
