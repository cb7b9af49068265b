"""A preset over seeds, with variants: how robust a setting is, not how lucky one run was.

Each (variant, seed) is one ``scripts/train.py`` process, ``--jobs`` at a time with
``--threads`` threads each. After a run its two exports (``export``, the last map, and
``export_best``) are judged again on the whole *train* split of the source domain (450 digits on
colored MNIST), a reading nine times less noisy than the 50 test images that pick the best
export. One JSON line per run is appended to ``OUT/results.jsonl`` as it ends (so a sweep cut
short keeps what finished), and ``OUT/table.md`` gives each variant's median and range.

    python -m benchmarks.seed_sweep --out runs/sweep --seeds 0 1 2 3 4 --jobs 2 --threads 1 \
        --variant preset= --variant floor03="--final-lr-ratio 0.3"

A variant is NAME=FLAGS, the flags added to ``scripts/train.py --preset PRESET --seed S``.
``python -m benchmarks.seed_sweep --table OUT`` rewrites the table from the results alone.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from enot.training.artifacts import EXPORT, EXPORT_BEST, LOG, SUMMARY

ROOT = Path(__file__).resolve().parents[1]


def judge_train_split(run: Path) -> dict[str, dict[str, float]]:
    """Class rate and ink shift of a run's exports on the whole train split of its source."""
    import torch

    from enot.evaluation.held_out import data_from_config
    from enot.evaluation.judge import judge_for
    from enot.export import load_export

    device = "cuda" if torch.cuda.is_available() else "cpu"
    out: dict[str, dict[str, float]] = {}
    judge = None
    for name in (EXPORT, EXPORT_BEST):
        if not (run / name).is_dir():
            continue
        export = load_export(run / name)
        if judge is None:
            judge = judge_for(data_from_config(export.config), split="train", device=device)
        metrics = judge(export.T.to(device), device=device).metrics()
        out[name] = {k: metrics[k] for k in ("class_rate", "ink_shift") if k in metrics}
    return out


def read_run(run: Path) -> dict:
    """The figures of one finished run: its judge checks, both exports, the train-split reading."""
    from enot.training.curves import read_log

    summary = json.loads((run / SUMMARY).read_text())
    records = read_log(run / LOG)  # a step logged again after a resume counts once
    checks = [(r["step"], r["class_rate"], r["ink_shift"]) for r in records if "class_rate" in r]
    best = summary.get("best_step")
    best_row = next((c for c in checks if c[0] == best), None)
    last = summary["last_eval"]
    return {
        "seconds": summary["seconds_this_run"],
        "steps": summary["steps"],
        "checks": checks,
        "export": {"class_rate": last["class_rate"], "ink_shift": last["ink_shift"]},
        "export_best": (
            {"step": best, "class_rate": best_row[1], "ink_shift": best_row[2]}
            if best_row
            else None
        ),
        "train_split": json.loads((run / "train_split.json").read_text())
        if (run / "train_split.json").is_file()
        else {},
    }


def run_one(args: argparse.Namespace, name: str, flags: str, seed: int) -> dict:
    """Train one (variant, seed), judge its exports on the train split, return its figures."""
    run = Path(args.out) / name / f"seed{seed}"
    cmd = [
        sys.executable,
        str(ROOT / "scripts" / "train.py"),
        "--preset",
        args.preset,
        "--seed",
        str(seed),
        "--output-dir",
        str(run),
        *shlex.split(flags),
    ]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    run.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(run / "train.log", "w") as log:
        rc = subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT).returncode
    wall = time.perf_counter() - start
    row = {"variant": name, "flags": flags, "seed": seed, "rc": rc, "wall": round(wall, 1)}
    if rc == 0:
        judge = [sys.executable, "-m", "benchmarks.seed_sweep", "--judge", str(run)]
        subprocess.run(judge, env=env, cwd=ROOT, check=False)
        row.update(read_run(run))
    with open(Path(args.out) / "results.jsonl", "a") as f:
        f.write(json.dumps(row) + "\n")
    print(f"{name} seed {seed}: rc {rc}, {wall:.0f} s", flush=True)
    return row


def _spread(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"


def write_table(out: Path) -> str:
    """OUT/table.md: per variant, median (range) of each figure over its seeds."""
    rows: dict[str, list[dict]] = {}
    for line in (out / "results.jsonl").read_text().splitlines():
        row = json.loads(line)
        rows.setdefault(row["variant"], []).append(row)
    head = (
        "| variant | seeds | export rate | export ink | best rate | best ink | "
        "export rate, train split | best rate, train split | seconds |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
    )
    lines = []
    for name, runs in rows.items():
        ok = [r for r in runs if r["rc"] == 0]
        best = [r["export_best"] for r in ok if r.get("export_best")]
        tr = [r["train_split"] for r in ok]
        cells = [
            f"{name} (`{runs[0]['flags']}`)",
            ",".join(str(r["seed"]) for r in sorted(ok, key=lambda r: r["seed"]))
            + (f"; {len(runs) - len(ok)} failed" if len(ok) < len(runs) else ""),
            _spread([r["export"]["class_rate"] for r in ok]),
            _spread([r["export"]["ink_shift"] for r in ok]),
            _spread([b["class_rate"] for b in best]),
            _spread([b["ink_shift"] for b in best]),
            _spread([t["export"]["class_rate"] for t in tr if "export" in t]),
            _spread([t["export_best"]["class_rate"] for t in tr if "export_best" in t]),
            _spread([r["seconds"] for r in ok]),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    text = head + "\n".join(lines) + "\n"
    (out / "table.md").write_text(text)
    return text


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="runs/sweep", help="folder of the runs and results")
    p.add_argument("--preset", default="colored_mnist")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--variant", action="append", default=[], metavar="NAME=FLAGS")
    p.add_argument("--jobs", type=int, default=2, help="runs at a time")
    p.add_argument("--threads", type=int, default=1, help="torch threads per run")
    p.add_argument("--judge", metavar="RUN", help=argparse.SUPPRESS)
    p.add_argument("--table", metavar="OUT", help="rewrite OUT/table.md from OUT/results.jsonl")
    args = p.parse_args(argv)
    if args.judge:
        run = Path(args.judge)
        (run / "train_split.json").write_text(json.dumps(judge_train_split(run)))
        return
    if args.table:
        print(write_table(Path(args.table)))
        return
    variants = [v.split("=", 1) for v in args.variant or ["preset="]]
    if any(len(v) != 2 or not v[0] for v in variants):
        p.error("each --variant is NAME=FLAGS (FLAGS may be empty)")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    jobs = [(name, flags, seed) for seed in args.seeds for name, flags in variants]
    with ThreadPoolExecutor(args.jobs) as pool:
        list(pool.map(lambda j: run_one(args, *j), jobs))
    print(write_table(Path(args.out)))


if __name__ == "__main__":
    main()
