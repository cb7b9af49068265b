"""Synthetic low-dimensional distributions with known optimal transport: samplers and truths.

- The 2-D sets of Makkuva et al. (arXiv 1908.10962) and Rout et al. (arXiv 2110.02999), in the
  form of the FFJORD toy data they take them from: 8 Gaussians, swiss roll, moons,
  checkerboard, circles.
- Gaussian -> Gaussian in any dimension, whose W2 map and cost are in closed form.
- Mixtures on the unit sphere S^{D-1}.

Every sampler takes (n, generator=None) and returns a float32 tensor [n, D]. Knows nothing of
the solver.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

Sampler = Callable[..., Tensor]


def _randn(n: int, d: int, gen: torch.Generator | None) -> Tensor:
    return torch.randn(n, d, generator=gen, dtype=torch.float64)


def _rand(n: int, gen: torch.Generator | None) -> Tensor:
    return torch.rand(n, generator=gen, dtype=torch.float64)


def eight_gaussians(n: int, generator: torch.Generator | None = None) -> Tensor:
    """Eight Gaussians (std 0.5) on a circle of radius 4, all scaled by 1/sqrt 2."""
    angles = torch.arange(8, dtype=torch.float64) * (math.pi / 4)
    centers = 4.0 * torch.stack([angles.cos(), angles.sin()], dim=1)
    idx = torch.randint(0, 8, (n,), generator=generator)
    return ((centers[idx] + 0.5 * _randn(n, 2, generator)) / math.sqrt(2)).float()


def swiss_roll(n: int, generator: torch.Generator | None = None) -> Tensor:
    """The 2-D swiss roll: t ~ U(1.5 pi, 4.5 pi), (t cos t, t sin t) + N(0, 1), scaled by 1/5."""
    t = 1.5 * math.pi * (1 + 2 * _rand(n, generator))
    pts = torch.stack([t * t.cos(), t * t.sin()], dim=1) + _randn(n, 2, generator)
    return (pts / 5.0).float()


def moons(n: int, generator: torch.Generator | None = None) -> Tensor:
    """Two interleaving half circles (noise 0.1), scaled by 2 and shifted by (-1, -0.2)."""
    upper = torch.rand(n, generator=generator) < 0.5
    t = math.pi * _rand(n, generator)
    pts = torch.where(
        upper[:, None],
        torch.stack([t.cos(), t.sin()], 1),
        torch.stack([1 - t.cos(), 0.5 - t.sin()], 1),
    )
    pts = pts + 0.1 * _randn(n, 2, generator)
    return (2 * pts + torch.tensor([-1.0, -0.2], dtype=torch.float64)).float()


def checkerboard(n: int, generator: torch.Generator | None = None) -> Tensor:
    """Uniform on the black squares of a 4 x 4 checkerboard over [-4, 4]^2."""
    x1 = 4 * _rand(n, generator) - 2
    x2 = _rand(n, generator) - 2 * torch.randint(0, 2, (n,), generator=generator)
    x2 = x2 + torch.floor(x1) % 2
    return (2 * torch.stack([x1, x2], dim=1)).float()


def circles(n: int, generator: torch.Generator | None = None) -> Tensor:
    """Two concentric circles of radii 3 and 1.5 (noise 0.08 before scaling by 3)."""
    outer = torch.rand(n, generator=generator) < 0.5
    t = 2 * math.pi * _rand(n, generator)
    radius = torch.where(outer, 1.0, 0.5).double()
    pts = radius[:, None] * torch.stack([t.cos(), t.sin()], dim=1) + 0.08 * _randn(n, 2, generator)
    return (3 * pts).float()


def standard_normal(dim: int) -> Sampler:
    """N(0, I_dim), the usual source of the 2-D benchmarks."""

    def sample(n: int, generator: torch.Generator | None = None) -> Tensor:
        return _randn(n, dim, generator).float()

    return sample


TOY_2D: dict[str, Sampler] = {
    "8gaussians": eight_gaussians,
    "swiss_roll": swiss_roll,
    "moons": moons,
    "checkerboard": checkerboard,
    "circles": circles,
}


# ---------------------------------------------------------------------------------------------
# Gaussian -> Gaussian


def _sqrtm(s: Tensor) -> Tensor:
    """Square root of a symmetric positive semi-definite matrix, by eigendecomposition."""
    vals, vecs = torch.linalg.eigh(s)
    return (vecs * vals.clamp_min(0).sqrt()) @ vecs.T


@dataclass(frozen=True)
class GaussianPair:
    """Source N(m1, S1) and target N(m2, S2) with the closed-form W2 solution (float64).

    T*(x) = m2 + A (x - m1),  A = S1^-1/2 (S1^1/2 S2 S1^1/2)^1/2 S1^-1/2,
    W2^2 = ||m1 - m2||^2 + tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2).
    """

    m1: Tensor
    cov1: Tensor
    m2: Tensor
    cov2: Tensor

    @property
    def dim(self) -> int:
        return self.m1.shape[0]

    def _sample(self, mean: Tensor, cov: Tensor, n: int, gen: torch.Generator | None) -> Tensor:
        return (mean + _randn(n, self.dim, gen) @ torch.linalg.cholesky(cov).T).float()

    def sample_source(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        return self._sample(self.m1, self.cov1, n, generator)

    def sample_target(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        return self._sample(self.m2, self.cov2, n, generator)

    def map_matrix(self) -> Tensor:
        root1 = _sqrtm(self.cov1)
        inv_root1 = torch.linalg.inv(root1)
        return inv_root1 @ _sqrtm(root1 @ self.cov2 @ root1) @ inv_root1

    def optimal_map(self, x: Tensor) -> Tensor:
        """T*(x), the W2-optimal (Brenier) map, evaluated in float64 and returned in x's dtype."""
        a = self.map_matrix()
        return (self.m2 + (x.double() - self.m1) @ a.T).to(x.dtype)

    def w2_squared(self) -> float:
        root1 = _sqrtm(self.cov1)
        cross = _sqrtm(root1 @ self.cov2 @ root1)
        return float(
            (self.m1 - self.m2).square().sum() + torch.trace(self.cov1 + self.cov2 - 2 * cross)
        )

    def target_variance(self) -> float:
        """Var_target = tr(S2), the denominator of the L2-UV metric."""
        return float(torch.trace(self.cov2))

    def source_variance(self) -> float:
        return float(torch.trace(self.cov1))


