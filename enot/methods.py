"""One outer iteration of each method, as a plain function of networks, optimisers, batches
and settings. The training loop calls one per step (``enot.training.loop``, its ``match``).

An outer iteration is what ``--steps`` counts, what a checkpoint's step is, and what the two
cosine learning-rate schedules step once; so every method's schedule spans ``--steps`` outer
iterations, and the K T-updates inside one NOT iteration share that iteration's learning rate.

* ``enot_iteration`` (Buzun, Bobrin, Dylov, arXiv 2403.03777): one batch pair,
  ``enot.step.enot_step``, then one g update and one T update.
* ``not_iteration`` (Korotin, Selikhanovych, Burnaev, arXiv 2201.12220, Alg. 1): K T updates,
  each on its own source batch with g frozen, then one potential update on a source batch and
  a target batch. With ``alpha > 0`` (``not_convex``) the potential loss gains alpha * the
  Jensen penalty of psi = k||y||^2 - g (``enot.not_losses``); ``not_ae`` is the same iteration
  from the source domain to itself with a bottleneck T and its own cost (``enot.not_ae``).

Every update's losses and gradient norms go through ``check`` (``enot.finite.finite_means``
unless the caller gathers over processes) before its optimiser steps, so a non-finite value
stops the run with no weight touched by it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn
from torch.optim import Optimizer

from enot.costs import Cost
from enot.finite import finite_means
from enot.not_losses import convex_psi, jensen_penalty, not_map_loss, not_potential_loss
from enot.step import Backward, as_float32, enot_step, trainable_params

Check = Callable[[dict[str, Tensor]], dict[str, float]]  # named scalars -> their float values


def grad_norm(model: nn.Module) -> Tensor:
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    return torch.nn.utils.get_total_norm(grads).float()


def enot_iteration(
    T: nn.Module,
    g: nn.Module,
    opt_t: Optimizer,
    opt_g: Optimizer,
    x: Tensor,
    y: Tensor,
    cost: Cost,
    tau: float,
    lam: float,
    gauge: float = 0.0,
    *,
    r1: float = 0.0,
    augment: bool = False,
    backward: Backward = torch.autograd.backward,
    check: Check = finite_means,
) -> dict[str, float]:
    """ENOT: g and T updated 1:1 on the batch pair (x, y); returns the checked values
    (``r1`` and ``augment``: the potential's options of ``enot.step.enot_step``)."""
    opt_t.zero_grad(set_to_none=True)
    opt_g.zero_grad(set_to_none=True)
    losses = enot_step(
        T, g, x, y, cost, tau, lam, backward=backward, gauge=gauge, r1=r1, augment=augment
    )
    values = losses.scalars()
    values.update(grad_norm_t=grad_norm(T), grad_norm_g=grad_norm(g))
    out = check(values)
    opt_g.step()
    opt_t.step()
    return out


def not_iteration(
    T: nn.Module,
    g: nn.Module,
    opt_t: Optimizer,
    opt_g: Optimizer,
    t_batches: Sequence[Tensor],
    x: Tensor,
    y: Tensor,
    cost: Cost,
    alpha: float = 0.0,
    k: float = 0.0,
    *,
    g_plain: nn.Module | None = None,
    backward: Backward = torch.autograd.backward,
    check: Check = finite_means,
) -> dict[str, float]:
    """NOT, Alg. 1: one T update per source batch of ``t_batches`` (K of them), then one g
    update on (x, y).

    ``g_plain`` is g's plain module (not a data-parallel wrapper) for the T updates, whose
    gradient only T wants. With ``alpha > 0`` the g loss gains alpha * the Jensen penalty of
    psi = k||y||^2 - g on the two halves of the target batch, k the cost's coefficient. The
    T-step values returned are their mean over the T updates.
    """
    g_plain = g if g_plain is None else g_plain
    sums: dict[str, float] = {}
    for xt in t_batches:
        opt_t.zero_grad(set_to_none=True)
        tx = T(xt)
        m = not_map_loss(cost(xt, as_float32(tx)), as_float32(g_plain(tx)))
        backward(m.t_loss, inputs=trainable_params(T))
        step = check(
            {
                "t_loss": m.t_loss.detach().float(),
                "transport_cost": m.transport_cost.float(),
                "grad_norm_t": grad_norm(T),
            }
        )
        opt_t.step()
        for name, v in step.items():
            sums[name] = sums.get(name, 0.0) + v / len(t_batches)

    opt_g.zero_grad(set_to_none=True)
    with torch.no_grad():
        tx = as_float32(T(x))
    jensen = None
    if alpha > 0:
        half = y.shape[0] // 2
        t = torch.rand(half, device=y.device)
        psi = convex_psi(lambda z: as_float32(g(z)), k)
        jensen = jensen_penalty(psi, y[:half], y[half : 2 * half], t)
    p = not_potential_loss(as_float32(g(tx)), as_float32(g(y)), cost(x, tx), jensen, alpha)
    backward(p.g_loss, inputs=trainable_params(g))
    values = {
        "g_loss": p.g_loss.detach().float(),
        "w_dist": p.w_dist.float(),
        "grad_norm_g": grad_norm(g),
    }
    if alpha > 0:
        values["jensen"] = p.jensen.float()
    out = check(values)
    opt_g.step()
    return {**sums, **out}
