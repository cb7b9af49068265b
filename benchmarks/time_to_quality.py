"""ENOT against NOT: the map's quality against training wall time, each at its best learning rate.

Each method trains from the same initial weights and data order (seed ``cfg.train.seed``) for
the same budget of training wall time, in the training loop itself (``enot.training.loop``,
``--max-seconds``). The clock stops while T itself (no EMA) is judged by the loop's judge,
`enot.evaluation.map_judge`: the target-class rate (with its ceiling and identity), the content
kept, and FID on every test image. Learning rates follow the loop's cosine decay over the budget
instead of a step count, since how many steps fit is what is measured.

Learning rates: every method gets the same search, ``--lr-scales`` times the preset's lr_T and
lr_g for ``--search-budget`` seconds each; the scale whose last judgement scores best by
`enot.evaluation.map_judge.best_score` (the class rate of maps that keep their content) then
runs for the full budget. The paper claims ENOT reaches NOT's quality several times sooner
(Buzun et al. 2024, arXiv 2403.03777, Sec. 5).

    python -m benchmarks.time_to_quality --preset colored_mnist --budget 1200 --eval-every 60 \
        --lr-scales 0.3 1 3 --search-budget 300 --json runs/quality.json
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
import tempfile
from dataclasses import asdict, dataclass, field

import torch
from accelerate.utils import set_seed

from benchmarks.common import machine, write_json
from enot.config import Config, get_preset
from enot.evaluation.held_out import data_from_config
from enot.evaluation.map_judge import JudgeCallback, best_score, rate_key
from enot.training.loop import train
from enot.training.networks import build_networks

METHODS = ("enot", "not")

KEYS = (
    *("class_rate", "content_ratio", "ink_shift", "mse", "fid", "kid", "identity_fid"),
    *("class_rate_ceiling", "class_rate_identity", "style_rate", "style_rate_ceiling"),
    *("style_rate_identity", "mse_truth", "feat_truth", "retrieval"),
)


@dataclass
class QualityCurve:
    """One method's judgements along its run. The first is of the untrained map (shared by both
    methods, same seed): it is reported, but a "best" or a "reached" must come from training."""

    method: str
    t_iters: int
    lr_scale: float
    guard: float
    rate: str = "class_rate"  # the judge's rate: class_rate, or style_rate for paired folders
    seconds: list[float] = field(default_factory=list)  # training wall time at each judgement
    iterations: list[int] = field(default_factory=list)  # outer iterations done by then
    metrics: list[dict[str, float]] = field(default_factory=list)

    def series(self, key: str) -> list[float]:
        return [m.get(key, float("nan")) for m in self.metrics]

    def score(self, i: int) -> float:
        return best_score(self.rate, self.metrics[i], self.guard)

    @property
    def best(self) -> int:
        """Index of the best judgement after training began (-inf scores lose to any other)."""
        return max(range(1, len(self.metrics)), key=self.score)

    def first_reaching(self, rate: float) -> int | None:
        """Index of the first judgement after training began whose score is >= ``rate``."""
        return next((i for i in range(1, len(self.metrics)) if self.score(i) >= rate), None)


def train_for_budget(
    cfg: Config,
    method: str,
    t_iters: int,
    lr_scale: float,
    judge: JudgeCallback,
    *,
    budget_s: float,
    eval_every_s: float,
) -> QualityCurve:
    """Train ``method`` from seed ``cfg.train.seed`` for ``budget_s`` seconds of training, in
    the training loop, judging T every ``eval_every_s`` seconds of it and at its end."""
    mcfg = copy.deepcopy(cfg)
    mcfg.method.method, mcfg.method.t_iters = method, t_iters
    mcfg.optim.lr_t, mcfg.optim.lr_g = cfg.optim.lr_t * lr_scale, cfg.optim.lr_g * lr_scale
    curve = QualityCurve(
        method, t_iters, lr_scale, cfg.train.best_guard, rate_key(data_from_config(cfg))
    )

    def record(T: torch.nn.Module, step: int, seconds: float) -> tuple[dict, float, str]:
        metrics, score, summary = judge(T)
        curve.seconds.append(seconds)
        curve.iterations.append(step)
        curve.metrics.append({k: float(metrics[k]) for k in KEYS if metrics.get(k) is not None})
        print(
            f"{method} (lr x{lr_scale:g}): {seconds:7.1f} s, {step:5d} outer iterations, "
            + ", ".join(f"{k} {v:.3f}" for k, v in curve.metrics[-1].items())
        )
        return metrics, score, summary

    due = [eval_every_s]  # the next judgement, in seconds of training

    def evaluate(T: torch.nn.Module, step: int, seconds: float) -> tuple | None:
        if seconds < due[0] and seconds < budget_s:
            return None
        due[0] += eval_every_s * math.ceil((seconds - due[0]) / eval_every_s + 1e-9)
        return record(T, step, seconds)

    t = mcfg.train
    # A budget of seconds, and the lr's cosine over it; T itself judged (no EMA), when the
    # callback says; nothing else written before the end.
    t.steps, t.max_seconds, t.ema_decay, t.eval_every = 10**8, budget_s, 0.0, 1
    t.log_every = t.sample_every = t.checkpoint_every = 10**8
    with tempfile.TemporaryDirectory() as run_dir:
        t.output_dir = run_dir
        set_seed(t.seed)  # the untrained map the loop starts from: the same seed, the same T
        record(build_networks(mcfg)[0], 0, 0.0)
        train(mcfg, evaluate=evaluate)
    return curve


def search_lr(
    cfg: Config,
    method: str,
    t_iters: int,
    scales: list[float],
    judge: JudgeCallback,
    *,
    search_s: float,
) -> tuple[float, list[QualityCurve]]:
    """The same search for every method: each scale for ``search_s`` seconds, judged at the end;
    returns the scale whose last judgement scores best (the first such on ties)."""
    runs = [
        train_for_budget(cfg, method, t_iters, s, judge, budget_s=search_s, eval_every_s=search_s)
        for s in scales
    ]
    best = max(runs, key=lambda c: c.score(len(c.metrics) - 1))
    return best.lr_scale, runs


def verdict(enot: QualityCurve, not_: QualityCurve) -> dict:
    """The paper's claim, whatever it comes out as: does ENOT reach NOT's best class rate, and
    how much sooner? Scores are class rates of maps within the content guard."""
    e, n = enot.best, not_.best
    reach = enot.first_reaching(not_.score(n))
    return {
        "enot_best_rate": enot.score(e),
        "enot_best_at_s": enot.seconds[e],
        "not_best_rate": not_.score(n),
        "not_best_at_s": not_.seconds[n],
        "enot_best_fid": min(enot.series("fid")[1:]),
        "not_best_fid": min(not_.series("fid")[1:]),
        "enot_reaches_not_best_at_s": None if reach is None else enot.seconds[reach],
        "speedup": None if reach is None else not_.seconds[n] / max(enot.seconds[reach], 1e-9),
    }


def _rate(score: float) -> str:
    return f"{score:.2f}" if math.isfinite(score) else "none"  # none: no map within the guard


def report(curves: list[QualityCurve], searched: list[QualityCurve]) -> list[str]:
    """The table (the search's runs, then the full ones) and the verdict, as printed."""
    rate, nan = curves[0].rate, float("nan")
    lines = [
        f"{rate}; best: the best rate of a map whose content ratio is at most "
        f"{curves[0].guard:g}, when, and its FID; final: at the end of the run",
        f"{'run':<6} {'method':<6} {'lr x':>5} {'outer it':>8} {'T upd':>7} {'best':>5} "
        f"{'at s':>6} {'FID':>6} {'final':>5} {'content':>7} {'FID':>6}",
    ]
    for run, c in [("search", c) for c in searched] + [("full", c) for c in curves]:
        b, m, k = c.best, c.metrics[-1], 1 if c.method == "enot" else c.t_iters
        lines.append(
            f"{run:<6} {c.method.upper():<6} {c.lr_scale:>5g} {c.iterations[-1]:>8} "
            f"{c.iterations[-1] * k:>7} {_rate(c.score(b)):>5} {c.seconds[b]:>6.0f} "
            f"{c.metrics[b]['fid']:>6.1f} {m.get(rate, 0):>5.2f} {m['content_ratio']:>7.3f} "
            f"{m['fid']:>6.1f}"
        )
    first = curves[0].metrics[0]
    lines.append(
        f"ceiling (real targets) {first.get(f'{rate}_ceiling', nan):.2f}, identity "
        f"{first.get(f'{rate}_identity', nan):.2f}; identity FID {first['identity_fid']:.1f}"
    )
    by = {c.method: c for c in curves}
    if not {"enot", "not"} <= set(by):
        return lines
    v = verdict(by["enot"], by["not"])
    reach = v["enot_reaches_not_best_at_s"]
    if not math.isfinite(v["enot_best_rate"]) and not math.isfinite(v["not_best_rate"]):
        lines.append("No judgement of either method passed the content guard: no rate to race to.")
    else:
        lines.append(
            f"Best guarded rate: ENOT {_rate(v['enot_best_rate'])} at {v['enot_best_at_s']:.0f} s, "
            f"NOT {_rate(v['not_best_rate'])} at {v['not_best_at_s']:.0f} s."
        )
        when = (
            f"at {reach:.0f} s: {v['speedup']:.2f}x NOT's time to it."
            if reach is not None
            else "never."
        )
        lines.append(f"ENOT reaches NOT's best rate {when}")
    return lines + [f"Best FID: ENOT {v['enot_best_fid']:.1f}, NOT {v['not_best_fid']:.1f}."]


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    presets = ("colored_mnist", "fashion_bags2shoes", "emoji_32")  # the tasks with a judge
    p.add_argument("--preset", choices=presets, default=presets[0])
    p.add_argument("--t-iters", type=int, default=10, help="NOT's T updates per g update (K)")
    p.add_argument("--budget", type=float, default=1200.0, help="training seconds per method")
    p.add_argument("--eval-every", type=float, default=60.0, help="training seconds per judgement")
    scales = "multiples of the preset's lr_T and lr_g searched for both; one skips the search"
    p.add_argument("--lr-scales", type=float, nargs="+", default=[0.3, 1.0, 3.0], help=scales)
    p.add_argument("--search-budget", type=float, default=150.0, help="seconds per scale")
    p.add_argument("--json", help="write the curves and the verdict here")
    args = p.parse_args(argv)
    print(machine(), flush=True)
    cfg = get_preset(args.preset)
    judge = JudgeCallback(data_from_config(cfg), fid_images=10**9)
    if not judge.has_classifier:
        raise SystemExit(f"--preset {args.preset}: its task has no classifier to judge by")
    curves, searched = [], []
    for method in METHODS:
        scale = args.lr_scales[0]
        if len(args.lr_scales) > 1:
            scale, runs = search_lr(
                cfg, method, args.t_iters, args.lr_scales, judge, search_s=args.search_budget
            )
            searched += runs
        print(f"{method}: learning-rate scale {scale:g}", flush=True)
        budget = {"budget_s": args.budget, "eval_every_s": args.eval_every}
        curves.append(train_for_budget(cfg, method, args.t_iters, scale, judge, **budget))
    lines = report(curves, searched)
    print("\n".join(lines))
    result = {"command": sys.argv, "machine": machine(), **vars(args), "report": lines}
    result |= {"curves": [asdict(c) for c in curves], "searches": [asdict(c) for c in searched]}
    write_json(args.json, result)
    return result


if __name__ == "__main__":
    main()
