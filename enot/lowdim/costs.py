"""Transport costs on arrays [B, D] for the low-dimensional solver (``enot.fit``), batched:
inputs [B, D], output [B]. Kept apart from ``enot.costs.COSTS`` so that the image command
line's choices stay the image costs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Union

import torch
from torch import Tensor

from enot.costs import Cost


def euclidean(x: Tensor, y: Tensor) -> Tensor:
    """Euclidean distance ||x - y|| (the W1 cost).

    Convex but not strictly convex (linear along rays), so grad h* does not exist and there is
    no bidirectional map from potentials; the ENOT paper trains it one-directionally. The
    small floor keeps the gradient finite where x = y.
    """
    return ((x - y).square().sum(dim=1) + 1e-12).sqrt()


# Clamping keeps arccos differentiable at x = y, where its derivative is infinite.
_ACOS_EDGE = 1e-6


def sphere_geodesic(x: Tensor, y: Tensor) -> Tensor:
    """Geodesic (great-circle) distance arccos(x^T y) between points of the unit sphere."""
    return torch.arccos((x * y).sum(dim=1).clamp(-1.0 + _ACOS_EDGE, 1.0 - _ACOS_EDGE))


@dataclass(frozen=True)
class StrictlyConvexCost:
    """A cost c(x, y) = h(x - y) with h strictly convex and grad h* (h's convex conjugate) known.

    For such costs the optimal map follows from the potential f (Gangbo and McCann 1996; the
    ENOT paper's Alg. 1): T(x) = x - grad h*(grad f(x)). `h` maps [B, D] -> [B], `grad_h_star`
    maps [B, D] -> [B, D].
    """

    name: str
    h: Callable[[Tensor], Tensor]
    grad_h_star: Callable[[Tensor], Tensor]

    def __call__(self, x: Tensor, y: Tensor) -> Tensor:
        return self.h(x - y)

    def map_from_gradient(self, x: Tensor, grad_f: Tensor) -> Tensor:
        """T(x) = x - grad h*(grad f(x))."""
        return x - self.grad_h_star(grad_f)

    def swapped(self) -> "StrictlyConvexCost":
        """The cost seen from the target: c~(y, x) = c(x, y) = h~(y - x) with h~(z) = h(-z),
        so grad h~*(p) = -grad h*(-p)."""
        h, grad = self.h, self.grad_h_star
        return StrictlyConvexCost(
            name=self.name + " (swapped)", h=lambda z: h(-z), grad_h_star=lambda p: -grad(-p)
        )


def _identity(p: Tensor) -> Tensor:
    return p


def _half(p: Tensor) -> Tensor:
    return 0.5 * p


# h(z) = 1/2 ||z||^2 is its own conjugate, so grad h* = id and T(x) = x - grad f(x) (Brenier);
# for h(z) = ||z||^2, h*(p) = ||p||^2 / 4 and grad h* = p / 2.
HALF_SQ_L2 = StrictlyConvexCost(
    "half_sq_l2", h=lambda z: 0.5 * z.square().sum(dim=1), grad_h_star=_identity
)
SQ_EUCLIDEAN = StrictlyConvexCost(
    "sq_euclidean", h=lambda z: z.square().sum(dim=1), grad_h_star=_half
)

ArrayCost = Union[StrictlyConvexCost, Cost]

ARRAY_COSTS: dict[str, ArrayCost] = {
    "half_sq_l2": HALF_SQ_L2,
    "sq_euclidean": SQ_EUCLIDEAN,
    "euclidean": euclidean,
    "sphere_geodesic": sphere_geodesic,
}


def cost_name(cost: ArrayCost) -> str:
    """A readable name for error messages and saved results."""
    if isinstance(cost, StrictlyConvexCost):
        return cost.name
    for name, known in ARRAY_COSTS.items():
        if known is cost:
            return name
    return getattr(cost, "__name__", type(cost).__name__)


def get_array_cost(cost: str | ArrayCost) -> ArrayCost:
    """A cost by name from ARRAY_COSTS, or a user callable c(x, y) passed through."""
    if isinstance(cost, str):
        try:
            return ARRAY_COSTS[cost]
        except KeyError:
            raise ValueError(
                f"unknown cost {cost!r}; choose one of {sorted(ARRAY_COSTS)} "
                "or pass a callable c(x, y)"
            ) from None
    if not callable(cost):
        raise TypeError(f"cost must be a name or a callable c(x, y); got {type(cost).__name__}")
    return cost


def check_batched_cost(cost: ArrayCost, x: Tensor, y: Tensor) -> None:
    """Check that c maps [B, D] x [B, D] -> [B] row by row, finitely and differentiably in y.

    A cost that reduces over the batch, mixes rows, or cuts the autograd graph would train
    silently on the wrong objective, so it is refused here with what went wrong.
    """
    name = cost_name(cost)
    b = x.shape[0]
    y = y.detach().requires_grad_(True)
    with torch.enable_grad():
        try:
            out = cost(x, y)
        except Exception as err:  # any failure of user code on a batch means "not batched"
            raise ValueError(
                f"cost {name!r} failed on batched inputs of shape {tuple(x.shape)}: "
                f"{type(err).__name__}: {err}. A cost must take [B, D] arrays and "
                "return [B]"
            ) from err
        if not isinstance(out, Tensor) or out.shape != (b,):
            shape = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
            raise ValueError(
                f"cost {name!r} is not batched: on inputs [{b}, {x.shape[1]}] it "
                f"returned {shape}, expected one value per row, shape ({b},)"
            )
        if not torch.isfinite(out).all():
            raise ValueError(f"cost {name!r} returned non-finite values on the data")
        if not out.requires_grad:
            raise ValueError(
                f"cost {name!r} is not differentiable in y: its output has no "
                "autograd graph (use torch operations, not numpy or .item())"
            )
    single = cost(x[:1], y[:1].detach())
    if single.shape != (1,) or not torch.allclose(single, out[:1].detach(), rtol=1e-4, atol=1e-6):
        raise ValueError(
            f"cost {name!r} is not row-wise: c(x[:1], y[:1]) differs from the first "
            "entry of c(x, y), so rows of the batch influence each other"
        )
