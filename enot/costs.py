"""Transport costs c(x, y), batched: inputs [B, ...], output [B].

A small registry so that presets and checkpoints name a cost by a plain string.
"""

from __future__ import annotations

from typing import Callable

from torch import Tensor

Cost = Callable[[Tensor, Tensor], Tensor]


def image_cost(x: Tensor, y: Tensor) -> Tensor:
    """The ENOT paper's image cost ||x - y||^2 / (3 * image_size).

    For a [B, 3, S, S] batch this equals S x the per-pixel mean squared error, which keeps the cost
    on the scale of the potential whatever the resolution (arXiv 2403.03777, image experiments).
    Scaled by the channel count of the input, so it stays S x MSE for gray images too.
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
    "image_mse": image_cost,
    "pixel_mse": pixel_mse,
    "half_sq_l2": half_sq_l2,
}


def get_cost(name: str) -> Cost:
    try:
        return COSTS[name]
    except KeyError:
        raise ValueError(f"unknown cost {name!r}; choose one of {sorted(COSTS)}") from None
