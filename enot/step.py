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

Two options on the potential, neither in the paper, both off by default: ``augment`` shows g
a DiffAugment view of each input (``enot.augment``), drawn once per step, the same view
serving both losses; ``r1`` adds the R1 penalty r1/2 * E|grad g(y)|^2 at the (viewed) target
images to L_g, which keeps g from growing steep on the few thousand images it sees.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn
from torch.func import functional_call

from enot.augment import diff_augment
from enot.costs import Cost
from enot.losses import ENOTLosses, enot_losses

Backward = Callable[..., None]


def trainable_params(module: nn.Module) -> list[Tensor]:
    return [p for p in module.parameters() if p.requires_grad]


def as_float32(t: Tensor) -> Tensor:
    # Under autocast the networks answer in half precision; the losses are summed in float32.
    return t.float() if t.dtype in (torch.float16, torch.bfloat16) else t


def r1_penalty(g_y: Tensor, y: Tensor, weight: float) -> Tensor:
    """weight/2 * mean |grad_y g(y)|^2, differentiable in g's parameters (Mescheder et al.
    2018, arXiv 1801.04406). ``y`` must be the leaf that g was called on."""
    (grad,) = torch.autograd.grad(g_y.sum(), y, create_graph=True)
    return weight / 2 * grad.float().square().flatten(1).sum(1).mean()


def _g_inputs(y: Tensor, tx: Tensor, augment: bool, r1: float) -> tuple[Tensor, Tensor]:
    """What g sees of y and T(x): their DiffAugment views (y's first) or themselves; y as a
    leaf that asks for its gradient when the R1 penalty needs it."""
    if augment:
        y, tx = diff_augment(y), diff_augment(tx)
    if r1:
        y = y.detach().requires_grad_(True)
    return y, tx


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
    r1: float = 0.0,
    augment: bool = False,
) -> ENOTLosses:
    """Forward both networks and accumulate ENOT gradients into T's and g's .grad.

    `backward(loss, inputs=..., retain_graph=...)` is `accelerator.backward` in training, so that
    mixed-precision loss scaling applies; any callable with Tensor.backward's keywords works.
    The optimiser steps are the caller's.
    """
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"source and target batches differ in size: {x.shape[0]} vs {y.shape[0]}")
    tx = T(x)
    y_in, tx_in = _g_inputs(y, tx, augment, r1)
    g_y, g_tx = as_float32(g(y_in)), as_float32(g(tx_in))
    penalty = r1_penalty(g_y, y_in, r1) if r1 else None
    # One g(T(x)) serves as both g(sg(T(x))) and the frozen g(T(x)); the two backward passes
    # below do the stop-gradients' work.
    losses = enot_losses(
        cost(x, as_float32(tx)), cost(x, y), g_y, g_tx, g_tx, tau, lam, gauge, penalty
    )
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
    r1: float = 0.0,
    augment: bool = False,
) -> ENOTLosses:
    """The step as losses with their own stop-gradients: ``(l.g_loss + l.t_loss).backward()``
    gives g exactly L_g's gradient and T exactly L_T's.

    g runs three times: on y, on sg(T(x)) for L_g, and with its weights detached
    (``torch.func.functional_call``) on T(x) for L_T; nothing is toggled, so the same code
    compiles whole (``enot.lowdim.single_backward_step``). The reference for ``enot_step``.
    """
    tx = T(x)
    y_in, tx_in = _g_inputs(y, tx, augment, r1)
    frozen = {name: p.detach() for name, p in g.named_parameters()}
    g_tx_frozen = as_float32(functional_call(g, frozen, (tx_in,)))
    g_y = as_float32(g(y_in))
    return enot_losses(
        cost(x, as_float32(tx)),
        cost(x, y),
        g_y,
        as_float32(g(tx_in.detach())),
        g_tx_frozen,
        tau,
        lam,
        gauge,
        r1_penalty(g_y, y_in, r1) if r1 else None,
    )
