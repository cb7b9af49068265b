"""The OT reference: the exact discrete optimal transport between samples of two domains
(``enot.ot_plan``), what the best map could do on them, beside random pairs, the
nearest target and, where index i of both domains is the same item, the true pairs."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from torch import Tensor

from data.errors import UserError
from enot.costs import Cost
from enot.ot_plan import OTPlanError, cost_matrix, exact_plan, registry_name


class OTReferenceError(UserError, ValueError):
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


def cost_label(cost: str | Cost) -> str:
    if isinstance(cost, str):
        return cost
    return registry_name(cost) or getattr(cost, "__name__", type(cost).__name__)


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
    try:
        c = cost_matrix(x, y, cost)
        plan = exact_plan(c)
    except OTPlanError as err:
        raise OTReferenceError(str(err)) from None
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
