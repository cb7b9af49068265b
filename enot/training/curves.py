"""One PNG of a run's curves against step: every evaluation metric, transport, losses, gradients.

Panels (those with data): target-class rate with its ceiling and identity levels; content kept
(ink-colour shift or MSE, with the random-pairs level); FID with its identity baseline and KID;
the dual estimate against the transport cost and their gap, with the exact OT cost of the train
samples where the run folder holds ot_reference.json, and the warm start shaded; the losses; the
stationarity of T(x) under g; the gradient norms.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on training machines
import matplotlib.pyplot as plt  # noqa: E402

from enot.training.artifacts import OT_REFERENCE  # noqa: E402


def read_log(path: Path) -> list[dict]:
    """Records of log.jsonl; when a resumed run logged a step again, its last record wins. The
    warm start's records (``"phase": "init"``) get the steps up to 0, its last at 0, so that
    they come before ENOT's step 1 on a shared axis."""
    by_key: dict[tuple[str, int], dict] = {}
    for line in Path(path).read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            if record.get("phase") == "init":
                by_key[("init", record["init_step"])] = record
                continue
            kind = "eval" if "best_by" in record or "fid" in record else "train"
            by_key[(kind, record["step"])] = record
    last_init = max((k[1] for k in by_key if k[0] == "init"), default=0)
    for (kind, n), record in by_key.items():
        if kind == "init":
            record["step"] = n - last_init
    return [by_key[k] for k in sorted(by_key, key=lambda k: (k[0] != "init", k[1], k[0]))]


def _series(records: list[dict], key: str) -> tuple[list[int], list[float]]:
    pairs = [(r["step"], r[key]) for r in records if r.get(key) is not None]
    return [s for s, _ in pairs], [v for _, v in pairs]


def _level(ax, records: list[dict], key: str, label: str, color: str) -> None:
    values = [r[key] for r in records if r.get(key) is not None]
    if values:
        ax.axhline(values[-1], color=color, linestyle="--", label=label)


def _rate(ax, records: list[dict]) -> None:
    ax.plot(*_series(records, "class_rate"), marker="o", label="T(x) read as target")
    _level(ax, records, "class_rate_ceiling", "real target (ceiling)", "green")
    _level(ax, records, "class_rate_identity", "untouched source (identity)", "gray")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("target-class rate (test split)")


def _content(ax, records: list[dict]) -> None:
    key = "ink_shift" if any("ink_shift" in r for r in records) else "mse"
    ax.plot(*_series(records, key), marker="o", label=f"{key}(x, T(x))")
    _level(ax, records, f"{key}_random", "random pairs", "gray")
    ax.set_title("content lost (lower keeps more)")


def _fid(ax, records: list[dict]) -> None:
    ax.plot(*_series(records, "fid"), marker="o", label="FID(T(x), y)")
    _level(ax, records, "identity_fid", "FID(x, y), identity", "gray")
    ax.set_title("FID on the test subset")
    steps, kid = _series(records, "kid")
    if kid:
        twin = ax.twinx()
        twin.plot(steps, kid, color="tab:red", marker=".", label="KID")
        twin.set_ylabel("KID", color="tab:red")


def read_reference(path: Path) -> dict | None:
    """The figures of ot_reference.json, or None where there is no readable file."""
    try:
        reference = json.loads(Path(path).read_text())
        return reference if {"optimal", "samples", "target_samples"} <= reference.keys() else None
    except (OSError, ValueError, AttributeError):
        return None


def _warm_phase(ax, records: list[dict]) -> None:
    """The warm start's steps (up to 0), shaded."""
    steps = [r["step"] for r in records if r.get("phase") == "init"]
    if steps:
        ax.axvspan(min(steps), 0, color="tab:green", alpha=0.08, label="warm start (OT plan)")


def _transport(ax, records: list[dict], reference: dict | None = None) -> None:
    ax.plot(*_series(records, "w_dist"), label="dual estimate (eq. 19)")
    ax.plot(*_series(records, "transport_cost"), label="mean c(x, T(x))")
    ax.plot(*_series(records, "dual_primal_gap"), label="dual - primal gap", alpha=0.6)
    ax.set_title("transport")
    if reference is not None:
        draw_reference(ax, reference)
    _warm_phase(ax, records)


def _stationarity(ax, records: list[dict]) -> None:
    """T's stationarity under g: both near 1 when grad g(T(x)) = grad_y c(x, T(x))."""
    ax.plot(*_series(records, "stationarity_cosine"), label="cos(grad g, grad_y c) at T(x)")
    ax.plot(*_series(records, "stationarity_ratio"), label="|grad g| / |grad_y c| (median)")
    ax.axhline(1.0, color="black", linestyle="--", linewidth=0.8)
    ax.set_yscale("symlog", linthresh=1.0)
    ax.set_title("stationarity of T(x) in c(x, .) - g(.)")


def draw_reference(ax, reference: dict) -> None:
    """A dashed level at the exact OT cost of the samples; random pairs dotted where they lie
    within the curves' range, else named in the label."""
    n, m = reference["samples"], reference["target_samples"]
    label = f"exact OT of the samples ({n} a side)" if n == m else f"exact OT ({n} x {m} samples)"
    low, high = ax.get_ylim()  # the range of the curves, before the levels stretch it
    random = reference.get("random_pairs")
    fits = random is not None and low <= random <= high
    if random is not None and not fits:
        label += f"; random pairs {random:.3g}"
    ax.axhline(reference["optimal"], color="black", linestyle="--", label=label)
    if fits:
        ax.axhline(random, color="gray", linestyle=":", label="random pairs")


def _losses(ax, records: list[dict]) -> None:
    ax.plot(*_series(records, "g_loss"), label="g loss")
    ax.plot(*_series(records, "t_loss"), label="T loss")
    ax.plot(*_series(records, "fit"), label="warm start: c(T(x), y_sigma(x))")
    ax.set_title("losses")
    _warm_phase(ax, records)


def _grads(ax, records: list[dict]) -> None:
    ax.plot(*_series(records, "grad_norm_t"), label="|grad T|")
    ax.plot(*_series(records, "grad_norm_g"), label="|grad g|")
    ax.set_yscale("log")
    ax.set_title("gradient norms")


def plot_training_curves(
    log_path: Path, out_path: Path, reference_path: Path | None = None
) -> Path:
    """Every panel the log has data for, in one row of up to three per line; the OT reference
    is read from ``reference_path``, by default ot_reference.json beside the log."""
    records = read_log(log_path)
    reference = read_reference(reference_path or Path(log_path).parent / OT_REFERENCE)
    has = lambda key: any(r.get(key) is not None for r in records)  # noqa: E731
    panels = [
        p
        for p, key in (
            (_rate, "class_rate"),
            (_content, "mse"),
            (_fid, "fid"),
            (functools.partial(_transport, reference=reference), "w_dist"),
            (_losses, "g_loss"),
            (_stationarity, "stationarity_cosine"),
            (_grads, "grad_norm_t"),
        )
        if has(key)
    ]
    cols = min(3, len(panels)) or 1
    rows = max(1, -(-len(panels) // cols))
    fig, axes = plt.subplots(
        rows, cols, figsize=(4.6 * cols, 3.4 * rows), squeeze=False, constrained_layout=True
    )
    flat = list(axes.flat)
    for draw, ax in zip(panels, flat):
        draw(ax, records)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in flat[len(panels) :]:
        ax.axis("off")
    out_path = Path(out_path)
    fig.savefig(out_path, dpi=110)
    plt.close(fig)
    return out_path
