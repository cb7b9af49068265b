"""`enot.fit` on the ICNN-mixture pair (`enot.lowdim.datasets`): L2-UV against steps and seconds.

For each D: a fixed pool of `pool` samples per side (independent draws, so the pair is
unpaired), `enot.fit(pool_x, pool_y, cost="half_sq_l2", bidirectional=True)` with the chosen
settings, and every `eval_every` steps L2-UV = 100 E||T(x) - T*(x)||^2 / Var(Q) on 20,000 fresh
source samples. The baseline row is the best linear map a Gaussian solver can find: the W2 map
between the Gaussians with P's and Q's means and covariances.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from enot.lowdim import FitConfig, fit, paper_table4  # noqa: E402
from enot.lowdim.datasets.icnn_mixture import IcnnMixturePair, icnn_mixture_pair  # noqa: E402
from enot.lowdim.datasets.synthetic import GaussianPair  # noqa: E402

EVAL_SAMPLES = 20_000


@dataclass
class Curve:
    label: str
    dim: int
    steps: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    l2_uv: list[float] = field(default_factory=list)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def l2_uv(mapped: torch.Tensor, truth: torch.Tensor, target_variance: float) -> float:
    return 100 * float((mapped.double() - truth.double()).square().sum(1).mean()) / target_variance


def linear_baseline(pair: IcnnMixturePair, seed: int, n: int = 100_000) -> float:
    """L2-UV of the W2 map between Gaussian approximations of P and Q."""
    x = pair.sample_source(n, _gen(seed + 11)).double()
    y = pair.sample_target(n, _gen(seed + 12)).double()
    gauss = GaussianPair(
        x.mean(0),
        torch.cov(x.T).reshape(pair.dim, pair.dim),
        y.mean(0),
        torch.cov(y.T).reshape(pair.dim, pair.dim),
    )
    probe = pair.sample_source(EVAL_SAMPLES, _gen(seed + 13)).double()
    return l2_uv(gauss.optimal_map(probe), pair.optimal_map(probe), pair.target_variance())


def run(dim: int, config: FitConfig, label: str, pool: int, eval_every: int, seed: int) -> Curve:
    pair = icnn_mixture_pair(dim, seed=seed)
    xs = pair.sample_source(pool, _gen(seed + 1))
    ys = pair.sample_target(pool, _gen(seed + 2))
    probe = pair.sample_source(EVAL_SAMPLES, _gen(seed + 3))
    truth, variance = pair.optimal_map(probe), pair.target_variance()
    curve = Curve(label, dim)

    def track(step: int, res) -> None:
        curve.steps.append(step)
        curve.seconds.append(res.seconds)
        curve.l2_uv.append(l2_uv(res.transport(probe), truth, variance))
        print(
            f"  D={dim} {label}: step {step}, {res.seconds:.0f} s, L2-UV {curve.l2_uv[-1]:.3f}%",
            flush=True,
        )

    fit(
        xs,
        ys,
        cost="half_sq_l2",
        bidirectional=True,
        config=config.replace(log_every=eval_every, seed=seed),
        callback=track,
    )
    return curve


def plot(curves: list[Curve], baselines: dict[int, float], path: Path) -> Path:
    dims = sorted({c.dim for c in curves})
    fig, axes = plt.subplots(2, len(dims), figsize=(5 * len(dims), 8), squeeze=False)
    for col, dim in enumerate(dims):
        for row, x_name in enumerate(("steps", "seconds")):
            ax = axes[row][col]
            for c in (c for c in curves if c.dim == dim):
                ax.plot(getattr(c, x_name), c.l2_uv, marker="o", ms=3, label=c.label)
            if dim in baselines:
                ax.axhline(baselines[dim], color="grey", ls="--", label="best linear map")
            ax.set_yscale("log")
            ax.set_xlabel(x_name)
            ax.set_ylabel("L2-UV %")
            ax.set_title(f"ICNN mixture, D={dim}")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def save(curves: list[Curve], baselines: dict[int, float], path: Path) -> Path:
    path.write_text(
        json.dumps({"baselines": baselines, "curves": [c.__dict__ for c in curves]}, indent=1)
    )
    return path


def load(paths: list[Path]) -> tuple[list[Curve], dict[int, float]]:
    """Curves and baselines merged from files written by `save`."""
    curves, baselines = [], {}
    for path in paths:
        data = json.loads(path.read_text())
        baselines.update({int(d): v for d, v in data["baselines"].items()})
        curves += [Curve(**c) for c in data["curves"]]
    return curves, baselines


ICNN_SETTINGS = {
    "defaults": FitConfig,
    # The earlier defaults: Table 4 plus the quadratic term and standardisation.
    "old defaults": lambda: paper_table4(quadratic=True, standardise=True),
}


def parse_overrides(pairs: list[str]) -> dict:
    """`--set lr=3e-3 hidden=256,256` -> FitConfig fields, each value parsed as its field's type."""
    kinds = {f.name: f.type for f in dataclasses.fields(FitConfig)}
    changes = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or key not in kinds:
            raise SystemExit(
                f"--set takes FIELD=VALUE with FIELD one of {sorted(kinds)}; got {pair!r}"
            )
        kind = str(kinds[key])
        try:
            if "tuple" in kind:
                number = float if "float" in kind else int
                changes[key] = tuple(number(v) for v in text.split(","))
            elif "bool" in kind:
                changes[key] = {"true": True, "false": False}[text.lower()]
            elif "int" in kind and "float" not in kind:
                changes[key] = int(text)
            elif "float" in kind:
                changes[key] = float(text)
            else:
                changes[key] = text
        except (KeyError, ValueError):
            raise SystemExit(f"--set {pair!r}: {key} takes a value of type {kind}") from None
    return changes


