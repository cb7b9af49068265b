"""Standardising the data without changing the transport problem.

For c(x, y) = k/2 ||x - y||^2 the optimal coupling depends on the data only through E[x^T y],
so source and target may each be shifted and scaled by its own scalar: with
x~ = (x - m_x) / s_x and y~ = (y - m_y) / s_y,

    c(x, y) = kappa c(x~, y~) + k (a(x) + b(y)),  kappa = s_x s_y,
    a(x) = 1/2 ||x||^2 - m_y^T x - kappa/2 ||x~||^2 + m_x^T m_y,
    b(y) = 1/2 ||y||^2 - m_x^T y - kappa/2 ||y~||^2,

so the maps agree (T(x) = m_y + s_y T~(x~)) and the costs by W = kappa W~ + k E[a + b].
Translation-invariant, 1-homogeneous costs (Euclidean) allow one shift and scale shared by both
sides: W = s W~. Other costs (the sphere, user callables) are left as they are.
Networks then see unit-scale inputs whatever the data's units.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor

SEPARATE, SHARED, NONE = "separate", "shared", "none"
# k of c = k/2 ||x - y||^2 for the costs that allow separate standardisation.
QUADRATIC_FACTOR = {"half_sq_l2": 1.0, "sq_euclidean": 2.0}


@dataclass(frozen=True)
class Standardiser:
    kind: str
    shift_x: list[float]
    scale_x: float
    shift_y: list[float]
    scale_y: float
    factor: float = 1.0

    @staticmethod
    def identity(dim: int) -> "Standardiser":
        return Standardiser(NONE, [0.0] * dim, 1.0, [0.0] * dim, 1.0)

    @staticmethod
    def from_samples(kind: str, x: Tensor, y: Tensor, factor: float = 1.0) -> "Standardiser":
        """Shifts are the means; a scale is the root mean squared deviation over all coordinates."""
        x, y = x.double(), y.double()
        if kind == NONE:
            return Standardiser.identity(x.shape[1])
        if kind == SHARED:
            both = torch.cat([x, y])
            m = both.mean(0)
            s = float((both - m).square().sum(1).mean().sqrt()) or 1.0
            return Standardiser(kind, m.tolist(), s, m.tolist(), s, factor)
        if kind != SEPARATE:
            raise ValueError(f"unknown standardisation {kind!r}")
        mx, my = x.mean(0), y.mean(0)
        sx = float((x - mx).square().sum(1).mean().sqrt()) or 1.0
        sy = float((y - my).square().sum(1).mean().sqrt()) or 1.0
        return Standardiser(kind, mx.tolist(), sx, my.tolist(), sy, factor)

    def _vec(self, values: list[float], like: Tensor) -> Tensor:
        return torch.tensor(values, dtype=like.dtype, device=like.device)

    def x_in(self, x: Tensor) -> Tensor:
        return (x - self._vec(self.shift_x, x)) / self.scale_x

    def y_in(self, y: Tensor) -> Tensor:
        return (y - self._vec(self.shift_y, y)) / self.scale_y

    def x_out(self, x: Tensor) -> Tensor:
        return x * self.scale_x + self._vec(self.shift_x, x)

    def y_out(self, y: Tensor) -> Tensor:
        return y * self.scale_y + self._vec(self.shift_y, y)

    def cost_out(self, w_std: float, x: Tensor, y: Tensor) -> float:
        """The transport cost in the data's units from the cost W~ between standardised samples
        (x and y are the original samples the estimate was made on)."""
        if self.kind == NONE:
            return w_std
        if self.kind == SHARED:
            return self.scale_x * w_std
        x, y = x.double(), y.double()
        mx, my = self._vec(self.shift_x, x), self._vec(self.shift_y, y)
        kappa = self.scale_x * self.scale_y
        xs, ys = (x - mx) / self.scale_x, (y - my) / self.scale_y
        a = 0.5 * x.square().sum(1) - x @ my - 0.5 * kappa * xs.square().sum(1) + mx @ my
        b = 0.5 * y.square().sum(1) - y @ mx - 0.5 * kappa * ys.square().sum(1)
        return kappa * w_std + self.factor * float(a.mean() + b.mean())

    def to_dict(self) -> dict:
        return asdict(self)
