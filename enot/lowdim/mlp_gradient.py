"""grad_x f(x) of an MLP potential written out layer by layer (a hand-made backward pass).

For f(x) = w^T s(z_L) + b + 1/2 x^T W x with z_k = A_k h_{k-1} + c_k, h_k = s(z_k), h_0 = x:

    d_L = w * s'(z_L),   d_{k-1} = (A_k^T d_k) * s'(z_{k-1}),   grad f(x) = A_1^T d_1 + sym(W) x.

Autograd with create_graph records the backward pass op by op and then differentiates that
record; here the gradient is an ordinary forward graph with s' read off the activations
(ELU: s'(z) = min(s(z), 0) + 1), so training differentiates it once, with fewer and cheaper
elementwise ops. `tests/test_lowdim_parts.py` checks it equals autograd.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn

from models import MLP

# s'(z) from z and h = s(z), for the activations that allow it cheaply.
_DERIVATIVES: dict[type[nn.Module], Callable[[nn.Module, Tensor, Tensor], Tensor]] = {
    nn.ELU: lambda act, z, h: (
        h.clamp(max=0) + 1 if act.alpha == 1.0 else torch.where(z > 0, 1.0, h + act.alpha)
    ),
    nn.ReLU: lambda act, z, h: (z > 0).to(z.dtype),
    nn.LeakyReLU: lambda act, z, h: (
        (z > 0).to(z.dtype) * (1 - act.negative_slope) + act.negative_slope
    ),
    nn.Softplus: lambda act, z, h: torch.sigmoid(act.beta * z),
    nn.SiLU: lambda act, z, h: torch.sigmoid(z) * (1 + z * (1 - torch.sigmoid(z))),
}


def supports(potential: nn.Module) -> bool:
    """True for a scalar `models.MLP` whose activation has a closed-form derivative here."""
    if not isinstance(potential, MLP) or potential.config.out_dim != 1:
        return False
    return all(type(m) in _DERIVATIVES for m in potential.net[1::2])


def mlp_gradient(potential: MLP, x: Tensor) -> Tensor:
    """grad_x f(x) for a batch x [B, D]; differentiable in the parameters (and x)."""
    layers = list(potential.net)
    linears, acts = layers[0::2], layers[1::2]
    h, slopes = x, []
    for lin, act in zip(linears[:-1], acts):
        z = lin(h)
        h = act(z)
        slopes.append(_DERIVATIVES[type(act)](act, z, h))
    delta = slopes[-1] * linears[-1].weight  # [B, H_L] * [1, H_L]
    for lin, slope in zip(reversed(linears[1:-1]), reversed(slopes[:-1])):
        delta = (delta @ lin.weight) * slope
    grad = delta @ linears[0].weight
    if potential.quadratic_form is not None:
        w = potential.quadratic_form
        grad = grad + 0.5 * x @ (w + w.T)
    return grad
