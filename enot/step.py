"""One ENOT optimisation step's forward and backward passes (arXiv 2403.03777, Alg. 1, one direction).

A naive step evaluates g three times: on y and on sg(T(x)) for the g loss, and on T(x) with g
frozen for the T loss. g(sg(T(x))) and g(T(x)) have the same value, so here g runs on y and on
T(x) once each, and the two losses are backpropagated separately: the g loss into g's parameters
only, the T loss into T's parameters only (through g's activations on T(x), never into g's
weights). The gradients equal the naive step's (tests/test_losses.py checks this), with one
fewer forward pass of g. (One call of g on the concatenation [y, T(x)] would save the same
forward but send the T loss's backward through the y half too, which costs it back.)
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn

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
    losses = enot_losses(cost(x, as_float32(tx)), cost(x, y), g_y, g_tx, tau, lam, gauge)
    backward(losses.g_loss, inputs=trainable_params(g), retain_graph=True)
    backward(losses.t_loss, inputs=trainable_params(T))
    return losses


def naive_enot_step(
    T: nn.Module,
    g: nn.Module,
    x: Tensor,
    y: Tensor,
    cost: Cost,
    tau: float,
    lam: float,
) -> ENOTLosses:
    """The textbook step, for reference and benchmarks: g runs three times, frozen for L_T."""
    tx = T(x)
    g_y, g_txd = as_float32(g(y)), as_float32(g(tx.detach()))
    tx = as_float32(tx)
    part = enot_losses(cost(x, tx.detach()), cost(x, y), g_y, g_txd, tau, lam)
    part.g_loss.backward()
    frozen = trainable_params(g)
    for p in frozen:
        p.requires_grad_(False)
    cost_x_tx = cost(x, tx)
    try:
        t_loss = (cost_x_tx - as_float32(g(tx))).mean()
        t_loss.backward()
    finally:
        for p in frozen:
            p.requires_grad_(True)
    return ENOTLosses(g_loss=part.g_loss, t_loss=t_loss, expectile=part.expectile,
                      w_dist=part.w_dist, transport_cost=cost_x_tx.detach().mean())
