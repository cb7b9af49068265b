"""Pairs of training images matched by the exact OT of the train split's samples.

The exact discrete OT between n source and n target training images (``enot.ot_plan``) is a
matching sigma. The warm start (``--init ot_plan``) regresses T onto it, and ``--pairs
ot_plan`` draws ENOT's batch pairs (x_i, y_sigma(i)) from it instead of independent batches.
Where a domain holds more than ``--plan-samples`` images, an evenly spread subset of each is
matched, and the run says so. The matching is solved once per run folder and kept there
(``ot_plan.npz``), so a resumed run reads the same pairs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from data import spread_indices
from enot.config import Config
from enot.ot_plan import exact_matching
from enot.training.artifacts import OT_PLAN
from enot.training.streams import train_domains


class PlanPairs(Dataset):
    """Item i is (x_i, y_sigma(i)) of the matched subsets, both mirrored or neither."""

    def __init__(
        self,
        source: Dataset,
        target: Dataset,
        source_index: np.ndarray,
        target_index: np.ndarray,
        sigma: np.ndarray,
        flip: bool,
    ):
        self.source, self.target, self.flip = source, target, flip
        self.source_index, self.target_index, self.sigma = source_index, target_index, sigma

    def __len__(self) -> int:
        return len(self.sigma)

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        x = self.source[int(self.source_index[i])]
        y = self.target[int(self.target_index[self.sigma[i]])]
        # One coin for both images (torch's global RNG, as data.random_flip draws it).
        if self.flip and torch.rand(()) < 0.5:
            x, y = x.flip(-1), y.flip(-1)
        return x, y


def plan_pairs(cfg: Config, run_dir: Path, log=print) -> PlanPairs:
    """The matched pairs of ``cfg``'s train split: solved and written to ``run_dir/ot_plan.npz``
    on the first call, read from it afterwards."""
    source, target = train_domains(cfg, flip=False)
    path = Path(run_dir) / OT_PLAN
    if path.is_file():
        with np.load(path) as saved:
            si, ti, sigma = saved["source_index"], saved["target_index"], saved["sigma"]
        log(f"OT plan pairs: {len(sigma)} a side, read from {path}")
    else:
        n = min(len(source), len(target), cfg.train.plan_samples)
        si = np.asarray(spread_indices(len(source), n), dtype=np.int64)
        ti = np.asarray(spread_indices(len(target), n), dtype=np.int64)
        x = torch.stack([source[int(i)] for i in si])
        y = torch.stack([target[int(i)] for i in ti])
        matching = exact_matching(x, y, cfg.method.cost)
        sigma = matching.sigma
        whole = n == len(source) == len(target)
        log(
            f"OT plan pairs: the exact matching of {n} source and {n} target train images"
            + ("" if whole else f" (of {len(source)} and {len(target)}; --plan-samples {n})")
            + f", mean cost {matching.cost:.4f}"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, source_index=si, target_index=ti, sigma=sigma)
    return PlanPairs(source, target, si, ti, sigma, cfg.data.flip)
