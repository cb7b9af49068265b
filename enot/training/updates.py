"""The methods' updates, as the training loop runs them: zero the gradients, the method's forward
(``enot.step``, ``enot.not_step``, ``enot.warm_start``), backward, ``check``, ``opt.step()``.

The loop calls these, and so does every benchmark that runs a method's iterations
(``benchmarks.comparison``, ``benchmarks.step_timing``, ``benchmarks.step_memory``), so a
measurement is of the step that trains. ``backward`` is ``accelerator.backward`` in training,
so that mixed-precision loss scaling applies. ``check`` is the finite guard: it takes one
update's named scalars (losses, gradient norms) and returns them as floats, or raises before
the optimiser steps; the loop's gathers them over processes (``enot.training.finite_guard``),
a benchmark passes ``enot.optim.finite_means``. ``check=None`` skips the gradient norms and the
check, for a step counted on tensors without data (``benchmarks.step_memory``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.optim import Optimizer

from enot.costs import Cost
from enot.losses import ENOTLosses
from enot.not_step import not_map_forward, not_potential_forward
from enot.step import (
    Backward,
    ENOTObjective,
    backward_separately,
    enot_forward,
    grad_norm,
    trainable_params,
)
from enot.warm_start import regression_forward

Check = Callable[[dict[str, Tensor]], dict[str, float]]


def enot_update(
    T: nn.Module,
    g: nn.Module,
    opt_t: Optimizer,
    opt_g: Optimizer,
    x: Tensor,
    y: Tensor,
    objective: ENOTObjective,
    backward: Backward = torch.autograd.backward,
    check: Check | None = None,
) -> tuple[ENOTLosses, dict[str, float]]:
    """One ENOT iteration (Alg. 1): g and T updated 1:1 on the batch pair (x, y). Returns the
    losses (``mapped`` holds T(x)) and their checked values."""
    opt_t.zero_grad(set_to_none=True)
    opt_g.zero_grad(set_to_none=True)
    losses = enot_forward(T, g, x, y, objective)
    backward_separately(losses, T, g, backward)  # L_g into g, L_T into T
    values = {}
    if check is not None:
        values = check(
            {**losses.tensors(), "grad_norm_t": grad_norm(T), "grad_norm_g": grad_norm(g)}
        )
    opt_g.step()
    opt_t.step()
    return losses, values


def not_map_updates(
    T: nn.Module,
    g: nn.Module,
    opt_t: Optimizer,
    batches: list[Tensor],
    cost: Cost,
    backward: Backward,
    check: Check,
) -> dict[str, float]:
    """NOT's K map updates, one per source batch, g frozen (its unwrapped module: only T wants
    these gradients); the mean of their checked values."""
    means: dict[str, float] = {}
    for xt in batches:
        opt_t.zero_grad(set_to_none=True)
        update = not_map_forward(T, g, xt, cost)
        backward(update.t_loss, inputs=trainable_params(T))
        checked = check(
            {
                "t_loss": update.t_loss.detach().float(),
                "transport_cost": update.transport_cost.float(),
                "grad_norm_t": grad_norm(T),
            }
        )
        opt_t.step()
        for name, v in checked.items():
            means[name] = means.get(name, 0.0) + v / len(batches)
    return means


def not_potential_update(
    T: nn.Module,
    g: nn.Module,
    opt_g: Optimizer,
    x: Tensor,
    y: Tensor,
    cost: Cost,
    alpha: float,
    k: float,
    backward: Backward,
    check: Check,
) -> dict[str, float]:
    """NOT's potential update on a source and a target batch, with the convexity penalty
    (alpha, k) of not_convex (``enot.training.networks.convexity_from``); its checked values."""
    opt_g.zero_grad(set_to_none=True)
    p = not_potential_forward(T, g, x, y, cost, alpha, k)
    backward(p.g_loss, inputs=trainable_params(g))
    potential = {
        "g_loss": p.g_loss.detach().float(),
        "w_dist": p.w_dist.float(),
        "grad_norm_g": grad_norm(g),
    }
    if alpha > 0:
        potential["jensen"] = p.jensen.float()
    checked = check(potential)
    opt_g.step()
    return checked


def regression_update(
    T: nn.Module,
    opt: Optimizer,
    x: Tensor,
    partner: Tensor,
    cost: Cost,
    backward: Backward,
    check: Check,
) -> dict[str, float]:
    """One warm-start step: T regressed onto the matched partners (``enot.warm_start``)."""
    opt.zero_grad(set_to_none=True)
    losses = regression_forward(T, x, partner, cost)
    backward(losses.fit, inputs=trainable_params(T))
    values = check({**losses.tensors(), "grad_norm_t": grad_norm(T)})
    opt.step()
    return values
