"""ENOT against NOT on identical networks: time per outer iteration, and the shared report.

Both measurements call the trainer's own outer iterations (`enot.methods`) on networks built by
`enot.training.networks.build_networks`, with the trainer's AdamW settings, so they differ only in the
method. `scripts/benchmark.py compare` runs them and writes the figures.

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
from typing import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import Tensor
from torch.optim import AdamW
from torch.utils.flop_counter import FlopCounterMode

from enot.config import Config
from enot.guards import NonFiniteError, adamw, find_non_finite
from enot.methods import METHODS, MethodContext, OuterIteration
from enot.training.networks import build_networks


def with_method(cfg: Config, method: str, t_iters: int) -> Config:
    out = copy.deepcopy(cfg)
    out.method.method, out.method.t_iters = method, t_iters
    return out


def _optimisers(cfg: Config, T: torch.nn.Module, g: torch.nn.Module) -> tuple[AdamW, AdamW]:
    """The trainer's optimisers; their lr is set by the caller (time-budgeted cosine)."""
    o = cfg.optim
    return (adamw(T.parameters(), o.lr_t, (o.beta1, o.beta2), o.weight_decay),
            adamw(g.parameters(), o.lr_g, (o.beta1, o.beta2), o.weight_decay))


def _check(named: dict[str, Tensor]) -> dict[str, float]:
    bad = find_non_finite(list(named), torch.stack([v.detach().float() for v in named.values()]))
    if bad is not None:
        raise NonFiniteError(f"{bad[0]} = {bad[1]} in the comparison run")
    return {k: v.item() for k, v in named.items()}


def context_for(cfg: Config, T, g, source: Callable[[], Tensor], target: Callable[[], Tensor]) -> MethodContext:
    opt_t, opt_g = _optimisers(cfg, T, g)
    return MethodContext(T=T, g=g, g_unwrapped=g, opt_t=opt_t, opt_g=opt_g, next_source=source,
                next_target=target, backward=torch.autograd.backward, check=_check)


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


def time_outer_iterations(name: str, cfg: Config, t_iters: int, repeats: int,
                          methods: tuple[str, ...] = ("enot", "not")) -> IterationTiming:
    """Median wall seconds of one outer iteration per method, paired on one batch."""
    torch.manual_seed(0)
    T0, g0 = build_networks(cfg)
    size, batch = cfg.data.image_size, cfg.train.batch_size
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(batch, 3, size, size, generator=gen) * 2 - 1
    y = torch.rand(batch, 3, size, size, generator=gen) * 2 - 1
    runs: dict[str, tuple[OuterIteration, MethodContext]] = {}
    for m in methods:
        mcfg = with_method(cfg, m, t_iters)
        T, g = copy.deepcopy(T0).train(), copy.deepcopy(g0).train()
        runs[m] = (METHODS[m].build(mcfg, torch.device("cpu")),
                   context_for(mcfg, T, g, lambda: x, lambda: y))
    # One counted, untimed iteration per method; it also warms up the allocator and the oneDNN
    # primitives before the timed ones.
    flops: dict[str, int] = {}
    for m in methods:
        with FlopCounterMode(display=False) as counter:
            runs[m][0](runs[m][1])
        flops[m] = counter.get_total_flops()
    times: dict[str, list[float]] = {m: [] for m in methods}
    for _ in range(repeats):
        for m in methods:
            outer, loop = runs[m]
            t0 = time.perf_counter()
            outer(loop)
            times[m].append(time.perf_counter() - t0)
    return IterationTiming(setting=name, image_size=size, batch=batch,
                           t_base=cfg.t_net.t_base_channels, g_nfilter=cfg.g_net.g_nfilter,
                           t_iters=t_iters, repeats=repeats,
                           seconds={m: statistics.median(v) for m, v in times.items()},
                           flops=flops)


def write_report(out: Path, command: str, timings: list[IterationTiming],
                 quality: dict | None = None, quality_lines: list[str] = ()) -> tuple[Path, Path]:
    """compare.json (everything measured) and compare.md (its tables) in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    payload = {"command": command, "threads": torch.get_num_threads(),
               "timing": [{**asdict(t), "ratio": t.ratio, "flop_ratio": t.flop_ratio}
                          for t in timings],
               "quality": quality}
    json_path = out / "compare.json"
    json_path.write_text(json.dumps(payload, indent=2) + "\n")
    lines = ["# ENOT vs NOT", "", f"Command: `{command}` ({torch.get_num_threads()} threads, CPU)",
             ""]
    if timings:
        lines += ["## Time per outer iteration (median, paired, same networks and batch)", "",
                  "| setting | px | batch | T base | g nfilter | ENOT s/iter | NOT (K) s/iter | "
                  "NOT / ENOT | ENOT GFLOP/iter | NOT GFLOP/iter | FLOP ratio |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for t in timings:
            lines.append(f"| {t.setting} | {t.image_size} | {t.batch} | {t.t_base} | "
                         f"{t.g_nfilter} | {t.seconds['enot']:.3f} | {t.seconds['not']:.3f} "
                         f"(K={t.t_iters}) | {t.ratio:.2f}x | {t.flops['enot'] / 1e9:.1f} | "
                         f"{t.flops['not'] / 1e9:.1f} | {t.flop_ratio:.2f}x |")
        lines.append("")
    lines += list(quality_lines)
    md_path = out / "compare.md"
    md_path.write_text("\n".join(lines) + "\n")
    return json_path, md_path
