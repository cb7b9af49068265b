"""ENOT against NOT on identical networks: time per outer iteration, and FID against wall time.

Both measurements call the trainer's own outer iterations (`enot.methods`) on networks built by
`enot.networks.build_networks`, with the trainer's AdamW settings, so they differ only in the
method. `scripts/benchmark.py compare` runs them and writes the figures.

* Per iteration: one process builds T and g once; every method gets a copy of them and its own
  optimisers, and the methods' outer iterations alternate (paired) on one fixed batch, so load
  and thermal drift hit both alike. The median of each is reported with their ratio.
* Time to quality: each method trains from the same initial weights and data order for the same
  budget of training wall time; the clock stops while FID is measured (by
  `enot.fid_tracker.FIDTracker`, on the fixed test subset, of T itself, no EMA). The learning
  rates follow the trainer's cosine decay, but over the wall budget instead of a step count,
  since how many steps fit is what is being measured.
"""

from __future__ import annotations

import copy
import json
import math
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import torch
from torch import Tensor
from torch.optim import AdamW
from torch.utils.flop_counter import FlopCounterMode
from torch.utils.data import DataLoader

from data import build_domain
from enot.config import Config
from enot.eval_data import EvalData
from enot.fid_tracker import FIDTracker
from enot.methods import METHODS, Loop, OuterIteration
from enot.networks import build_networks


def _with_method(cfg: Config, method: str, t_iters: int) -> Config:
    out = copy.deepcopy(cfg)
    out.method.method, out.method.t_iters = method, t_iters
    return out


def _optimisers(cfg: Config, T: torch.nn.Module, g: torch.nn.Module) -> tuple[AdamW, AdamW]:
    o = cfg.optim
    return (AdamW(T.parameters(), lr=o.lr_t, betas=(o.beta1, o.beta2), weight_decay=o.weight_decay),
            AdamW(g.parameters(), lr=o.lr_g, betas=(o.beta1, o.beta2), weight_decay=o.weight_decay))


def _check(named: dict[str, Tensor]) -> dict[str, float]:
    out = {k: v.item() for k, v in named.items()}
    bad = [k for k, v in out.items() if not math.isfinite(v)]
    if bad:
        raise FloatingPointError(f"{bad[0]} = {out[bad[0]]} in the comparison run")
    return out


def _loop(cfg: Config, T, g, source: Callable[[], Tensor], target: Callable[[], Tensor]) -> Loop:
    opt_t, opt_g = _optimisers(cfg, T, g)
    return Loop(T=T, g=g, g_frozen=g, opt_t=opt_t, opt_g=opt_g, next_source=source,
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
    runs: dict[str, tuple[OuterIteration, Loop]] = {}
    for m in methods:
        mcfg = _with_method(cfg, m, t_iters)
        T, g = copy.deepcopy(T0).train(), copy.deepcopy(g0).train()
        runs[m] = (METHODS[m].build(mcfg, torch.device("cpu")),
                   _loop(mcfg, T, g, lambda: x, lambda: y))
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


# ---------------------------------------------------------------------------------------------
# Time to quality.

@dataclass
class QualityCurve:
    method: str
    seconds: list[float] = field(default_factory=list)  # training wall time at each evaluation
    iterations: list[int] = field(default_factory=list)  # outer iterations done by then
    fid: list[float] = field(default_factory=list)

    # The first evaluation is of the untrained map, which both methods share (same seed): it is
    # reported, but a "best" or a "reached" must come from training.

    @property
    def best(self) -> tuple[float, float]:
        """(best FID after training began, training seconds when first reached)."""
        i = min(range(1, len(self.fid)), key=self.fid.__getitem__)
        return self.fid[i], self.seconds[i]

    def first_time_at_or_below(self, level: float) -> float | None:
        return next((s for s, f in zip(self.seconds[1:], self.fid[1:]) if f <= level), None)


def _batches(dataset, batch: int, seed: int) -> Iterator[Tensor]:
    gen = torch.Generator().manual_seed(seed)
    while True:
        yield from DataLoader(dataset, batch_size=batch, shuffle=True, drop_last=True,
                              generator=gen)


def train_for_budget(cfg: Config, method: str, t_iters: int, budget_s: float, eval_every_s: float,
                     tracker: FIDTracker, log: Callable[[str], None] = print) -> QualityCurve:
    """Train ``method`` from seed ``cfg.train.seed`` for ``budget_s`` seconds of training."""
    mcfg = _with_method(cfg, method, t_iters)
    torch.manual_seed(cfg.train.seed)
    T, g = build_networks(mcfg)
    T.train()
    g.train()
    d = mcfg.data
    sources, targets = (
        _batches(build_domain(d.dataset, spec, d.image_size, "train", seed=cfg.train.seed),
                 cfg.train.batch_size, cfg.train.seed * 2 + i + 1)
        for i, spec in enumerate((d.source, d.target)))
    loop = _loop(mcfg, T, g, lambda: next(sources), lambda: next(targets))
    outer = METHODS[method].build(mcfg, torch.device("cpu"))
    starts = [grp["lr"] for opt in (loop.opt_t, loop.opt_g) for grp in opt.param_groups]
    floor = cfg.optim.final_lr_ratio
    curve = QualityCurve(method)

    def evaluate(spent: float, iterations: int) -> None:
        fid = tracker(T)
        curve.seconds.append(spent)
        curve.iterations.append(iterations)
        curve.fid.append(fid)
        log(f"{method}: {spent:7.1f} s, {iterations:5d} outer iterations, FID {fid:.2f}")

    spent, iterations, next_eval = 0.0, 0, eval_every_s
    evaluate(0.0, 0)
    while spent < budget_s:
        # Cosine decay to final_lr_ratio of the start, over the budget (the trainer's schedule
        # with time in place of steps).
        scale = floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(spent / budget_s, 1.0)))
        groups = [grp for opt in (loop.opt_t, loop.opt_g) for grp in opt.param_groups]
        for grp, start in zip(groups, starts):
            grp["lr"] = start * scale
        t0 = time.perf_counter()
        outer(loop)
        spent += time.perf_counter() - t0
        iterations += 1
        if spent >= next_eval or spent >= budget_s:
            evaluate(spent, iterations)
            next_eval += eval_every_s * math.ceil((spent - next_eval) / eval_every_s + 1e-9)
    return curve


