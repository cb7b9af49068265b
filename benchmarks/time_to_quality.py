"""ENOT against NOT: the map's quality against training wall time, each at its best learning rate.

Each method trains from the same initial weights and data order (seed ``cfg.train.seed``) for
the same budget of training wall time, in the training loop itself (``enot.training.loop``,
``--max-seconds``). The clock stops while the map is judged by `enot.evaluation.map_judge`, the
loop's judge: the target-class rate (with its ceiling and identity), the content kept, and
FID on every test image. T itself is judged (no EMA). Learning rates follow the loop's cosine
decay to ``final_lr_ratio``, over the budget instead of a step count, since how many steps fit
is what is measured.

Learning rates: every method gets the same search, ``lr_scales`` times the preset's lr_T and
lr_g for ``search_s`` seconds each; the scale whose last judgement scores best by
`enot.evaluation.map_judge.best_score` (the class rate of maps that keep their content) is then
run for the full budget. The paper claims ENOT reaches NOT's quality several times sooner
(Buzun et al. 2024, arXiv 2403.03777, Sec. 5).
"""

from __future__ import annotations

import copy
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from accelerate.utils import set_seed

from enot.config import Config
from enot.evaluation.held_out import data_from_config
from enot.evaluation.map_judge import MapJudge, best_score, rate_key
from enot.training.loop import train
from enot.training.networks import build_networks