def _random_cov(dim: int, gen: torch.Generator, lo: float, hi: float) -> Tensor:
    q, _ = torch.linalg.qr(torch.randn(dim, dim, generator=gen, dtype=torch.float64))
    eig = torch.exp(
        math.log(lo)
        + (math.log(hi) - math.log(lo)) * torch.rand(dim, generator=gen, dtype=torch.float64)
    )
    return (q * eig) @ q.T


def random_gaussian_pair(
    dim: int, seed: int = 0, eig_range: tuple[float, float] = (0.25, 4.0), mean_scale: float = 1.0
) -> GaussianPair:
    """Two Gaussians with random means (N(0, mean_scale^2 I)) and random covariances whose
    eigenvalues are log-uniform in eig_range, under random rotations."""
    if dim < 1:
        raise ValueError(f"dim must be >= 1; got {dim}")
    gen = torch.Generator().manual_seed(seed)
    m1 = mean_scale * torch.randn(dim, generator=gen, dtype=torch.float64)
    m2 = mean_scale * torch.randn(dim, generator=gen, dtype=torch.float64)
    return GaussianPair(
        m1, _random_cov(dim, gen, *eig_range), m2, _random_cov(dim, gen, *eig_range)
    )


# ---------------------------------------------------------------------------------------------
# The unit sphere


def sphere_mixture(centers: Tensor, spread: float = 0.3) -> Sampler:
    """A mixture on the unit sphere: pick a center uniformly, add N(0, spread^2 I), project.

    Projected Gaussians approximate von Mises-Fisher components (kappa ~ 1 / spread^2).
    """
    centers = torch.as_tensor(centers, dtype=torch.float64)
    centers = centers / centers.norm(dim=1, keepdim=True)

    def sample(n: int, generator: torch.Generator | None = None) -> Tensor:
        idx = torch.randint(0, centers.shape[0], (n,), generator=generator)
        pts = centers[idx] + spread * _randn(n, centers.shape[1], generator)
        return (pts / pts.norm(dim=1, keepdim=True)).float()

    return sample


def sphere_pair(spread: float = 0.3) -> tuple[Sampler, Sampler]:
    """Source: 3 clusters around the equator of S^2; target: 4 clusters of a tetrahedron."""
    angles = torch.tensor([0.0, 2.0, 4.0], dtype=torch.float64) * math.pi / 3
    equator = torch.stack([angles.cos(), angles.sin(), torch.zeros(3, dtype=torch.float64)], 1)
    tetra = torch.tensor([[1.0, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]])
    return sphere_mixture(equator, spread), sphere_mixture(tetra, spread)