# ---------------------------------------------------------------------------------------------
# Verdicts, plot and table.

def verdict(enot: QualityCurve, not_: QualityCurve) -> dict:
    """The issue's two claims, whatever they come out as."""
    enot_best, enot_best_at = enot.best
    not_best, not_best_at = not_.best
    reach = enot.first_time_at_or_below(not_best)
    return {
        "enot_best_fid": enot_best, "enot_best_at_s": enot_best_at,
        "not_best_fid": not_best, "not_best_at_s": not_best_at,
        "enot_best_le_not_best": enot_best <= not_best,
        "enot_reaches_not_best_at_s": reach,
        "reach_over_not_best_time": None if reach is None or not_best_at == 0
        else reach / not_best_at,
        "enot_reaches_in_third_of_not_time": reach is not None and reach <= not_best_at / 3,
    }


def plot_curves(curves: list[QualityCurve], identity_fid: float, title: str, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), constrained_layout=True)
    for c in curves:
        ax.plot(c.seconds, c.fid, marker="o", markersize=3, label=c.method.upper())
    ax.axhline(identity_fid, color="gray", linestyle="--", label="identity FID(x, y)")
    ax.set_xlabel("training wall time (s), evaluation excluded")
    ax.set_ylabel("FID(T(x), y), test subset")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_report(out: Path, command: str, timings: list[IterationTiming],
                 curves: list[QualityCurve], identity_fid: float | None, budget_s: float,
                 images: int | None, t_iters: int) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    by_name = {c.method: c for c in curves}
    claims = verdict(by_name["enot"], by_name["not"]) if {"enot", "not"} <= set(by_name) else None
    payload = {"command": command, "threads": torch.get_num_threads(), "t_iters": t_iters,
               "timing": [{**asdict(t), "ratio": t.ratio, "flop_ratio": t.flop_ratio}
                          for t in timings],
               "quality": {"budget_s": budget_s, "fid_images": images,
                           "identity_fid": identity_fid, "curves": [asdict(c) for c in curves],
                           "claims": claims}}
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
    if curves:
        lines += [f"## Time to quality: {budget_s:.0f} s of training each, FID on {images} test "
                  f"images (identity {identity_fid:.2f})", "",
                  "| method | outer iterations | T updates | FID untrained | best FID | at s | "
                  "final FID |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for c in curves:
            best, at = c.best
            k = 1 if c.method == "enot" else t_iters
            lines.append(f"| {c.method.upper()} | {c.iterations[-1]} | {c.iterations[-1] * k} | "
                         f"{c.fid[0]:.2f} | {best:.2f} | {at:.0f} | {c.fid[-1]:.2f} |")
        if claims:
            reach = claims["enot_reaches_not_best_at_s"]
            lines += ["", f"- ENOT's best FID <= NOT's: **{claims['enot_best_le_not_best']}** "
                          f"({claims['enot_best_fid']:.2f} vs {claims['not_best_fid']:.2f})",
                      f"- ENOT reaches NOT's best FID after "
                      f"{'never' if reach is None else f'{reach:.0f} s'}; NOT's best came at "
                      f"{claims['not_best_at_s']:.0f} s; within a third of that: "
                      f"**{claims['enot_reaches_in_third_of_not_time']}**"]
    md_path = out / "compare.md"
    md_path.write_text("\n".join(lines) + "\n")
    return json_path, md_path


def identity_and_tracker(cfg: Config, images: int) -> FIDTracker:
    d = cfg.data
    return FIDTracker(EvalData(kind=d.dataset, source=d.source, target=d.target,
                               image_size=d.image_size, seed=cfg.train.seed, task=cfg.preset),
                      images, "cpu", log=print)
