"""Transport costs c(x, y), batched: inputs [B, ...], output [B].

``COSTS`` is the one registry of the image costs by the name a config holds
(``enot.config.sections.COST_NAMES`` lists the same names, since the config imports nothing
of the method; tests/test_config.py checks that they agree). ``QUADRATIC_COEFFICIENT`` gives
k for the costs c(x, y) = k ||x - y||^2 among them. The costs on arrays [B, D] of the
low-dimensional solver are ``enot.lowdim.costs``.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

Cost = Callable[[Tensor, Tensor], Tensor]


def sq_l2_per_size(x: Tensor, y: Tensor) -> Tensor:
    """The ENOT paper's image cost ||x - y||^2 / (C * S), for [B, C, S, S] batches (C = 3: RGB).

    The squared distance per channel and image side ("size"): S x the per-pixel mean squared
    error, which keeps the cost on the scale of the potential whatever the resolution
    (arXiv 2403.03777, image experiments). Divided by the input's channel count, so it stays
    S x MSE for gray images too.
    """
    channels, size = x.shape[1], x.shape[-1]
    return (x - y).flatten(1).square().sum(dim=1) / (channels * size)


def pixel_mse(x: Tensor, y: Tensor) -> Tensor:
    """Per-pixel mean squared error, NOT's image cost (Korotin et al., arXiv 2201.12220).

    It is the ENOT image cost divided by the image size: the same transport problem at another
    scale of the cost relative to the potential, which short CPU runs learn faster.
    """
    return (x - y).flatten(1).square().mean(dim=1)


def half_sq_l2(x: Tensor, y: Tensor) -> Tensor:
    """Half squared Euclidean distance 0.5 * ||x - y||^2 (the W2 cost)."""
    return 0.5 * (x - y).flatten(1).square().sum(dim=1)


COSTS: dict[str, Cost] = {
    "sq_l2_per_size": sq_l2_per_size,
    "pixel_mse": pixel_mse,
    "half_sq_l2": half_sq_l2,
}


def get_cost(name: str) -> Cost:
    try:
        return COSTS[name]
    except KeyError:
        raise ValueError(f"unknown cost {name!r}; choose one of {sorted(COSTS)}") from None


def _k_sq_l2_per_size(shape: torch.Size) -> float:
    return 1.0 / (shape[1] * shape[-1])


def _k_pixel_mse(shape: torch.Size) -> float:
    return 1.0 / (shape[1] * shape[-2] * shape[-1])


def _k_half(shape: torch.Size) -> float:
    return 0.5


# k of the quadratic costs c(x, y) = k ||x - y||^2 above, as a function of [B, C, H, W].
QUADRATIC_COEFFICIENT: dict[str, Callable[[torch.Size], float]] = {
    "sq_l2_per_size": _k_sq_l2_per_size,
    "pixel_mse": _k_pixel_mse,
    "half_sq_l2": _k_half,
}


def quadratic_coefficient(cost_name: str, shape: torch.Size) -> float:
    """k with c(x, y) = k ||x - y||^2 for the named cost on batches of ``shape``."""
    try:
        return QUADRATIC_COEFFICIENT[cost_name](shape)
    except KeyError:
        raise ValueError(
            f"the convexity penalty needs a quadratic cost c = k||x - y||^2; "
            f"{cost_name!r} is not one of {sorted(QUADRATIC_COEFFICIENT)}"
        ) from None
