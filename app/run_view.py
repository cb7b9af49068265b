"""What the Train tab shows of a run, read from the run's own files: progress, the curves
(drawn by the trainer's own ``enot.training.curves``, with the exact-OT level of
ot_reference.json), the latest sample grid, the judge's figures and the console's last lines.

Pictures are copied into fresh files of Gradio's upload area, which is the only folder the
demo serves; a picture is drawn again only when its source changed.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from pathlib import Path

from enot.training import artifacts
from enot.training.curves import plot_training_curves

from .train_jobs import OUTPUT, RunState

# Figures of an evaluation record in log.jsonl, in the order shown, with their labels.
JUDGE_FIGURES = (
    ("class_rate", "target-class rate of T(x)"),
    ("class_rate_ceiling", "ceiling (real targets)"),
    ("class_rate_identity", "identity (untouched source)"),
    ("style_rate", "style rate of T(x)"),
    ("fid", "FID(T(x), y)"),
    ("identity_fid", "identity FID(x, y)"),
    ("kid", "KID"),
    ("ink_shift", "ink-colour shift"),
    ("mse", "MSE(x, T(x))"),
)


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def progress_text(s: RunState) -> str:
    """One Markdown line: the run, its state, step of steps, rate and time left."""
    parts = [f"**{s.name}**: {s.state}", f"step {s.step:,} of {s.steps:,}"]
    if s.rate:
        parts.append(f"{s.rate:.2f} steps/s")
        if s.state == "running":
            left = (s.steps - s.step) / s.rate
            if s.max_seconds:
                left = min(left, s.max_seconds - s.step / s.rate)
            parts.append(f"about {_clock(left)} left")
    if s.state == "stopped":
        parts.append("checkpointed: **Resume** continues it exactly")
    if s.state == "failed":
        parts.append(f"the trainer exited with status {s.returncode}; see its output below")
    if s.state == "finished":
        parts.append("finished: its export is in the Translate tab's translator list")
    return "; ".join(parts)


def judge_text(folder: Path) -> str:
    """The judge's figures at each evaluation of log.jsonl, as a Markdown table."""
    log = folder / artifacts.LOG
    evals = []
    if log.is_file():
        for line in log.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if "fid" in record or "class_rate" in record or "style_rate" in record:
                evals.append(record)
    if not evals:
        return "no evaluation yet (the judge runs every --eval-every steps and at the end)"
    keys = [(k, label) for k, label in JUDGE_FIGURES if any(k in r for r in evals)]
    head = "| step | " + " | ".join(label for _, label in keys) + " |"
    rule = "|" + "---|" * (len(keys) + 1)
    rows = [
        f"| {r['step']} | "
        + " | ".join(f"{r[k]:.4g}" if isinstance(r.get(k), float) else "" for k, _ in keys)
        + " |"
        for r in evals[-8:]
    ]
    return "\n".join([head, rule, *rows])


def output_tail(folder: Path, lines: int = 12) -> str:
    """The trainer's last console lines (progress bar redraws folded to their last)."""
    path = folder / OUTPUT
    if not path.is_file():
        return ""
    with open(path, "rb") as f:
        f.seek(max(0, path.stat().st_size - 20_000))
        text = f.read().decode("utf-8", "replace")
    rows = [row.split("\r")[-1] for row in text.split("\n")]
    return "\n".join([r for r in rows if r.strip()][-lines:])


class Pictures:
    """The latest curves and sample grid of a run as served files, redrawn on change only."""

    def __init__(self, upload_root: Path):
        self.upload_root, self._lock = Path(upload_root), threading.Lock()
        self._cache: dict[tuple[str, Path], tuple[tuple, str]] = {}

    def _fresh(self, kind: str, source: Path, draw) -> str | None:
        if not source.is_file():
            return None
        st = source.stat()
        key, stamp = (kind, source), (st.st_mtime_ns, st.st_size)
        with self._lock:
            cached = self._cache.get(key)
            if cached and cached[0] == stamp:
                return cached[1]
            self.upload_root.mkdir(parents=True, exist_ok=True)
            out = Path(tempfile.mkdtemp(prefix=f"enot-{kind}-", dir=self.upload_root))
            try:
                path = str(draw(source, out / f"{kind}.png"))
            except (ValueError, OSError):  # a log line half written: the last picture stands
                return cached[1] if cached else None
            self._cache[key] = (stamp, path)
            return path

    def curves(self, folder: Path) -> str | None:
        return self._fresh("curves", folder / artifacts.LOG, plot_training_curves)

    def grid(self, folder: Path) -> str | None:
        return self._fresh(
            "grid",
            folder / artifacts.SAMPLES / artifacts.LATEST_SAMPLES,
            lambda src, dst: shutil.copyfile(src, dst),
        )
