"""The ICNN-mixture benchmark pair: its true map is the gradient of a convex potential."""

import pytest
import torch

from benchmarks.icnn_mixture import l2_uv, linear_baseline
from enot.lowdim.datasets.icnn_mixture import icnn_mixture_pair


@pytest.mark.parametrize("dim,layers", [(2, 1), (5, 2), (16, 3)])
def test_true_map_is_the_autograd_gradient_of_psi(dim, layers):
    pair = icnn_mixture_pair(dim, seed=3, layers=layers)
    x = pair.sample_source(256, torch.Generator().manual_seed(0)).double().requires_grad_(True)
    (auto,) = torch.autograd.grad(pair.psi.value(x).sum(), x)
    hand = pair.psi.gradient(x.detach())
    assert hand.dtype == torch.float64
    assert torch.allclose(hand, auto, rtol=1e-10, atol=1e-10)
    assert torch.equal(pair.optimal_map(x.detach()), hand)


def test_psi_is_strongly_convex_so_grad_psi_is_the_brenier_map():
    pair = icnn_mixture_pair(16, seed=1)
    gen = torch.Generator().manual_seed(5)
    x = pair.sample_source(4000, gen).double()
    y = x + 2.0 * torch.randn(x.shape, generator=gen, dtype=torch.float64)
    gx, gy = pair.psi.gradient(x), pair.psi.gradient(y)
    alpha = pair.psi.alpha
    # Strong monotonicity of the gradient and the first-order convexity inequality.
    monotone = ((gx - gy) * (x - y)).sum(1) - alpha * (x - y).square().sum(1)
    assert monotone.min() >= -1e-9
    gap = pair.psi.value(y) - pair.psi.value(x) - (gx * (y - x)).sum(1)
    assert (gap - 0.5 * alpha * (x - y).square().sum(1)).min() >= -1e-9
    assert all((w >= 0).all() for w in pair.psi.hidden_weights)
    assert (pair.psi.output_weight >= 0).all()


def test_seeded_and_unpaired_samplers():
    a, b = icnn_mixture_pair(8, seed=0), icnn_mixture_pair(8, seed=0)
    gen = lambda: torch.Generator().manual_seed(9)  # noqa: E731
    assert torch.equal(a.sample_target(100, gen()), b.sample_target(100, gen()))
    assert torch.allclose(
        a.sample_target(100, gen()),
        a.optimal_map(a.sample_source(100, gen())),
        rtol=1e-5,
        atol=1e-5,
    )
    other = icnn_mixture_pair(8, seed=1)
    assert not torch.allclose(a.sample_target(100, gen()), other.sample_target(100, gen()))
    x = a.sample_source(10, gen())
    assert x.dtype == torch.float32 and x.shape == (10, 8)


@pytest.mark.parametrize("dim", [2, 16])
def test_true_map_is_far_from_linear(dim):
    # A Gaussian solver's best answer must miss by a lot, or the benchmark would not test
    # anything a linear map cannot do.
    pair = icnn_mixture_pair(dim)
    assert linear_baseline(pair, seed=0, n=50_000) > 8.0
    assert linear_baseline(icnn_mixture_pair(dim, strength=0.0), seed=0, n=50_000) < 0.1
    # ... and L2-UV cannot be won by leaving the data where it is.
    x = pair.sample_source(20_000, torch.Generator().manual_seed(1))
    assert l2_uv(x, pair.optimal_map(x), pair.target_variance()) > 100.0


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="dim, components, hidden and layers must be >= 1"):
        icnn_mixture_pair(0)
    with pytest.raises(ValueError, match="alpha > 0"):
        icnn_mixture_pair(4, alpha=0.0)
