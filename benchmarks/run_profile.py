"""Where a training run's seconds go: a py-spy profile of ``scripts/train.py``, summed by what
the script and its loop were doing when each sample was taken.

Record the run with py-spy (``pip install py-spy``; sampling at 10 Hz costs the run little),
then read the file:

    py-spy record --rate 10 --subprocesses --format raw -o run.raw -- \\
        python scripts/train.py --preset colored_mnist
    python -m benchmarks.run_profile run.raw --rate 10

Each row is the seconds sampled under one frame: the calls of ``main`` in ``scripts/train.py``
(the loop, the judge's set-up, the report), the calls inside the loop's ``train`` (the update's
forward and backward, the EMA, the judge, the finish), and the worker threads' work (the
Inception features of FID). Threads are sampled too, so the seconds add to more than the wall
time when a thread works beside the main one.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

MAIN = "main (train.py"
LOOP = "train (enot/training/loop.py"
THREAD = "Thread._bootstrap (threading.py"


def frame_name(frame: str) -> str:
    """``fn (file.py:12)`` -> ``fn (file.py)``: the line numbers of one function summed."""
    return re.sub(r":\d+\)", ")", frame)


def phases(lines: list[str], rate: float) -> dict[str, Counter]:
    """Collapsed stacks (py-spy's raw format: ``process;frame;...;frame COUNT``) -> seconds per
    call under ``main``, under the loop, and in worker threads."""
    out = {"main": Counter(), "loop": Counter(), "threads": Counter()}
    for line in lines:
        line = line.rstrip()
        if not line:
            continue
        stack, count = line.rsplit(" ", 1)
        frames = [frame_name(f) for f in stack.split(";")[1:]]
        seconds = int(count) / rate
        for i, f in enumerate(frames[:-1]):
            nxt = frames[i + 1]
            if f.startswith(MAIN):
                out["main"][nxt] += seconds
            if f.startswith(LOOP):
                depth = frames[i + 2] if i + 2 < len(frames) else ""
                out["loop"][f"{nxt} > {depth}".rstrip(" >")] += seconds
                break
        if frames and frames[0].startswith(THREAD):
            work = [f for f in frames if not f.startswith(("Thread.", "_worker", "_WorkItem"))]
            out["threads"][work[0] if work else frames[-1]] += seconds
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("profile", type=Path, help="py-spy record --format raw output")
    p.add_argument("--rate", type=float, default=10, help="the --rate it was recorded at")
    p.add_argument("--top", type=int, default=12, help="rows per part")
    p.add_argument("--json", type=Path, help="write the seconds per part and call here")
    args = p.parse_args(argv)
    if not args.profile.is_file():
        p.error(f"no profile at {args.profile}: record one with py-spy (see --help)")
    parts = phases(args.profile.read_text().splitlines(), args.rate)
    titles = {
        "main": "scripts/train.py main",
        "loop": "inside the loop (train)",
        "threads": "worker threads",
    }
    for part, counter in parts.items():
        print(f"{titles[part]}: {sum(counter.values()):,.1f} s")
        for name, seconds in counter.most_common(args.top):
            print(f"  {seconds:8.1f} s  {name[:150]}")
    if args.json:
        args.json.write_text(json.dumps({k: dict(v) for k, v in parts.items()}, indent=2) + "\n")


if __name__ == "__main__":
    main()
