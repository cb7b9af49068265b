"""ENOT losses: expectile-regularised neural optimal transport.

Buzun, Bobrin, Dylov, "ENOT: Expectile Regularization for Fast and Accurate Training of Neural
Optimal Transport", arXiv 2403.03777.

Notation (one direction, unpaired batches x ~ P, y ~ Q, sg = stop-gradient):

    T_x   = T(x)
    g*(x) = c(x, sg(T_x)) - g(sg(T_x))                  (approximate c-transform of g)
    L_g   = -(mean g(y) + mean g*) + lambda * [ mean L_tau(sg(g* - c(x, y)) + g(y))
                                              + mean L_tau(sg(g(y) - c(x, y)) + g*) ]
    L_T   = mean[ c(x, T_x) - g(T_x) ]                  (g's parameters frozen)
    W     = mean g* + mean g(y)                          (dual estimate of OT cost, eq. 19)

with the expectile loss L_tau(u) = tau * u^2 if u >= 0 else (1 - tau) * u^2. Both expectile terms
measure the same residual g*(x) + g(y) - c(x, y), which the c-transform inequality says is <= 0;
tau close to 1 punishes violations hard and replaces NOT's inner maximisation over T.

The functions here are pure: they take per-sample tensors and return a typed result. Given g on
sg(T_x) for L_g and g with frozen weights on T_x for L_T, the sum L_g + L_T has exactly the
gradients of the method, so one backward pass of the sum is right (`enot.step.enot_joint_losses`).
`enot.step.enot_forward` saves a forward of g by passing the same g(T_x) for both, and
`enot.step.backward_separately` routes the two backward passes; tests/test_losses.py proves
the two steps equal.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


def expectile(u: Tensor, tau: float) -> Tensor:
    """Elementwise expectile loss L_tau(u) = |tau - 1[u < 0]| * u^2.

    tau = 0.5 gives 0.5 * u^2, i.e. half the squared error.
    """
    weight = torch.where(u >= 0, tau, 1.0 - tau)
    return weight * u.square()


@dataclass(frozen=True)
class ENOTLosses:
    """The scalars of one ENOT step.

    g_loss: potential loss L_g (gradient meant for g only).
    t_loss: map loss L_T (gradient meant for T only).
    expectile: the regulariser lambda * [...] inside L_g.
    w_dist: dual estimate of the transport cost, mean g* + mean g(y) (eq. 19).
    transport_cost: mean c(x, T(x)), the primal cost of the current map.
    grad_penalty: the gradient penalty added to L_g, or None when the step has none.
    """

    g_loss: Tensor
    t_loss: Tensor
    expectile: Tensor
    w_dist: Tensor
    transport_cost: Tensor
    grad_penalty: Tensor | None = None
    mapped: Tensor | None = None  # the step's T(x), detached, for diagnostics (enot.step)

    def tensors(self) -> dict[str, Tensor]:
        """The scalars by name as detached float32 tensors (no host sync); the penalty only
        where the step has one."""
        names = ["g_loss", "t_loss", "expectile", "w_dist", "transport_cost", "grad_penalty"]
        return {k: getattr(self, k).detach().float() for k in names if getattr(self, k) is not None}

    def floats(self) -> dict[str, float]:
        """The same scalars as Python floats, for logging."""
        return {k: v.item() for k, v in self.tensors().items()}


def enot_losses(
    cost_x_tx: Tensor,
    cost_xy: Tensor,
    g_y: Tensor,
    g_sg_tx: Tensor,
    g_tx_frozen: Tensor,
    tau: float,
    lam: float,
    gauge: float = 0.0,
    grad_penalty: Tensor | None = None,
) -> ENOTLosses:
    """ENOT one-directional losses from per-sample values (all of shape [B]).

    cost_x_tx:   c(x, T(x)), differentiable in T(x).
    cost_xy:     c(x, y) on the unpaired batch, paired by index.
    g_y:         g(y).
    g_sg_tx:     g(sg(T(x))): differentiable in g's parameters only; enters L_g and W.
    g_tx_frozen: g(T(x)) with g's parameters frozen: differentiable in T(x) only; enters L_T.

    gauge: weight of gauge * (mean g(y))^2 added to L_g (0 in the paper). L_g and W are
    unchanged by g -> g + a, so nothing holds the level of g: under Adam it drifts, and the
    logged L_T = mean c - g(T(x)) with it (how far: docs/quickstart.md, "The gauge"). The term
    pins mean g(y) near 0; T's gradient, which depends on g's slope only, does not see it.

    grad_penalty: a scalar added to L_g as it is, differentiable in g's parameters: the R1
    penalty of ``enot.step.r1_penalty`` (not in the paper; None: nothing added).

    The stop-gradients of the paper are applied here: the g loss sees c(x, T(x)) detached, and each
    expectile term detaches the partner potential. With the two g inputs as described, L_g + L_T
    can be backpropagated at once. A caller that passes one tensor g(T(x)) for both (the lean
    step) must route L_g into g's parameters and L_T into T's itself.
    """
    g_star = cost_x_tx.detach() - g_sg_tx
    residual_for_g = (g_star - cost_xy).detach() + g_y
    residual_for_gstar = (g_y - cost_xy).detach() + g_star
    reg = lam * (expectile(residual_for_g, tau).mean() + expectile(residual_for_gstar, tau).mean())
    w_dist = g_star.mean() + g_y.mean()
    g_loss = -w_dist + reg
    if gauge:
        g_loss = g_loss + gauge * g_y.mean().square()
    if grad_penalty is not None:
        g_loss = g_loss + grad_penalty
    t_loss = (cost_x_tx - g_tx_frozen).mean()
    return ENOTLosses(
        g_loss=g_loss,
        t_loss=t_loss,
        expectile=reg.detach(),
        w_dist=w_dist.detach(),
        transport_cost=cost_x_tx.detach().mean(),
        grad_penalty=None if grad_penalty is None else grad_penalty.detach().float(),
    )
