"""The two-sided fixed-point test: ENOT from the identity and from the exact-OT warm start.

    python -m benchmarks.fixed_point --preset emoji_32 --max-seconds 1200 --init-seconds 300

Two runs of ``scripts/train.py`` with the same settings: one from T's own start (near the
identity), one warm-started by ``--init ot_plan`` (T regressed onto the exact OT matching of
the train split). A right solver climbs to the OT map from the first and keeps it from the
second: both end at the exact OT cost of the samples, with the dual estimate on the transport
cost and T(x) stationary in c(x, .) - g(.). A solver whose warm run falls back to where the
other stalls has a wrong fixed point, and more steps will not help; one whose warm run keeps
the answer while the other climbs slowly has a budget problem. The table gives each run's
figures over the last 20% of its logged ENOT steps, the plot every curve on one axis of steps
(the warm start before step 1). Flags after ``--`` go to both runs as they are.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import matplotlib
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from benchmarks.common import machine  # noqa: E402
from enot.training.artifacts import LOG, OT_REFERENCE  # noqa: E402
from enot.training.curves import read_log, read_reference  # noqa: E402

RUNS = ("identity", "ot_plan")
TAIL = 0.2  # the share of logged steps the end figures are taken over
FIGURES = ("transport_cost", "w_dist", "stationarity_cosine", "stationarity_ratio")


def run_command(name: str, args: argparse.Namespace, extra: list[str]) -> list[str]:
    out = Path(args.out) / name
    cmd = [sys.executable, "scripts/train.py", "--preset", args.preset, "--output-dir", str(out)]
    cmd += ["--max-seconds", str(args.max_seconds), "--steps", str(args.steps)]
    cmd += ["--seed", str(args.seed), "--eval-every", "0"]
    if name == "ot_plan":
        cmd += ["--init", "ot_plan", "--init-seconds", str(args.init_seconds)]
    return cmd + extra


def end_figures(records: list[dict]) -> dict[str, float]:
    """Means over the last TAIL of the logged ENOT steps, and the step count."""
    steps = [r for r in records if r.get("phase") != "init" and "w_dist" in r]
    if not steps:
        return {}
    tail = steps[-max(1, round(len(steps) * TAIL)) :]
    out = {k: statistics.fmean(r[k] for r in tail if k in r) for k in FIGURES if k in tail[0]}
    out["steps"] = steps[-1]["step"]
    warm = [r for r in records if r.get("phase") == "init"]
    if warm:
        out["warm_transport"] = warm[-1]["transport_cost"]
    return out


def plot(logs: dict[str, list[dict]], reference: dict | None, path: Path) -> None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8), constrained_layout=True)
    for (name, records), color in zip(logs.items(), ("tab:blue", "tab:orange")):
        steps = [r["step"] for r in records if "transport_cost" in r]
        left.plot(
            steps,
            [r["transport_cost"] for r in records if "transport_cost" in r],
            color=color,
            label=f"{name}: mean c(x, T(x))",
        )
        pairs = [(r["step"], r["w_dist"]) for r in records if "w_dist" in r]
        left.plot(*zip(*pairs), color=color, linestyle=":", label=f"{name}: dual estimate")
        cos = [(r["step"], r["stationarity_cosine"]) for r in records if "stationarity_cosine" in r]
        ratio = [(r["step"], r["stationarity_ratio"]) for r in records if "stationarity_ratio" in r]
        if cos:
            right.plot(*zip(*cos), color=color, label=f"{name}: cosine")
            right.plot(*zip(*ratio), color=color, linestyle=":", label=f"{name}: norm ratio")
    if reference is not None:
        left.axhline(
            reference["optimal"],
            color="black",
            linestyle="--",
            label=f"exact OT of the samples ({reference['samples']} a side)",
        )
    left.axvline(0, color="gray", linewidth=0.8)
    left.set_title("transport and dual (warm start before step 1)")
    right.axhline(1.0, color="black", linestyle="--", linewidth=0.8)
    right.set_yscale("symlog", linthresh=1.0)
    right.set_title("grad g(T(x)) against grad_y c(x, T(x))")
    for ax in (left, right):
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def table(figures: dict[str, dict], optimal: float | None) -> list[str]:
    head = "| run | ENOT steps | warm start's transport | transport | dual | dual / transport"
    head += " | transport / exact OT | cosine | norm ratio |"
    lines = [head, "|" + " --- |" * 9]
    for name, f in figures.items():
        if not f:
            lines.append(f"| {name} | no ENOT step logged |" + " |" * 7)
            continue
        t, w = f["transport_cost"], f["w_dist"]
        ot = f"{t / optimal:.2f}" if optimal else "n/a"
        lines.append(
            f"| {name} | {f['steps']} | {f.get('warm_transport', float('nan')):.3f} | {t:.3f} | "
            f"{w:.3f} | {w / t if t else float('nan'):.2f} | {ot} | "
            f"{f.get('stationarity_cosine', float('nan')):.3f} | "
            f"{f.get('stationarity_ratio', float('nan')):.3f} |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="emoji_32")
    parser.add_argument("--max-seconds", type=float, default=1200.0, help="ENOT's budget a run")
    parser.add_argument("--init-seconds", type=float, default=300.0, help="the warm start's")
    parser.add_argument("--steps", type=int, default=10**6, help="ENOT's step cap a run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/fixed_point")
    parser.add_argument("--parallel", action="store_true", help="both runs at once, 1 thread each")
    parser.add_argument("--report-only", action="store_true", help="read existing runs' logs")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.parallel:  # the runs' threads, which the machine line reports
        torch.set_num_threads(1)
    if not args.report_only:
        env = None
        if args.parallel:
            env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        procs, logs = [], []
        for name in RUNS:
            cmd = run_command(name, args, extra)
            print("$ " + " ".join(cmd), flush=True)
            logs.append(open(out / f"{name}.out", "w"))
            procs.append(subprocess.Popen(cmd, stdout=logs[-1], stderr=subprocess.STDOUT, env=env))
            if not args.parallel:
                procs[-1].wait()
        codes = [p.wait() for p in procs]
        for log in logs:
            log.close()
        if any(codes):
            print(f"a run failed (exit codes {codes}); see {out}/*.out", file=sys.stderr)
            return 1
    logs = {name: read_log(out / name / LOG) for name in RUNS if (out / name / LOG).is_file()}
    reference = read_reference(out / "identity" / OT_REFERENCE)
    optimal = reference["optimal"] if reference else None
    figures = {name: end_figures(records) for name, records in logs.items()}
    plot(logs, reference, out / "fixed_point.png")
    how = "both runs side by side" if args.parallel else "one run at a time"
    lines = [f"machine: {machine()}; {how}", *table(figures, optimal)]
    if len(figures) == 2 and all(figures.values()):
        a, b = (figures[n]["transport_cost"] for n in RUNS)
        lines.append(f"the two runs' end transport differ by {abs(a - b) / max(a, b):.1%}")
    print("\n".join(lines))
    (out / "fixed_point.md").write_text("\n".join(lines) + "\n")
    (out / "fixed_point.json").write_text(
        json.dumps({"exact_ot": optimal, "runs": figures, "machine": machine()}, indent=2) + "\n"
    )
    print(f"plot: {out / 'fixed_point.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
