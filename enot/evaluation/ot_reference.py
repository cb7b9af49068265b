"""The OT reference: the exact discrete optimal transport between samples of two domains (POT's
network simplex, uniform weights), what the best map could do on them, beside random pairs, the
nearest target and, where index i of both domains is the same item, the true pairs."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
import ot
import torch
from torch import Tensor

from enot.costs import COSTS, Cost, get_cost
from enot.not_losses import QUADRATIC_COEFFICIENT

MAX_ITER = 10_000_000  # network-simplex iterations: far above what 10^4 images need
_OPTIMAL = 1  # ot.emd's result_code of a solved problem


class OTReferenceError(ValueError):
    """The samples do not fit the reference, or the solver did not reach the optimum."""


@dataclass(frozen=True)
class OTReference:
    """Mean costs per source image of the exact optimal matching and of its baselines:
    ``random_pairs`` over every pair (x_i, y_j), i != j when paired; ``nearest`` min_j c(x_i,
    y_j). The paired fields (None unless x[i] and y[i] are counterparts) are the mean c(x_i,
    y_i), the optimal plan's mass on those pairs, the share of x_i whose nearest target is y_i.
    """

    cost: str
    samples: int
    target_samples: int
    optimal: float
    random_pairs: float
    nearest: float
    true_pairs: float | None
    counterpart_share: float | None
    nearest_is_counterpart: float | None
    seconds: float

    def lines(self) -> list[str]:
        side = (
            f"{self.samples} a side"
            if self.samples == self.target_samples
            else f"{self.samples} source, {self.target_samples} target"
        )
        out = [
            f"exact OT of the samples ({side}, cost {self.cost}): {self.optimal:.4f} mean cost "
            f"per source image ({self.seconds:.1f} s)",
            f"random pairs {self.random_pairs:.4f}; each source image to its nearest target "
            f"{self.nearest:.4f} (a lower bound no map onto the targets needs to meet)",
        ]
        if self.true_pairs is not None:
            out.append(
                f"true pairs {self.true_pairs:.4f}; the optimal matching pairs "
                f"{self.counterpart_share:.1%} of the images with their counterpart, the "
                f"nearest target is the counterpart for {self.nearest_is_counterpart:.1%}"
            )
        return out


def _registry_name(cost: Cost) -> str | None:
    return next((name for name, known in COSTS.items() if known is cost), None)


def cost_label(cost: str | Cost) -> str:
    if isinstance(cost, str):
        return cost
    return _registry_name(cost) or getattr(cost, "__name__", type(cost).__name__)


def cost_matrix(x: Tensor, y: Tensor, cost: str | Cost, chunk: int = 512) -> np.ndarray:
    """[N, M] float64 matrix of c(x_i, y_j), built ``chunk`` rows at a time (costs that scale
    ||x - y||^2, expanded as ||x||^2 + ||y||^2 - 2 x.y), else one row of pairs at a time."""
    fn = get_cost(cost) if isinstance(cost, str) else cost
    if x.shape[1:] != y.shape[1:]:
        raise OTReferenceError(
            f"source images {tuple(x.shape[1:])} and target images {tuple(y.shape[1:])} differ "
            "in shape"
        )
    x, y = x.detach().cpu(), y.detach().cpu().double()
    out = torch.empty(len(x), len(y), dtype=torch.float64)
    # A cost k ||x - y||^2 (enot.not_losses.QUADRATIC_COEFFICIENT gives k for a batch shape):
    # the matrix comes from ||x||^2 + ||y||^2 - 2 x.y, without forming every x - y.
    scale = QUADRATIC_COEFFICIENT.get(_registry_name(fn))
    if scale is not None:
        yf = y.flatten(1)
        y_sq = yf.square().sum(dim=1)
        for i in range(0, len(x), chunk):
            rows = x[i : i + chunk].double().flatten(1)
            d2 = rows.square().sum(dim=1)[:, None] + y_sq[None, :] - 2.0 * rows @ yf.T
            out[i : i + chunk] = d2.clamp_min(0.0) * scale(x.shape)
    else:
        for i in range(len(x)):
            out[i] = fn(x[i : i + 1].double().expand_as(y), y)
    return out.numpy()


def ot_reference(
    x: Tensor, y: Tensor, cost: str | Cost = "sq_l2_per_size", *, paired: bool = False
) -> OTReference:
    """The exact OT between images x [N, C, H, W] and y [M, C, H, W] in [-1, 1] under ``cost``
    (a name or a batched cost of ``enot.costs``), weights 1/N and 1/M. ``paired``: x[i] and y[i]
    are counterparts. Raises OTReferenceError when the solver stops short of the optimum."""
    start = time.perf_counter()
    n, m = len(x), len(y)
    if n == 0 or m == 0:
        raise OTReferenceError(f"the OT reference needs images on both sides, got {n} and {m}")
    if paired and n != m:
        raise OTReferenceError(f"paired samples need as many images a side, got {n} and {m}")
    c = cost_matrix(x, y, cost)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the result code below says it once, as an error
        plan, log = ot.emd(
            np.full(n, 1.0 / n), np.full(m, 1.0 / m), c, numItermax=MAX_ITER, log=True
        )
    if log["result_code"] != _OPTIMAL:
        raise OTReferenceError(
            f"the exact OT of {n} x {m} samples was not solved: {log['warning']} "
            f"(result code {log['result_code']}, {MAX_ITER:,} iterations); use fewer samples"
        )
    optimal = float((plan * c).sum() / plan.sum())
    diagonal = np.diag(c) if paired else None
    off_diagonal = (c.sum() - diagonal.sum()) / (n * n - n) if paired and n > 1 else c.mean()
    return OTReference(
        cost=cost_label(cost),
        samples=n,
        target_samples=m,
        optimal=optimal,
        random_pairs=float(off_diagonal),
        nearest=float(c.min(axis=1).mean()),
        true_pairs=float(diagonal.mean()) if paired else None,
        counterpart_share=float(np.trace(plan) / plan.sum()) if paired else None,
        nearest_is_counterpart=float((c.argmin(axis=1) == np.arange(n)).mean()) if paired else None,
        seconds=time.perf_counter() - start,
    )