def icnn(
    dims: list[int],
    steps: int,
    eval_every: int,
    pool: int,
    seed: int,
    settings: list[str],
    out: Path,
    overrides: dict,
) -> None:
    print(
        f"\n### ICNN mixture: Gaussian mixture -> grad psi (random ICNN), half squared L2, "
        f"bidirectional\n\nsteps {steps}, pool {pool:,} per side, L2-UV on "
        f"{EVAL_SAMPLES:,} fresh samples; {torch.get_num_threads()} torch threads\n"
    )
    curves, baselines = [], {}
    for d in dims:
        baselines[d] = linear_baseline(icnn_mixture_pair(d, seed=seed), seed)
        for label in settings:
            cfg = ICNN_SETTINGS[label]().replace(steps=steps, **overrides)
            tag = label + "".join(f", {k}={v}" for k, v in overrides.items())
            curves.append(run(d, cfg, tag, pool, eval_every, seed))
    name = (
        "icnn_mixture_"
        + "_".join(label.replace(" ", "_") for label in settings)
        + "".join(f"_{k}{v}" for k, v in overrides.items()).replace(" ", "")
        + "_D"
        + "_".join(str(d) for d in dims)
    )
    save(curves, baselines, out / f"{name}.json")
    icnn_report(curves, baselines, out / f"{name}.png")


def icnn_report(curves: list, baselines: dict[int, float], plot_path: Path) -> None:
    marks = sorted({s for c in curves for s in c.steps if s % 10_000 == 0 or s == c.steps[-1]})
    print(
        "\n| D | settings | "
        + " | ".join(f"L2-UV % at step {s:,}" for s in marks)
        + " | wall s | best linear map |"
    )
    print("| --- | --- | " + " | ".join("---" for _ in marks) + " | --- | --- |")
    for c in sorted(curves, key=lambda c: c.dim):
        at = dict(zip(c.steps, c.l2_uv))
        cells = " | ".join(f"{at[s]:.2f}" if s in at else "-" for s in marks)
        print(f"| {c.dim} | {c.label} | {cells} | {c.seconds[-1]:.0f} | {baselines[c.dim]:.1f} |")
    print(f"\nplot: {plot(curves, baselines, plot_path)}")
