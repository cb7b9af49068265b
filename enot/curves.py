"""One PNG of a run's curves against step: FID (when tracked), the W2 estimate and the losses."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on training machines
import matplotlib.pyplot as plt  # noqa: E402


def read_log(path: Path) -> list[dict]:
    """Records of log.jsonl; when a resumed run logged a step again, its last record wins."""
    by_key: dict[tuple[str, int], dict] = {}
    for line in Path(path).read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            kind = "eval" if "fid" in record else "train"
            by_key[(kind, record["step"])] = record
    return [by_key[k] for k in sorted(by_key, key=lambda k: (k[1], k[0]))]


def _series(records: list[dict], key: str) -> tuple[list[int], list[float]]:
    pairs = [(r["step"], r[key]) for r in records if r.get(key) is not None]
    return [s for s, _ in pairs], [v for _, v in pairs]


def plot_training_curves(log_path: Path, out_path: Path) -> Path:
    """Panels: FID with its identity baseline (if tracked), W2 estimate, g and T losses."""
    records = read_log(log_path)
    has_fid = any("fid" in r for r in records)
    panels = 3 if has_fid else 2
    fig, axes = plt.subplots(1, panels, figsize=(4.5 * panels, 3.4), constrained_layout=True)
    axes = list(axes)
    if has_fid:
        ax = axes.pop(0)
        ax.plot(*_series(records, "fid"), marker="o", label="FID(T(x), y)")
        baseline = [r["identity_fid"] for r in records if r.get("identity_fid") is not None]
        if baseline:
            ax.axhline(baseline[-1], color="gray", linestyle="--", label="FID(x, y), identity")
        ax.set_title("FID on the test subset")
        ax.legend()
    ax = axes.pop(0)
    ax.plot(*_series(records, "w_dist"), label="W2 estimate (eq. 19)")
    ax.plot(*_series(records, "transport_cost"), label="mean c(x, T(x))")
    ax.set_title("transport")
    ax.legend()
    ax = axes.pop(0)
    ax.plot(*_series(records, "g_loss"), label="g loss")
    ax.plot(*_series(records, "t_loss"), label="T loss")
    ax.set_title("losses")
    ax.legend()
    for ax in fig.axes:
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    out_path = Path(out_path)
    fig.savefig(out_path, dpi=110)
    plt.close(fig)
    return out_path
