"""Low-dimensional ENOT, fast tier: costs, synthetic truths, gradient maps, standardisation."""

import pytest
import torch

from enot.lowdim.costs import (
    HALF_SQ_L2,
    SQ_EUCLIDEAN,
    StrictlyConvexCost,
    check_batched_cost,
    euclidean,
    get_array_cost,
    sphere_geodesic,
)
from enot.lowdim.datasets.synthetic import TOY_2D, random_gaussian_pair, sphere_pair
from enot.lowdim.maps import GradientMap, potential_gradient
from enot.lowdim.mlp_gradient import mlp_gradient, supports
from enot.lowdim.standardise import SEPARATE, SHARED, Standardiser
from models import MLP


def test_array_costs_values():
    x, y = torch.randn(6, 4, dtype=torch.double), torch.randn(6, 4, dtype=torch.double)
    assert torch.allclose(HALF_SQ_L2(x, y), 0.5 * ((x - y) ** 2).sum(1))
    assert torch.allclose(SQ_EUCLIDEAN(x, y), ((x - y) ** 2).sum(1))
    assert torch.allclose(euclidean(x, y), (x - y).norm(dim=1))
    u, v = x / x.norm(dim=1, keepdim=True), y / y.norm(dim=1, keepdim=True)
    assert torch.allclose(sphere_geodesic(u, v), torch.arccos((u * v).sum(1)), atol=1e-5)
    assert torch.isfinite(
        torch.autograd.functional.jacobian(lambda t: sphere_geodesic(u, t).sum(), u)
    ).all()  # finite gradient at x = y


def test_grad_h_star_inverts_grad_h():
    # grad h*(grad h(z)) = z is what makes T(x) = x - grad h*(grad f(x)) the optimal map.
    z = torch.randn(5, 3, dtype=torch.double, requires_grad=True)
    for cost in (HALF_SQ_L2, SQ_EUCLIDEAN, HALF_SQ_L2.swapped()):
        (grad_h,) = torch.autograd.grad(cost.h(z).sum(), z)
        assert torch.allclose(cost.grad_h_star(grad_h), z)


def test_swapped_cost_reads_arguments_the_other_way():
    h = StrictlyConvexCost("skew", h=lambda z: (z**4).sum(1) + z[:, 0], grad_h_star=lambda p: p)
    x, y = torch.randn(4, 2), torch.randn(4, 2)
    assert torch.allclose(h.swapped()(y, x), h(x, y))


def test_check_batched_cost_refuses_reducing_mixing_and_numpy_costs():
    x, y = torch.randn(8, 3), torch.randn(8, 3)
    check_batched_cost(HALF_SQ_L2, x, y)

    def total(a, b):
        return ((a - b) ** 2).sum()

    with pytest.raises(ValueError, match=r"'total' is not batched.*shape \(8,\)"):
        check_batched_cost(total, x, y)

    def mixes_rows(a, b):
        return ((a - b) ** 2).sum(1) / ((a - b) ** 2).sum()

    with pytest.raises(ValueError, match="'mixes_rows' is not row-wise"):
        check_batched_cost(mixes_rows, x, y)

    def through_numpy(a, b):
        return torch.from_numpy(((a - b) ** 2).sum(1).detach().numpy())

    with pytest.raises(ValueError, match="'through_numpy' is not differentiable"):
        check_batched_cost(through_numpy, x, y)

    def vector_only(a, b):
        return torch.dot(a, b)

    with pytest.raises(ValueError, match="'vector_only' failed on batched inputs"):
        check_batched_cost(vector_only, x, y)
    with pytest.raises(ValueError, match="unknown cost 'l3'"):
        get_array_cost("l3")


def test_gaussian_closed_form_map_and_w2():
    pair = random_gaussian_pair(5, seed=3)
    x = pair.sample_source(200_000, torch.Generator().manual_seed(0)).double()
    tx = pair.optimal_map(x)
    a = pair.map_matrix()
    assert torch.allclose(a, a.T, atol=1e-10) and torch.linalg.eigvalsh(a).min() > 0  # Brenier
    assert torch.allclose(a @ pair.cov1 @ a, pair.cov2, atol=1e-8)  # pushes S1 onto S2
    assert torch.allclose(tx.mean(0), pair.m2, atol=0.05)
    mc = float((x - tx).square().sum(1).mean())
    assert mc == pytest.approx(pair.w2_squared(), rel=0.01)


def test_synthetic_samplers_are_seeded_and_shaped():
    for name, sampler in TOY_2D.items():
        a = sampler(500, torch.Generator().manual_seed(1))
        b = sampler(500, torch.Generator().manual_seed(1))
        assert a.shape == (500, 2) and a.dtype == torch.float32 and torch.equal(a, b), name
        assert a.std() > 0.5, name
    src, tgt = sphere_pair()
    for s in (src, tgt):
        assert torch.allclose(s(1000).norm(dim=1), torch.ones(1000), atol=1e-6)


