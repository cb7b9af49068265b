"""The exact discrete OT between two samples of images (POT's network simplex, uniform
weights): the cost matrix, the optimal plan, and, for equal sample sizes, the matching it is.

With n images a side and weights 1/n, the optimal plan of the assignment problem is a
permutation (Birkhoff-von Neumann; the network simplex returns a vertex), so it is a matching
sigma: source i goes to target sigma[i]. The OT reference reports its cost; the warm start of
training regresses T onto it, and ``--pairs ot_plan`` draws ENOT's batch pairs from it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from enot.costs import COSTS, QUADRATIC_COEFFICIENT, Cost, get_cost

MAX_ITER = 10_000_000  # network-simplex iterations: far above what 10^4 images need
_OPTIMAL = 1  # ot.emd's result_code of a solved problem


class OTPlanError(ValueError):
    """The samples do not fit the exact OT, or the solver did not reach the optimum."""


def registry_name(cost: Cost) -> str | None:
    """The name ``enot.costs.COSTS`` knows ``cost`` by, or None for another callable."""
    return next((name for name, known in COSTS.items() if known is cost), None)


def cost_matrix(x: Tensor, y: Tensor, cost: str | Cost, chunk: int = 512) -> np.ndarray:
    """[N, M] float64 matrix of c(x_i, y_j), built ``chunk`` rows at a time (costs that scale
    ||x - y||^2, expanded as ||x||^2 + ||y||^2 - 2 x.y), else one row of pairs at a time."""
    fn = get_cost(cost) if isinstance(cost, str) else cost
    if x.shape[1:] != y.shape[1:]:
        raise OTPlanError(
            f"source images {tuple(x.shape[1:])} and target images {tuple(y.shape[1:])} differ "
            "in shape"
        )
    x, y = x.detach().cpu(), y.detach().cpu().double()
    out = torch.empty(len(x), len(y), dtype=torch.float64)
    # A cost k ||x - y||^2 (QUADRATIC_COEFFICIENT gives k for a batch shape): the matrix comes
    # from ||x||^2 + ||y||^2 - 2 x.y, without forming every x - y.
    scale = QUADRATIC_COEFFICIENT.get(registry_name(fn))
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


def exact_plan(c: np.ndarray) -> np.ndarray:
    """The optimal plan [N, M] of the cost matrix ``c`` with uniform weights 1/N and 1/M."""
    n, m = c.shape
    if n == 0 or m == 0:
        raise OTPlanError(f"the exact OT needs images on both sides, got {n} and {m}")
    import ot  # POT, with scikit-learn, takes seconds to import: only a solve needs it

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the result code below says it once, as an error
        plan, log = ot.emd(
            np.full(n, 1.0 / n), np.full(m, 1.0 / m), c, numItermax=MAX_ITER, log=True
        )
    if log["result_code"] != _OPTIMAL:
        raise OTPlanError(
            f"the exact OT of {n} x {m} samples was not solved: {log['warning']} "
            f"(result code {log['result_code']}, {MAX_ITER:,} iterations); use fewer samples"
        )
    return plan


@dataclass(frozen=True)
class Matching:
    """The optimal matching of n source to n target images: source i to target sigma[i], at
    ``cost``, the mean c(x_i, y_sigma(i)) (the exact OT cost of the samples)."""

    sigma: np.ndarray  # [n] int64, a permutation of 0..n-1
    cost: float


def exact_matching(x: Tensor, y: Tensor, cost: str | Cost) -> Matching:
    """The exact OT between equally many images x and y [n, C, H, W], as a matching."""
    if len(x) != len(y):
        raise OTPlanError(f"a matching needs as many images a side, got {len(x)} and {len(y)}")
    c = cost_matrix(x, y, cost)
    sigma = exact_plan(c).argmax(axis=1).astype(np.int64)
    if len(np.unique(sigma)) != len(sigma):  # a vertex of the assignment polytope is one
        raise OTPlanError("the solver's plan is not a permutation; the matching is undefined")
    return Matching(sigma=sigma, cost=float(c[np.arange(len(x)), sigma].mean()))
