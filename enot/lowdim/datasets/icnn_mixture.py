"""A W2-benchmark-style pair with a known, non-linear optimal map (after Korotin et al. 2021,
"Do Neural Optimal Transport Solvers Work?", arXiv 2106.01954).

Source P: a mixture of K Gaussians in R^D. Target Q = grad psi # P, where psi is a random
input-convex network (ICNN, Amos et al. 2017) drawn with a fixed seed:

    z_1 = A_1 x + b_1,   z_k = W_k s(z_{k-1}) + A_k x + b_k  (W_k >= 0),
    psi(x) = alpha/2 ||x||^2 + w^T s(z_L)                      (w >= 0),   s = softplus.

s is convex and non-decreasing and every weight on a hidden path is >= 0, so psi is convex, and
strongly convex through alpha > 0. By Brenier's theorem T* = grad psi is then the optimal map
from P to Q for the squared cost, so L2-UV = 100 E||T(x) - T*(x)||^2 / Var(Q) is measured
exactly. grad psi is written out layer by layer (a hand-made backward pass, float64):

    d_L = w * s'(z_L),   d_{k-1} = (W_k^T d_k) * s'(z_{k-1}),
    grad psi = alpha x + sum_k A_k^T d_k.

`tests/test_icnn_mixture.py` checks it against autograd and checks convexity. Every sampler
takes (n, generator=None) and returns float32 [n, D], like `enot.lowdim.datasets.synthetic`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor


def softplus(z: Tensor) -> Tensor:
    """log(1 + e^z) without F.softplus's linear cut-off at z > 20, so that sigmoid is exactly
    its derivative everywhere."""
    return torch.logaddexp(z, torch.zeros_like(z))


@dataclass(frozen=True)
class ConvexPotential:
    """psi(x) = alpha/2 ||x||^2 + w^T s(z_L), an ICNN with softplus s (see the module docstring)."""

    alpha: float
    input_weights: tuple[Tensor, ...]  # A_k [H, D]
    biases: tuple[Tensor, ...]  # b_k [H]
    hidden_weights: tuple[Tensor, ...]  # W_k [H, H] for k >= 2, all >= 0
    output_weight: Tensor  # w [H], >= 0

    def _preactivations(self, x: Tensor) -> list[Tensor]:
        zs = [x @ self.input_weights[0].T + self.biases[0]]
        for a, b, w in zip(self.input_weights[1:], self.biases[1:], self.hidden_weights):
            zs.append(softplus(zs[-1]) @ w.T + x @ a.T + b)
        return zs

    def value(self, x: Tensor) -> Tensor:
        x = x.double()
        return (
            0.5 * self.alpha * x.square().sum(1)
            + softplus(self._preactivations(x)[-1]) @ self.output_weight
        )

    def gradient(self, x: Tensor) -> Tensor:
        """grad psi(x) = T*(x), float64."""
        x = x.double()
        zs = self._preactivations(x)
        delta = self.output_weight * torch.sigmoid(zs[-1])
        grad = self.alpha * x + delta @ self.input_weights[-1]
        for k in range(len(zs) - 1, 0, -1):
            delta = (delta @ self.hidden_weights[k - 1]) * torch.sigmoid(zs[k - 1])
            grad = grad + delta @ self.input_weights[k - 1]
        return grad


@dataclass(frozen=True)
class IcnnMixturePair:
    """P = Gaussian mixture, Q = grad psi # P, T* = grad psi (float64 truth, float32 samples)."""

    means: Tensor  # [K, D]
    std: float
    psi: ConvexPotential

    @property
    def dim(self) -> int:
        return self.means.shape[1]

    def _mixture(self, n: int, gen: torch.Generator | None) -> Tensor:
        idx = torch.randint(0, self.means.shape[0], (n,), generator=gen)
        noise = torch.randn(n, self.dim, generator=gen, dtype=torch.float64)
        return self.means[idx] + self.std * noise

    def sample_source(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        return self._mixture(n, generator).float()

    def sample_target(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        return self.psi.gradient(self._mixture(n, generator)).float()

    def optimal_map(self, x: Tensor) -> Tensor:
        """T*(x) = grad psi(x), evaluated in float64 and returned in x's dtype."""
        return self.psi.gradient(x).to(x.dtype)

    def target_variance(self, n: int = 200_000, seed: int = 12345) -> float:
        """Var(Q) = E||y - E y||^2, the denominator of L2-UV, on n samples (float64)."""
        y = self.psi.gradient(self._mixture(n, torch.Generator().manual_seed(seed)))
        return float((y - y.mean(0)).square().sum(1).mean())


def _nonneg(shape: tuple[int, ...], gen: torch.Generator, fan_in: int) -> Tensor:
    return torch.randn(*shape, generator=gen, dtype=torch.float64).abs() / math.sqrt(fan_in)


def icnn_mixture_pair(
    dim: int,
    seed: int = 0,
    components: int = 3,
    hidden: int = 8,
    layers: int = 2,
    strength: float = 5.0,
    sharpness: float = 8.0,
    alpha: float = 1.0,
    separation: float = 1.0,
    std: float = 1.0,
) -> IcnnMixturePair:
    """A seeded pair: `components` Gaussians (means N(0, separation^2 I), std `std`) pushed
    through grad psi of a `layers`-deep ICNN of width `hidden`.

    The ICNN part of grad psi is rescaled so that its RMS deviation on P is `strength` times that
    of alpha x: strength 0 gives the linear map alpha x, and larger strengths bend it further.
    `sharpness` is the spread of the first layer's pre-activations on P: at 8 each softplus is
    nearly a ReLU, so grad psi is nearly piecewise constant plus alpha x. The defaults make the
    best linear map (the W2 map between P's and Q's Gaussian approximations) miss by 10.6%
    (D=2), 15.2% (D=8), 20.4% (D=16) and 28.5% (D=64) L2-UV (`benchmarks/lowdim.py
    icnn`): far from linear, as in the paper's Table 2.
    """
    if dim < 1 or components < 1 or hidden < 1 or layers < 1:
        raise ValueError(
            f"dim, components, hidden and layers must be >= 1; got {dim}, "
            f"{components}, {hidden}, {layers}"
        )
    if alpha <= 0 or strength < 0 or std <= 0:
        raise ValueError(
            f"need alpha > 0, strength >= 0 and std > 0; got {alpha}, {strength}, {std}"
        )
    gen = torch.Generator().manual_seed(seed)
    means = separation * torch.randn(components, dim, generator=gen, dtype=torch.float64)
    scale_x = math.sqrt(separation**2 + std**2)  # per-coordinate RMS of x
    inputs = tuple(
        torch.randn(hidden, dim, generator=gen, dtype=torch.float64)
        * (sharpness / (scale_x * math.sqrt(dim)))
        for _ in range(layers)
    )
    biases = tuple(torch.randn(hidden, generator=gen, dtype=torch.float64) for _ in range(layers))
    hiddens = tuple(_nonneg((hidden, hidden), gen, hidden) for _ in range(layers - 1))
    out = _nonneg((hidden,), gen, hidden)
    raw = IcnnMixturePair(means, std, ConvexPotential(alpha, inputs, biases, hiddens, out))
    x = raw._mixture(20_000, torch.Generator().manual_seed(seed + 1))
    bend = raw.psi.gradient(x) - alpha * x
    bend_rms = float((bend - bend.mean(0)).square().sum(1).mean().sqrt())
    x_rms = alpha * float((x - x.mean(0)).square().sum(1).mean().sqrt())
    factor = strength * x_rms / bend_rms if bend_rms > 0 else 0.0
    psi = ConvexPotential(alpha, inputs, biases, hiddens, out * factor)
    return IcnnMixturePair(means, std, psi)