@pytest.mark.parametrize("activation", ["elu", "relu", "leaky_relu", "softplus", "silu"])
def test_hand_written_gradient_equals_autograd(activation):
    torch.manual_seed(0)
    m = MLP(in_dim=5, hidden=[7, 6, 4], out_dim=1, activation=activation, quadratic=True).double()
    with torch.no_grad():
        m.quadratic_form.normal_()
    x = torch.randn(9, 5, dtype=torch.double)
    assert supports(m)
    assert torch.allclose(mlp_gradient(m, x), potential_gradient(m, x, False), atol=1e-12)
    # ... and so are its parameter gradients, which training differentiates.
    w = torch.randn(9, 5, dtype=torch.double)
    fused = torch.autograd.grad(
        (mlp_gradient(m, x) * w).sum(), list(m.parameters()), materialize_grads=True
    )
    auto = torch.autograd.grad(
        (potential_gradient(m, x, True) * w).sum(), list(m.parameters()), materialize_grads=True
    )
    for a, b in zip(fused, auto):
        assert torch.allclose(a, b, atol=1e-10)


def test_gradient_map_of_a_quadratic_potential():
    # f(x) = 1/2 x^T W x gives T(x) = (I - W) x for half squared L2, (I - W/2) x for ||.||^2.
    m = MLP(in_dim=3, hidden=[4], out_dim=1, quadratic=True, zero_init_output=True).double()
    w = torch.tensor([[0.5, 0.1, 0.0], [0.1, 0.2, 0.0], [0.0, 0.0, -1.0]], dtype=torch.double)
    with torch.no_grad():
        m.quadratic_form.copy_(w)
    x = torch.randn(6, 3, dtype=torch.double)
    assert torch.allclose(GradientMap(m, HALF_SQ_L2)(x), x @ (torch.eye(3) - w).T.double())
    assert torch.allclose(
        GradientMap(m, SQ_EUCLIDEAN, fused=False)(x), x @ (torch.eye(3) - w / 2).T.double()
    )


def test_standardised_cost_equals_original_row_by_row():
    torch.manual_seed(0)
    x = 3 * torch.randn(50, 4, dtype=torch.double) + 5
    y = 0.5 * torch.randn(50, 4, dtype=torch.double) - 2
    for cost, factor in ((HALF_SQ_L2, 1.0), (SQ_EUCLIDEAN, 2.0)):
        std = Standardiser.from_samples(SEPARATE, x, y, factor)
        w_std = float(cost(std.x_in(x), std.y_in(y)).mean())
        assert std.cost_out(w_std, x, y) == pytest.approx(float(cost(x, y).mean()), rel=1e-9)
        assert torch.allclose(std.x_out(std.x_in(x)), x) and torch.allclose(
            std.y_out(std.y_in(y)), y
        )
    std = Standardiser.from_samples(SHARED, x, y)
    w_std = float(euclidean(std.x_in(x), std.y_in(y)).mean())
    assert std.cost_out(w_std, x, y) == pytest.approx(float(euclidean(x, y).mean()), rel=1e-6)


def test_single_backward_step_routes_gradients_like_the_lean_step():
    from enot.lowdim.single_backward_step import make_step
    from enot.step import ENOTObjective, enot_gradients

    torch.manual_seed(0)
    f = MLP(in_dim=3, hidden=[8, 8], out_dim=1, quadratic=True).double()
    g = MLP(in_dim=3, hidden=[8, 8], out_dim=1, quadratic=True).double()
    with torch.no_grad():
        f.quadratic_form.normal_()
        g.quadratic_form.normal_()
    T = GradientMap(f, HALF_SQ_L2)
    x, y = torch.randn(16, 3, dtype=torch.double), torch.randn(16, 3, dtype=torch.double) + 1
    objective = ENOTObjective(HALF_SQ_L2, 0.9, 0.3)
    lean = enot_gradients(T, g, x, y, objective)

    # f's output bias never reaches grad f, so its .grad stays None: compare it as zeros.
    def grads():
        return [
            torch.zeros_like(p) if p.grad is None else p.grad.clone()
            for p in (*f.parameters(), *g.parameters())
        ]

    before = grads()
    for p in (*f.parameters(), *g.parameters()):
        p.grad = None
    single = make_step(T, g, objective, compile=False)(x, y)
    assert torch.allclose(single.w_dist, lean.w_dist) and torch.allclose(single.t_loss, lean.t_loss)
    for a, b in zip(before, grads()):
        assert torch.allclose(a, b, atol=1e-12)
