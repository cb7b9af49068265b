"""The methods on the one trainer, each as an "outer iteration" the trainer calls once per step.

An outer iteration is what ``--steps`` counts, what a checkpoint's step is, and what the two
cosine learning-rate schedules step once; so every method's schedule spans ``--steps`` outer
iterations, and the K T-updates inside one NOT iteration share that iteration's learning rate.

* ``enot`` (Buzun, Bobrin, Dylov, arXiv 2403.03777): one batch pair, ``enot.step.enot_step``,
  then one g update and one T update.
* ``not`` (Korotin, Selikhanovych, Burnaev, arXiv 2201.12220, Alg. 1): K = ``--t-iters``
  T updates, each on a fresh source batch with g frozen, then one potential update on a fresh
  source batch and a target batch.
* ``not_convex``: ``not`` with alpha * the Jensen penalty of psi = k||y||^2 - g added to the
  potential loss (``enot.not_losses``).
* ``not_ae``: ``not`` from the source domain to itself with a bottleneck T and an l2, l1 or
  LPIPS cost (``enot.not_ae``).

Every update's losses and gradient norms go through ``MethodContext.check`` before its
optimiser steps, so a non-finite value stops the run with no weight touched by it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Callable

import torch
from torch import Tensor, nn
from torch.optim import Optimizer

from enot.costs import Cost, get_cost
from enot.not_ae import ae_cost
from enot.not_losses import (QUADRATIC_COEFFICIENT, convex_psi, jensen_penalty, not_map_loss,
                             not_potential_loss, quadratic_coefficient)
from enot.step import Backward, as_float32, trainable_params, enot_step

if TYPE_CHECKING:  # the config's method field takes its choices from METHODS below
    from enot.config import Config


@dataclass
class MethodContext:
    """What the trainer lends a method: networks, optimisers, data and the finite-value check.

    ``g_unwrapped`` is g's plain module (not the data-parallel wrapper), for forwards whose
    gradient only T wants: g then expects no gradient synchronisation. ``check(values)`` gathers the
    named scalars over processes, raises if one is not finite, and returns their means.
    """

    T: nn.Module
    g: nn.Module
    g_unwrapped: nn.Module
    opt_t: Optimizer
    opt_g: Optimizer
    next_source: Callable[[], Tensor]
    next_target: Callable[[], Tensor]
    backward: Backward
    check: Callable[[dict[str, Tensor]], dict[str, float]]


OuterIteration = Callable[[MethodContext], dict[str, float]]


def grad_norm(model: nn.Module) -> Tensor:
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    return torch.nn.utils.get_total_norm(grads).float()


# ---------------------------------------------------------------------------------------------

ENOT_LOGGED = ("g_loss", "t_loss", "expectile", "w_dist", "transport_cost", "grad_norm_t",
               "grad_norm_g")


def enot_iteration(ctx: MethodContext, cost: Cost, tau: float, lam: float,
                   gauge: float = 0.0) -> dict[str, float]:
    """ENOT: g and T updated 1:1 on one batch pair."""
    x, y = ctx.next_source(), ctx.next_target()
    ctx.opt_t.zero_grad(set_to_none=True)
    ctx.opt_g.zero_grad(set_to_none=True)
    losses = enot_step(ctx.T, ctx.g, x, y, cost, tau, lam, backward=ctx.backward,
                       gauge=gauge)
    values = {k: getattr(losses, k).detach().float() for k in ENOT_LOGGED[:5]}
    values.update(grad_norm_t=grad_norm(ctx.T), grad_norm_g=grad_norm(ctx.g))
    out = ctx.check(values)
    ctx.opt_g.step()
    ctx.opt_t.step()
    return out


NOT_LOGGED = ("g_loss", "t_loss", "w_dist", "transport_cost", "grad_norm_t", "grad_norm_g")


def not_iteration(ctx: MethodContext, cost: Cost, t_iters: int, alpha: float = 0.0,
                  k_of: Callable[[torch.Size], float] | None = None) -> dict[str, float]:
    """NOT, Alg. 1: ``t_iters`` T updates (each on a fresh source batch), then one g update.

    With ``alpha > 0`` the g loss gains alpha * the Jensen penalty of psi = k||y||^2 - g on the
    two halves of the target batch; ``k_of(shape)`` gives the cost's k. The T-step values logged
    are their mean over the inner steps.
    """
    sums: dict[str, float] = {}
    for _ in range(t_iters):
        x = ctx.next_source()
        ctx.opt_t.zero_grad(set_to_none=True)
        tx = ctx.T(x)
        m = not_map_loss(cost(x, as_float32(tx)), as_float32(ctx.g_unwrapped(tx)))
        ctx.backward(m.t_loss, inputs=trainable_params(ctx.T))
        step = ctx.check({"t_loss": m.t_loss.detach().float(),
                           "transport_cost": m.transport_cost.float(),
                           "grad_norm_t": grad_norm(ctx.T)})
        ctx.opt_t.step()
        for k, v in step.items():
            sums[k] = sums.get(k, 0.0) + v / t_iters

    x, y = ctx.next_source(), ctx.next_target()
    ctx.opt_g.zero_grad(set_to_none=True)
    with torch.no_grad():
        tx = as_float32(ctx.T(x))
    jensen = None
    if alpha > 0:
        half = y.shape[0] // 2
        t = torch.rand(half, device=y.device)
        psi = convex_psi(lambda z: as_float32(ctx.g(z)), k_of(y.shape))
        jensen = jensen_penalty(psi, y[:half], y[half:2 * half], t)
    p = not_potential_loss(as_float32(ctx.g(tx)), as_float32(ctx.g(y)), cost(x, tx), jensen, alpha)
    ctx.backward(p.g_loss, inputs=trainable_params(ctx.g))
    values = {"g_loss": p.g_loss.detach().float(), "w_dist": p.w_dist.float(),
              "grad_norm_g": grad_norm(ctx.g)}
    if alpha > 0:
        values["jensen"] = p.jensen.float()
    out = ctx.check(values)
    ctx.opt_g.step()
    return {**sums, **out}


# ---------------------------------------------------------------------------------------------
# The registry: method name -> what it logs and how to build its outer iteration from a Config.

@dataclass(frozen=True)
class Method:
    logged: tuple[str, ...]
    build: Callable[[Config, torch.device], OuterIteration]


def _build_enot(cfg: Config, device: torch.device) -> OuterIteration:
    e = cfg.enot
    cost = get_cost(cfg.method.cost)
    return lambda ctx: enot_iteration(ctx, cost, e.tau, e.lam, e.gauge)


def _build_not(cfg: Config, device: torch.device) -> OuterIteration:
    m = cfg.method
    if m.method == "not_ae":
        cost = ae_cost(m.ae_cost, m.lpips_weights, device)
    else:
        cost = get_cost(m.cost)
    alpha, k_of = 0.0, None
    if m.method == "not_convex":
        if m.cost not in QUADRATIC_COEFFICIENT:
            raise ValueError(f"--method not_convex needs a quadratic --cost (one of "
                             f"{', '.join(QUADRATIC_COEFFICIENT)}); got {m.cost!r}")
        alpha, k_of = m.convex_alpha, partial(quadratic_coefficient, m.cost)
    t_iters = m.t_iters
    return lambda ctx: not_iteration(ctx, cost, t_iters, alpha, k_of)


METHODS: dict[str, Method] = {
    "enot": Method(ENOT_LOGGED, _build_enot),
    "not": Method(NOT_LOGGED, _build_not),
    "not_convex": Method(NOT_LOGGED + ("jensen",), _build_not),
    "not_ae": Method(NOT_LOGGED, _build_not),
}


def get_method(cfg: Config) -> Method:
    return METHODS[cfg.method.method]
