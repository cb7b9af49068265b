"""NOT losses: Neural Optimal Transport and its convexity (Jensen) regulariser.

Korotin, Selikhanovych, Burnaev, "Neural Optimal Transport", ICLR 2023, arXiv 2201.12220,
Algorithm 1, with the potential f (our g) and the map T, unpaired x ~ P, y ~ Q:

    L_T = mean[ c(x, T(x)) - f(T(x)) ]          (K inner steps, f frozen)
    L_f = mean f(T(x)) - mean f(y)              (one step, T(x) detached)
    W   = mean f(y) + mean[ c(x, T(x)) - f(T(x)) ]   (the max-min objective: an OT cost estimate)

Convexity regulariser. For a quadratic cost c(x, y) = k ||x - y||^2 a potential f is
c-concave exactly when psi(y) = k ||y||^2 - f(y) is convex (expand the square in
f(y) = inf_x c(x, y) - u(x): k||y||^2 - f(y) = sup_x 2k<x, y> - k||x||^2 + u(x), a supremum of
affine functions; Brenier 1991, Villani 2009 Thm 5.10 and Def. 5.7). Convexity-regularised NOT
adds to L_f

    alpha * mean ReLU( psi(t y1 + (1-t) y2) - t psi(y1) - (1-t) psi(y2) ),   t ~ U[0, 1],

with y1, y2 the two halves of the target batch: Jensen's inequality, which holds for every pair
exactly when psi is convex.

Scaling of psi. The sources write psi(y) = ||y||^2/2 - f(y), i.e. k = 1/2, the cost
||x - y||^2 / 2. Our costs scale the squared distance: sq_l2_per_size is ||x-y||^2 / (C * S), i.e.
k = 1/(C S); pixel_mse is k = 1/(C S^2); half_sq_l2 is k = 1/2, the sources' psi. We use
psi = k ||y||^2 - f(y) with the run's own k. That is the sources' psi of the equivalent
problem rescaled by 2k: the same convex/non-convex verdict, and the penalty is in the units of f
and of the cost, so alpha weighs it against L_f the same way at every resolution.

The functions are pure: per-sample tensors or callables in, a typed result out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

Potential = Callable[[Tensor], Tensor]


@dataclass(frozen=True)
class NOTMapLoss:
    """One inner T step. t_loss: L_T (gradient meant for T only); transport_cost: mean c."""

    t_loss: Tensor
    transport_cost: Tensor


@dataclass(frozen=True)
class NOTPotentialLoss:
    """The potential step. g_loss: L_f (+ alpha * jensen); w_dist: the objective W above."""

    g_loss: Tensor
    jensen: Tensor
    w_dist: Tensor


def not_map_loss(cost_x_tx: Tensor, f_tx: Tensor) -> NOTMapLoss:
    """L_T = mean[c(x, T(x)) - f(T(x))] from per-sample [B] values, both differentiable in T(x)."""
    return NOTMapLoss(t_loss=(cost_x_tx - f_tx).mean(), transport_cost=cost_x_tx.detach().mean())


def not_potential_loss(
    f_tx: Tensor, f_y: Tensor, cost_x_tx: Tensor, jensen: Tensor | None = None, alpha: float = 0.0
) -> NOTPotentialLoss:
    """L_f = mean f(T(x)) - mean f(y) + alpha * jensen, T(x) detached by the caller.

    cost_x_tx (detached) only enters the logged estimate W = mean c - L_f (without the penalty).
    """
    fit = f_tx.mean() - f_y.mean()
    penalty = jensen if jensen is not None else torch.zeros((), device=fit.device)
    return NOTPotentialLoss(
        g_loss=fit + alpha * penalty,
        jensen=penalty.detach(),
        w_dist=(cost_x_tx.detach().mean() - fit).detach(),
    )


def convex_psi(f: Potential, k: float) -> Potential:
    """psi(y) = k ||y||^2 - f(y), per sample; convex exactly when f is c-concave for k||x-y||^2."""

    def psi(y: Tensor) -> Tensor:
        return k * y.flatten(1).square().sum(dim=1) - f(y)

    return psi


def jensen_penalty(psi: Potential, y1: Tensor, y2: Tensor, t: Tensor) -> Tensor:
    """mean ReLU(psi(t y1 + (1-t) y2) - t psi(y1) - (1-t) psi(y2)); t is [B] in [0, 1].

    Zero when psi is convex along every segment [y1_i, y2_i], positive where it is not.
    """
    if y1.shape != y2.shape or t.shape != y1.shape[:1]:
        raise ValueError(
            f"jensen_penalty needs y1, y2 of one shape and one t per pair; got "
            f"{tuple(y1.shape)}, {tuple(y2.shape)}, t {tuple(t.shape)}"
        )
    tb = t.view(-1, *([1] * (y1.dim() - 1)))
    gap = psi(tb * y1 + (1 - tb) * y2) - t * psi(y1) - (1 - t) * psi(y2)
    return torch.relu(gap).mean()
