"""The forward passes of NOT's two updates (Korotin, Selikhanovych, Burnaev, arXiv 2201.12220,
Alg. 1): the losses, which the training loop backpropagates and steps.

One outer iteration of NOT is K map updates, each on its own source batch with g frozen
(``not_map_forward``), then one potential update on a source and a target batch
(``not_potential_forward``). With ``alpha > 0`` (``not_convex``) the potential loss gains
alpha * the Jensen penalty of psi = k||y||^2 - g (``enot.not_losses``); ``not_ae`` is the same
iteration from the source domain to itself with a bottleneck T and its own cost
(``enot.not_ae``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from enot.costs import Cost
from enot.not_losses import (
    NOTMapLoss,
    NOTPotentialLoss,
    convex_psi,
    jensen_penalty,
    not_map_loss,
    not_potential_loss,
)
from enot.step import as_float32


def not_map_forward(T: nn.Module, g: nn.Module, x: Tensor, cost: Cost) -> NOTMapLoss:
    """L_T on the source batch ``x``; its gradient is meant for T only (send it into T's
    parameters: g is not to move in a map update)."""
    tx = T(x)
    return not_map_loss(cost(x, as_float32(tx)), as_float32(g(tx)))


def not_potential_forward(
    T: nn.Module,
    g: nn.Module,
    x: Tensor,
    y: Tensor,
    cost: Cost,
    alpha: float = 0.0,
    k: float = 0.0,
) -> NOTPotentialLoss:
    """L_g on (x, y) with T(x) computed without gradient; with ``alpha > 0`` plus alpha * the
    Jensen penalty of psi = k||y||^2 - g on the two halves of the target batch, k the cost's
    coefficient (``enot.costs.quadratic_coefficient``)."""
    with torch.no_grad():
        tx = as_float32(T(x))
    jensen = None
    if alpha > 0:
        half = y.shape[0] // 2
        t = torch.rand(half, device=y.device)
        psi = convex_psi(lambda z: as_float32(g(z)), k)
        jensen = jensen_penalty(psi, y[:half], y[half : 2 * half], t)
    return not_potential_loss(as_float32(g(tx)), as_float32(g(y)), cost(x, tx), jensen, alpha)
