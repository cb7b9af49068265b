"""The ENOT step as one loss with one backward pass, so that torch.compile can take it whole.

`enot.step.backward_separately` routes two backward passes (L_g into g, L_T into T) through one
forward of g on T(x); compiled code cannot replay part of its backward, so here the routing is
done by stop-gradients instead (`enot.step.enot_joint_losses`): L_g sees g on sg(T(x)), and L_T
sees g with its weights detached (`torch.func.functional_call`). Then d(L_g + L_T) gives g
exactly L_g's gradient and T exactly L_T's (tests/test_lowdim_parts.py checks it against
`enot.step.enot_gradients`).
It costs one more forward of g than the lean step, but compiled it fuses the many small
elementwise ops of the gradient map, which on CPU dominate (see benchmarks/lowdim.py
speed).
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn

from enot.inductor_cache import cache_per_cpu_capability
from enot.losses import ENOTLosses
from enot.step import ENOTObjective, enot_joint_losses


def step_loss(
    T: nn.Module, g: nn.Module, x: Tensor, y: Tensor, objective: ENOTObjective
) -> tuple[Tensor, ...]:
    """(L_g + L_T, then the five ENOTLosses fields) for one direction of Alg. 1."""
    part = enot_joint_losses(T, g, x, y, objective)
    return (
        part.g_loss + part.t_loss,
        part.g_loss,
        part.t_loss,
        part.expectile,
        part.w_dist,
        part.transport_cost,
    )


def make_step(
    T: nn.Module, g: nn.Module, objective: ENOTObjective, compile: bool
) -> Callable[[Tensor, Tensor], ENOTLosses]:
    """A step (x, y) -> ENOTLosses that accumulates gradients into T's and g's .grad."""

    def loss(x: Tensor, y: Tensor) -> tuple[Tensor, ...]:
        return step_loss(T, g, x, y, objective)

    if compile:
        cache_per_cpu_capability()
    run = torch.compile(loss) if compile else loss

    def step(x: Tensor, y: Tensor) -> ENOTLosses:
        total, g_loss, t_loss, reg, w_dist, transport = run(x, y)
        total.backward()
        return ENOTLosses(
            g_loss=g_loss.detach(),
            t_loss=t_loss.detach(),
            expectile=reg,
            w_dist=w_dist,
            transport_cost=transport,
        )

    return step
