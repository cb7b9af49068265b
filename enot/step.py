"""One ENOT optimisation step's forward and backward passes (arXiv 2403.03777, Alg. 1, one
direction).

A plain step evaluates g three times: on y and on sg(T(x)) for the g loss, and on T(x) with g
frozen for the T loss. g(sg(T(x))) and g(T(x)) have the same value, so here g runs on y and on
T(x) once each, and the two losses are backpropagated separately: the g loss into g's parameters
only, the T loss into T's parameters only (through g's activations on T(x), never into g's
weights). The gradients equal those of ``enot_step_loss``, whose losses carry their own
stop-gradients (tests/test_losses.py checks this), with one fewer forward pass of g. (One call
of g on the concatenation [y, T(x)] would save the same forward but send the T loss's
backward through the y half too, which costs it back.)
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn
from torch.func import functional_call

from enot.costs import Cost
from enot.losses import ENOTLosses, enot_losses

Backward = Callable[..., None]


def trainable_params(module: nn.Module) -> list[Tensor]:
    return [p for p in module.parameters() if p.requires_grad]


def as_float32(t: Tensor) -> Tensor:
    # Under autocast the networks answer in half precision; the losses are summed in float32.
    return t.float() if t.dtype in (torch.float16, torch.bfloat16) else t


def enot_step(
    T: nn.Module,
    g: nn.Module,
    x: Tensor,
    y: Tensor,
    cost: Cost,
    tau: float,
    lam: float,
    backward: Backward = torch.autograd.backward,
    gauge: float = 0.0,
) -> ENOTLosses:
    """Forward both networks and accumulate ENOT gradients into T's and g's .grad.

    `backward(loss, inputs=..., retain_graph=...)` is `accelerator.backward` in training, so that
    mixed-precision loss scaling applies; any callable with Tensor.backward's keywords works.
    The optimiser steps are the caller's.
    """
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"source and target batches differ in size: {x.shape[0]} vs {y.shape[0]}")
    tx = T(x)
    g_y, g_tx = as_float32(g(y)), as_float32(g(tx))
    # One g(T(x)) serves as both g(sg(T(x))) and the frozen g(T(x)); the two backward passes
    # below do the stop-gradients' work.
    losses = enot_losses(cost(x, as_float32(tx)), cost(x, y), g_y, g_tx, g_tx, tau, lam, gauge)
    backward(losses.g_loss, inputs=trainable_params(g), retain_graph=True)
    backward(losses.t_loss, inputs=trainable_params(T))
    return losses


def enot_step_loss(
    T: nn.Module,
    g: nn.Module,
    x: Tensor,
    y: Tensor,
    cost: Cost,
    tau: float,
    lam: float,
    gauge: float = 0.0,
) -> ENOTLosses:
    """The step as losses with their own stop-gradients: ``(l.g_loss + l.t_loss).backward()``
    gives g exactly L_g's gradient and T exactly L_T's.

    g runs three times: on y, on sg(T(x)) for L_g, and with its weights detached
    (``torch.func.functional_call``) on T(x) for L_T; nothing is toggled, so the same code
    compiles whole (``enot.lowdim.single_backward_step``). The reference for ``enot_step``.
    """
    tx = T(x)
    frozen = {name: p.detach() for name, p in g.named_parameters()}
    g_tx_frozen = as_float32(functional_call(g, frozen, (tx,)))
    return enot_losses(
        cost(x, as_float32(tx)),
        cost(x, y),
        as_float32(g(y)),
        as_float32(g(tx.detach())),
        g_tx_frozen,
        tau,
        lam,
        gauge,
    )
