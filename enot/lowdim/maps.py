"""Transport maps built from networks: from a potential's gradient, or a residual network.

- `GradientMap`: T(x) = x - grad h*(grad f(x)) for c(x, y) = h(x - y) with h strictly convex
  (ENOT paper, Alg. 1, bidirectional); for half squared L2, T(x) = x - grad f(x). While grad
  mode is on, the gradient keeps its graph (create_graph) so a loss on T(x) trains f.
- `ResidualMap`: T(x) = x + net(x), the one-directional map; with a zero-initialised last layer
  T starts at the identity.
- `SphereMap`: T(x) = (x + net(x)) / ||x + net(x)||, so every output lies on the unit sphere.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from enot.lowdim.costs import StrictlyConvexCost
from enot.lowdim.mlp_gradient import mlp_gradient, supports


def potential_gradient(potential: nn.Module, x: Tensor, create_graph: bool) -> Tensor:
    """grad_x f(x) for a batch of scalar potentials f: [B, D] -> [B] (rows independent)."""
    with torch.enable_grad():
        xi = x if x.requires_grad else x.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(potential(xi).sum(), xi, create_graph=create_graph)
    return grad


class GradientMap(nn.Module):
    """`fused=True` computes grad f by `mlp_gradient` where the potential allows it (faster to
    train through, see benchmarks/lowdim.py speed); otherwise by autograd."""

    def __init__(self, potential: nn.Module, cost: StrictlyConvexCost, fused: bool = True):
        super().__init__()
        self.potential = potential
        self.cost = cost
        self.fused = fused and supports(potential)

    def forward(self, x: Tensor) -> Tensor:
        if self.fused:
            grad = mlp_gradient(self.potential, x)
        else:
            grad = potential_gradient(self.potential, x, create_graph=torch.is_grad_enabled())
        return self.cost.map_from_gradient(x, grad)


class ResidualMap(nn.Module):
    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: Tensor) -> Tensor:
        return x + self.net(x)


class SphereMap(ResidualMap):
    def forward(self, x: Tensor) -> Tensor:
        out = super().forward(x)
        return out / out.norm(dim=1, keepdim=True).clamp_min(1e-12)
