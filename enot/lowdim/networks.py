"""Build the potentials and maps of the low-dimensional solver from a FitConfig."""

from __future__ import annotations

from torch import nn

from enot.lowdim.config import FitConfig
from enot.lowdim.costs import StrictlyConvexCost, sphere_geodesic
from enot.lowdim.maps import GradientMap, ResidualMap, SphereMap
from models import MLP


def potential(cfg: FitConfig, dim: int) -> MLP:
    """A scalar MLP potential; with `quadratic`, f(x) = MLP(x) + 1/2 x^T W x, starting at f = 0
    so that a gradient map starts at the identity."""
    return MLP(
        in_dim=dim,
        hidden=list(cfg.widths(dim)),
        out_dim=1,
        activation=cfg.activation,
        quadratic=cfg.quadratic,
        zero_init_output=cfg.quadratic,
    )


def map_network(cfg: FitConfig, dim: int) -> MLP:
    """The residual of a one-directional map, zero at the start so that T starts at the identity."""
    return MLP(
        in_dim=dim,
        hidden=list(cfg.widths(dim)),
        out_dim=dim,
        activation=cfg.activation,
        zero_init_output=True,
    )


def one_directional_map(net: nn.Module, cost) -> ResidualMap:
    return SphereMap(net) if cost is sphere_geodesic else ResidualMap(net)


def gradient_maps(
    f: nn.Module, g: nn.Module, cost: StrictlyConvexCost
) -> tuple[GradientMap, GradientMap]:
    """T from f on the source and T^-1 from g on the target (the cost seen from the target)."""
    return GradientMap(f, cost), GradientMap(g, cost.swapped())
