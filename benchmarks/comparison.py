"""ENOT against NOT on identical networks: time per outer iteration, and the shared report.

Both measurements run the training loop's outer iterations (the forward passes of `enot.step`
and `enot.not_step`, `enot.training.loop.not_map_updates`) on networks built by
`enot.training.networks.build_networks`, with the trainer's AdamW settings, so they differ only
in the method. ``main`` runs them and writes the figures.

* Per iteration: one process builds T and g once; every method gets a copy of them and its own
  optimisers, and the methods' outer iterations alternate (paired) on one fixed batch, so load
  and thermal drift hit both alike. The median of each is reported with their ratio.
* Time to quality (the map's judged quality against wall time) is `benchmarks.time_to_quality`.

    python -m benchmarks.comparison                          # both parts, 20 min per method
    python -m benchmarks.comparison --parts timing --out runs/compare_timing
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch.optim import AdamW
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.common import cpu_description
from benchmarks.step_timing import SETTINGS
from enot.config import Config, get_preset
from enot.costs import get_cost
from enot.finite import finite_means
from enot.not_step import not_potential_forward
from enot.step import ENOTObjective, enot_gradients, grad_norm, trainable_params
from enot.training.loop import not_map_updates
from enot.training.networks import build_networks

METHODS = ("enot", "not")


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


def outer_iteration(method: str, nets: tuple, x, y, cfg: Config, t_iters: int) -> None:
    """One outer iteration of ``method`` on (T, g, opt_T, opt_g), as the training loop's
    ``match`` runs it (gradient norms and the finite check included): every call of the method
    here."""
    T, g, opt_t, opt_g = nets
    cost, e = get_cost(cfg.method.cost), cfg.enot
    if method == "enot":
        opt_t.zero_grad(set_to_none=True)
        opt_g.zero_grad(set_to_none=True)
        losses = enot_gradients(T, g, x, y, ENOTObjective(cost, e.tau, e.lam, e.gauge))
        finite_means({**losses.scalars(), "grad_norm_t": grad_norm(T), "grad_norm_g": grad_norm(g)})
        opt_g.step()
        opt_t.step()
    else:
        not_map_updates(T, g, opt_t, [x] * t_iters, cost, torch.autograd.backward, finite_means)
        opt_g.zero_grad(set_to_none=True)
        p = not_potential_forward(T, g, x, y, cost)
        p.g_loss.backward(inputs=trainable_params(g))
        finite_means({"g_loss": p.g_loss.detach(), "grad_norm_g": grad_norm(g)})
        opt_g.step()


def time_outer_iterations(name: str, cfg: Config, t_iters: int, repeats: int) -> IterationTiming:
    """Median wall seconds of one outer iteration of ENOT and of NOT (K = ``t_iters``), paired
    on one batch, each from a copy of the same networks with the trainer's AdamW."""
    torch.manual_seed(0)
    T0, g0 = build_networks(cfg)
    size, batch = cfg.data.image_size, cfg.train.batch_size
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(batch, 3, size, size, generator=gen) * 2 - 1
    y = torch.rand(batch, 3, size, size, generator=gen) * 2 - 1
    o = cfg.optim
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
        outer_iteration(method, nets[method], x, y, cfg, t_iters)

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
        t_base=cfg.t_net.base_channels,
        g_nfilter=cfg.g_net.nfilter,
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


def quality(args: argparse.Namespace) -> tuple[dict, list[str]]:
    """Time-to-quality curves of both methods, each at the best scale of the same search."""
    from benchmarks.time_to_quality import plot_curves, report_lines, search_lr, train_for_budget
    from enot.evaluation.held_out import data_from_config
    from enot.evaluation.map_judge import MapJudge

    cfg = get_preset(args.preset)
    judge = MapJudge(data_from_config(cfg), fid_images=10**9)
    if not judge.has_classifier:
        raise SystemExit(f"--preset {args.preset}: its task has no classifier to judge by")
    curves, searches = [], {}
    for method in METHODS:
        scale, searches[method] = (
            (args.lr_scales[0], [])
            if len(args.lr_scales) == 1
            else search_lr(
                cfg, method, args.t_iters, args.lr_scales, judge, search_s=args.search_budget
            )
        )
        print(f"{method}: learning-rate scale {scale:g}", flush=True)
        curves.append(
            train_for_budget(
                cfg,
                method,
                args.t_iters,
                scale,
                judge,
                budget_s=args.budget,
                eval_every_s=args.eval_every,
            )
        )
    Path(args.out).mkdir(parents=True, exist_ok=True)
    title = f"{args.preset}: {args.budget:.0f} s each (NOT K={args.t_iters})"
    print(f"plot: {plot_curves(curves, title, Path(args.out) / 'quality_vs_time.png')}")
    result = {
        "preset": args.preset,
        "budget_s": args.budget,
        "search_s": args.search_budget,
        "lr_scales": args.lr_scales,
        "curves": [asdict(c) for c in curves],
        "searches": {m: [asdict(c) for c in runs] for m, runs in searches.items()},
    }
    return result, report_lines(curves, searches, args.budget, args.search_budget)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--parts", nargs="+", choices=("timing", "quality"), default=["timing", "quality"]
    )
    p.add_argument(
        "--settings", nargs="+", choices=sorted(SETTINGS), default=["cpu_preset", "paper64"]
    )
    p.add_argument("--repeats", type=int, default=0, help="default: 10 at 32 px, 1 at 64 px")
    p.add_argument("--t-iters", type=int, default=10, help="NOT's T updates per g update (K)")
    p.add_argument(
        "--preset",
        choices=("colored_mnist", "fashion_bags2shoes", "emoji_32"),
        default="colored_mnist",
        help="task, networks and optimiser of the quality runs (one with a judge)",
    )
    p.add_argument("--budget", type=float, default=1200.0, help="training seconds per method")
    p.add_argument("--eval-every", type=float, default=60.0, help="training seconds per judgement")
    p.add_argument(
        "--lr-scales",
        type=float,
        nargs="+",
        default=[0.3, 1.0, 3.0],
        help="multiples of the preset's lr_T and lr_g searched for both; one skips the search",
    )
    p.add_argument("--search-budget", type=float, default=150.0, help="seconds per scale")
    p.add_argument("--out", default="runs/compare", help="folder for the plot and the tables")
    args = p.parse_args(argv)
    print(f"{cpu_description()}; torch {torch.__version__}", flush=True)
    timings = []
    for name in args.settings if "timing" in args.parts else ():
        cfg = SETTINGS[name]()
        repeats = args.repeats or (10 if cfg.data.image_size <= 32 else 1)
        t = time_outer_iterations(name, cfg, args.t_iters, repeats)
        timings.append(t)
        print(
            f"{name}: ENOT {t.seconds['enot']:.3f} s, NOT (K={t.t_iters}) "
            f"{t.seconds['not']:.3f} s per outer iteration: NOT/ENOT = {t.ratio:.2f}x "
            f"(median of {repeats}, paired); FLOPs per outer iteration "
            f"{t.flops['enot'] / 1e9:.1f} vs {t.flops['not'] / 1e9:.1f} GFLOP = "
            f"{t.flop_ratio:.2f}x",
            flush=True,
        )
    result, lines = quality(args) if "quality" in args.parts else (None, [])
    command = "python -m benchmarks.comparison " + " ".join(sys.argv[1:] if argv is None else argv)
    json_path, md_path = write_report(Path(args.out), command, timings, result, lines)
    print(md_path.read_text())
    print(f"written: {json_path}, {md_path}")


if __name__ == "__main__":
    main()