KEYS = (
    "class_rate",
    "content_ratio",
    "ink_shift",
    "mse",
    "fid",
    "kid",
    "class_rate_ceiling",
    "class_rate_identity",
    "identity_fid",
    "style_rate",
    "style_rate_ceiling",
    "style_rate_identity",
    "mse_truth",
    "feat_truth",
    "retrieval",
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


def with_method(cfg: Config, method: str, t_iters: int) -> Config:
    out = copy.deepcopy(cfg)
    out.method.method, out.method.t_iters = method, t_iters
    return out


def scaled_lr(cfg: Config, scale: float) -> Config:
    out = copy.deepcopy(cfg)
    out.optim.lr_t, out.optim.lr_g = cfg.optim.lr_t * scale, cfg.optim.lr_g * scale
    return out


def train_for_budget(
    cfg: Config,
    method: str,
    t_iters: int,
    lr_scale: float,
    judge: MapJudge,
    *,
    budget_s: float,
    eval_every_s: float,
    log: Callable[[str], None] = print,
) -> QualityCurve:
    """Train ``method`` from seed ``cfg.train.seed`` for ``budget_s`` seconds of training, in
    the training loop, judging T every ``eval_every_s`` seconds of it and at its end."""
    mcfg = scaled_lr(with_method(cfg, method, t_iters), lr_scale)
    curve = QualityCurve(
        method, t_iters, lr_scale, cfg.train.best_guard, rate_key(data_from_config(cfg))
    )

    def record(T: torch.nn.Module, step: int, seconds: float) -> tuple[dict, float, str]:
        metrics, score, summary = judge(T)
        curve.seconds.append(seconds)
        curve.iterations.append(step)
        curve.metrics.append({k: float(metrics[k]) for k in KEYS if metrics.get(k) is not None})
        log(
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
    judge: MapJudge,
    *,
    search_s: float,
    log: Callable[[str], None] = print,
) -> tuple[float, list[QualityCurve]]:
    """The same search for every method: each scale for ``search_s`` seconds, judged at the end;
    returns the scale whose last judgement scores best (the first such on ties)."""
    runs = [
        train_for_budget(
            cfg, method, t_iters, s, judge, budget_s=search_s, eval_every_s=search_s, log=log
        )
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


def plot_curves(curves: list[QualityCurve], title: str, path: Path) -> Path:
    """Class rate (ceiling and identity dashed) and FID (identity dashed) against wall time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_rate, ax_fid) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for c in curves:
        label = f"{c.method.upper()} (lr x{c.lr_scale:g})"
        ax_rate.plot(c.seconds, c.series(c.rate), marker="o", markersize=3, label=label)
        ax_fid.plot(c.seconds, c.series("fid"), marker="o", markersize=3, label=label)
    first = curves[0].metrics[0]
    rate = curves[0].rate
    for key, style, name in (
        (f"{rate}_ceiling", "--", "ceiling (real targets)"),
        (f"{rate}_identity", ":", "identity (untouched source)"),
    ):
        if key in first:
            ax_rate.axhline(first[key], color="gray", linestyle=style, label=name)
    ax_fid.axhline(first["identity_fid"], color="gray", linestyle=":", label="identity")
    ax_rate.set_ylabel(f"{rate.replace('_', ' ')} of T(x), test split")
    ax_fid.set_ylabel("FID(T(x), y), test split")
    for ax in (ax_rate, ax_fid):
        ax.set_xlabel("training wall time (s), judging excluded")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _rate(score: float) -> str:
    """A guarded rate for the table; none when no judgement passed the content guard."""
    return f"{score:.2f}" if math.isfinite(score) else "none within the guard"


def report_lines(
    curves: list[QualityCurve],
    searches: dict[str, list[QualityCurve]],
    budget_s: float,
    search_s: float,
) -> list[str]:
    """Markdown: the search, the curves' summary, and the verdict."""
    first, rate = curves[0].metrics[0], curves[0].rate
    lines = [
        f"## Time to quality: {budget_s:.0f} s of training each, every test image judged",
        "",
    ]
    if not any(searches.values()):  # one scale given: nothing was searched
        lines.append(f"One learning-rate scale, no search: x{curves[0].lr_scale:g} the preset's.")
    else:
        lines += [
            f"Learning-rate search, the same for both: each scale x (preset lr_T, lr_g) for "
            f"{search_s:.0f} s, scored at its end by the rate of maps whose content ratio "
            f"is at most {curves[0].guard:g}.",
            "",
            "| method | lr scale | rate at end | content ratio | FID |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
    for method, runs in searches.items():
        for c in runs:
            m = c.metrics[-1]
            lines.append(
                f"| {method.upper()} | {c.lr_scale:g} | {m.get(rate, 0):.2f} | "
                f"{m['content_ratio']:.3f} | {m['fid']:.1f} |"
            )
    lines += [
        "",
        f"Ceiling (real targets) {first.get(f'{rate}_ceiling', float('nan')):.2f}, "
        f"identity {first.get(f'{rate}_identity', float('nan')):.2f}; identity FID "
        f"{first['identity_fid']:.1f}.",
        "",
        "| method | lr scale | outer iterations | T updates | best rate (guarded) | at s | "
        "FID there | final rate | final content ratio | final FID |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for c in curves:
        b, m = c.best, c.metrics[-1]
        k = 1 if c.method == "enot" else c.t_iters
        lines.append(
            f"| {c.method.upper()} | {c.lr_scale:g} | {c.iterations[-1]} | "
            f"{c.iterations[-1] * k} | {_rate(c.score(b))} | {c.seconds[b]:.0f} | "
            f"{c.metrics[b]['fid']:.1f} | {m.get(rate, 0):.2f} | "
            f"{m['content_ratio']:.3f} | {m['fid']:.1f} |"
        )
    by = {c.method: c for c in curves}
    if {"enot", "not"} <= set(by):
        v = verdict(by["enot"], by["not"])
        reach = v["enot_reaches_not_best_at_s"]
        if not math.isfinite(v["enot_best_rate"]) and not math.isfinite(v["not_best_rate"]):
            # Neither map passed the content guard: there is no guarded rate to race to.
            return lines + [
                "",
                "- No judgement of either method passed the content guard (content ratio at "
                "most --best-guard), so neither reached a guarded rate in its budget.",
                f"- Best FID: ENOT {v['enot_best_fid']:.1f}, NOT {v['not_best_fid']:.1f}.",
            ]
        lines += [
            "",
            f"- Best guarded rate: ENOT {v['enot_best_rate']:.2f} at "
            f"{v['enot_best_at_s']:.0f} s, NOT {v['not_best_rate']:.2f} at "
            f"{v['not_best_at_s']:.0f} s.",
            "- ENOT reaches NOT's best rate "
            + (
                "never in its budget."
                if reach is None
                else f"at {reach:.0f} s: {v['speedup']:.2f}x NOT's time to it."
            ),
            f"- Best FID: ENOT {v['enot_best_fid']:.1f}, NOT {v['not_best_fid']:.1f}.",
        ]
    return lines
