"""How far the exact OT of colored MNIST's train samples moves the ink colour.

The judge's ink shift |ink(x) - ink(T(x))| asks a map to keep each digit's colour. The exact OT
matching of the train split (``enot.ot_plan.exact_matching``, the cost of the task) is what an
ENOT map converges to on these samples; this prints its mean ink shift per seed, beside that of
random pairs, for the 450 train digits a side in one colour each (``--tints 1``) or drawn in
more colours (``--tints N``, the first ``--samples`` items evenly spread).

    python -m benchmarks.plan_ink --seeds 0 1 2 3 4 --tints 1
"""

from __future__ import annotations

import argparse

import torch

from data import spread_indices
from data.colored_mnist import ColoredMNIST
from enot.evaluation.split_judge import ink_shift
from enot.ot_plan import exact_matching


def plan_ink(seed: int, tints: int, samples: int, source: int = 2, target: int = 3) -> dict:
    """Mean ink shift of the exact OT matching and of random pairs, for one seed's colours."""
    x, y = (ColoredMNIST(d, "train", 32, seed, tints=tints) for d in (source, target))
    n = min(samples, len(x), len(y))
    pick = spread_indices(len(x), n)
    xs = torch.stack([x[i] for i in pick])
    ys = torch.stack([y[i] for i in pick])
    sigma = torch.from_numpy(exact_matching(xs, ys, "sq_l2_per_size").sigma)
    shuffled = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return {
        "seed": seed,
        "samples": n,
        "plan": float(ink_shift(xs, ys[sigma]).mean()),
        "random": float(ink_shift(xs, ys[shuffled]).mean()),
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--tints", type=int, default=1, help="colours per train digit")
    p.add_argument("--samples", type=int, default=450, help="items a side in the matching")
    args = p.parse_args(argv)
    print("| seed | items a side | ink shift, exact OT matching | ink shift, random pairs |")
    print("| --- | --- | --- | --- |")
    for seed in args.seeds:
        r = plan_ink(seed, args.tints, args.samples)
        print(f"| {seed} | {r['samples']} | {r['plan']:.4f} | {r['random']:.4f} |")


if __name__ == "__main__":
    main()
