"""Maths tier: the expectile loss, the ENOT losses and the gradient routing of one step."""

import copy

import pytest
import torch
from torch import nn

from enot.costs import get_cost, half_sq_l2, sq_l2_per_size
from enot.losses import enot_losses, expectile
from enot.step import ENOTObjective, enot_gradients, enot_joint_losses


def test_expectile_tau_half_is_half_mse():
    u = torch.randn(1000, dtype=torch.float64)
    assert torch.allclose(expectile(u, 0.5), 0.5 * u.square())


def test_expectile_is_asymmetric():
    u = torch.tensor([2.0, -2.0])
    out = expectile(u, 0.9)
    assert torch.allclose(out, torch.tensor([0.9 * 4, 0.1 * 4]))


def test_sq_l2_per_size_is_size_times_pixel_mse():
    x, y = torch.randn(4, 3, 16, 16), torch.randn(4, 3, 16, 16)
    mse = (x - y).square().mean(dim=(1, 2, 3))
    assert torch.allclose(sq_l2_per_size(x, y), 16 * mse, rtol=1e-5)
    assert torch.allclose(sq_l2_per_size(x, y), (x - y).flatten(1).square().sum(1) / (3 * 16))


def test_half_sq_l2_and_registry():
    x, y = torch.randn(5, 7), torch.randn(5, 7)
    assert torch.allclose(half_sq_l2(x, y), 0.5 * ((x - y) ** 2).sum(1))
    with pytest.raises(ValueError, match="unknown cost 'nope'"):
        get_cost("nope")


def test_w2_estimate_and_losses_on_hand_made_tensors():
    c_x_tx = torch.tensor([1.0, 2.0])
    c_xy = torch.tensor([3.0, 1.0])
    g_y = torch.tensor([0.5, -1.0])
    g_tx = torch.tensor([0.25, 1.5])
    tau, lam = 0.9, 0.7
    out = enot_losses(c_x_tx, c_xy, g_y, g_tx, g_tx, tau, lam)
    g_star = c_x_tx - g_tx  # [0.75, 0.5]
    assert torch.isclose(out.w_dist, g_star.mean() + g_y.mean())  # eq. 19: 0.625 - 0.25
    assert out.w_dist.item() == pytest.approx(0.375)
    r = g_star + g_y - c_xy  # [-1.75, -1.5]: both below zero -> weight 1 - tau
    reg = lam * 2 * ((1 - tau) * r.square()).mean()
    assert out.expectile.item() == pytest.approx(reg.item())
    assert out.g_loss.item() == pytest.approx(-0.375 + reg.item())
    assert out.t_loss.item() == pytest.approx((c_x_tx - g_tx).mean().item())
    assert out.transport_cost.item() == pytest.approx(1.5)


def test_the_potential_level_is_free_and_the_gauge_holds_it():
    gen = torch.Generator().manual_seed(0)
    c_x_tx, c_xy = torch.rand(64, generator=gen), torch.rand(64, generator=gen) + 1
    g_y, g_tx = torch.randn(64, generator=gen), torch.randn(64, generator=gen)
    a = torch.zeros((), requires_grad=True)  # a constant added to g everywhere

    def g_loss(gauge):
        return enot_losses(c_x_tx, c_xy, g_y + a, g_tx + a, g_tx + a, 0.98, 1.0, gauge).g_loss

    ungauged = g_loss(0.0)
    (grad_ungauged,) = torch.autograd.grad(ungauged, a)
    assert abs(grad_ungauged.item()) < 1e-6  # the dual does not see the level of g...
    shifted = enot_losses(c_x_tx, c_xy, g_y + 5, g_tx + 5, g_tx + 5, 0.98, 1.0)
    assert shifted.g_loss.item() == pytest.approx(ungauged.item(), abs=1e-5)
    assert shifted.w_dist.item() == pytest.approx(
        enot_losses(c_x_tx, c_xy, g_y, g_tx, g_tx, 0.98, 1.0).w_dist.item(), abs=1e-5
    )
    # ...but the logged T loss moves with it, one for one.
    assert shifted.t_loss.item() == pytest.approx(
        enot_losses(c_x_tx, c_xy, g_y, g_tx, g_tx, 0.98, 1.0).t_loss.item() - 5, abs=1e-5
    )
    held = g_loss(0.1)
    (grad_held,) = torch.autograd.grad(held, a)
    assert held.item() == pytest.approx(ungauged.item() + 0.1 * g_y.mean().item() ** 2, rel=1e-5)
    assert grad_held.item() == pytest.approx(2 * 0.1 * g_y.mean().item(), rel=1e-4)
    # T's loss does not depend on the gauge.
    assert (
        enot_losses(c_x_tx, c_xy, g_y, g_tx, g_tx, 0.98, 1.0, 0.1).t_loss.item()
        == enot_losses(c_x_tx, c_xy, g_y, g_tx, g_tx, 0.98, 1.0).t_loss.item()
    )


class TinyT(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Tanh(), nn.Conv2d(4, 3, 1))

    def forward(self, x):
        return x + self.net(x)


class TinyG(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, 4, 3, padding=1), nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(4 * 8 * 8, 1)
        )

    def forward(self, x):
        return self.net(x).squeeze(-1)


def _pair():
    torch.manual_seed(0)
    return TinyT().double(), TinyG().double()


def _data():
    g = torch.Generator().manual_seed(1)
    return (
        torch.randn(6, 3, 8, 8, generator=g, dtype=torch.float64),
        torch.randn(6, 3, 8, 8, generator=g, dtype=torch.float64),
    )


def _grads(m):
    return [p.grad.clone() if p.grad is not None else torch.zeros_like(p) for p in m.parameters()]


def test_lean_step_gradients_equal_the_step_whose_losses_carry_their_stop_gradients():
    T1, g1 = _pair()
    T2, g2 = copy.deepcopy(T1), copy.deepcopy(g1)
    x, y = _data()
    out = enot_gradients(T1, g1, x, y, ENOTObjective(sq_l2_per_size, 0.98, 1.0))
    ref = enot_joint_losses(T2, g2, x, y, ENOTObjective(sq_l2_per_size, 0.98, 1.0))
    (ref.g_loss + ref.t_loss).backward()  # one backward pass of the sum: no routing
    assert out.g_loss.item() == pytest.approx(ref.g_loss.item(), abs=1e-12)
    assert out.t_loss.item() == pytest.approx(ref.t_loss.item(), abs=1e-12)
    assert out.w_dist.item() == pytest.approx(ref.w_dist.item(), abs=1e-12)
    for a, b in zip(_grads(T1) + _grads(g1), _grads(T2) + _grads(g2)):
        assert torch.allclose(a, b, atol=1e-12), (a - b).abs().max()
    assert any(a.abs().sum() > 0 for a in _grads(T1))
    assert any(a.abs().sum() > 0 for a in _grads(g1))


def test_t_loss_leaves_g_gradients_at_zero():
    """Backpropagate only the T loss, as the step routes it: g's weights get nothing."""
    T, g = _pair()
    x, y = _data()
    seen = []

    def only_t(loss, inputs, retain_graph=False):
        if loss.requires_grad and any(i is next(iter(T.parameters())) for i in inputs):
            seen.append("t")
            torch.autograd.backward(loss, inputs=inputs, retain_graph=retain_graph)

    enot_gradients(T, g, x, y, ENOTObjective(sq_l2_per_size, 0.98, 1.0), backward=only_t)
    assert seen == ["t"]
    assert all(p.grad is None or p.grad.abs().max() == 0 for p in g.parameters())
    assert any(p.grad is not None and p.grad.abs().max() > 0 for p in T.parameters())


def test_g_loss_leaves_t_gradients_at_zero():
    T, g = _pair()
    x, y = _data()

    def only_g(loss, inputs, retain_graph=False):
        if any(i is next(iter(g.parameters())) for i in inputs):
            torch.autograd.backward(loss, inputs=inputs, retain_graph=retain_graph)

    enot_gradients(T, g, x, y, ENOTObjective(sq_l2_per_size, 0.98, 1.0), backward=only_g)
    assert all(p.grad is None or p.grad.abs().max() == 0 for p in T.parameters())
    assert any(p.grad is not None and p.grad.abs().max() > 0 for p in g.parameters())


def test_step_rejects_unequal_batches():
    T, g = _pair()
    x, y = _data()
    with pytest.raises(ValueError, match="differ in size: 6 vs 5"):
        enot_gradients(T, g, x, y[:5], ENOTObjective(sq_l2_per_size, 0.98, 1.0))


def test_the_lean_steps_losses_cannot_be_backpropagated_again():
    """Summing the lean step's two losses would send L_T into g; its graph is spent, so trying
    fails loudly instead of silently adding wrong gradients."""
    T, g = _pair()
    x, y = _data()
    out = enot_gradients(T, g, x, y, ENOTObjective(sq_l2_per_size, 0.98, 1.0))
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        (out.g_loss + out.t_loss).backward()


def test_summed_losses_with_a_frozen_g_leave_g_untouched_by_the_map_loss():
    """enot_joint_losses's L_T alone gives g no gradient and T one; its L_g gives T none."""
    T, g = _pair()
    x, y = _data()
    losses = enot_joint_losses(T, g, x, y, ENOTObjective(sq_l2_per_size, 0.98, 1.0))
    t_grads = torch.autograd.grad(
        losses.t_loss,
        list(g.parameters()) + list(T.parameters()),
        retain_graph=True,
        allow_unused=True,
    )
    n_g = len(list(g.parameters()))
    assert all(d is None or not d.any() for d in t_grads[:n_g])
    assert any(d is not None and d.abs().sum() > 0 for d in t_grads[n_g:])
    g_grads = torch.autograd.grad(losses.g_loss, list(T.parameters()), allow_unused=True)
    assert all(d is None or not d.any() for d in g_grads)


@pytest.mark.parametrize("r1, augment", [(0.5, False), (0.0, True), (2.0, True)])
def test_lean_step_equals_the_reference_with_the_potentials_options(r1, augment):
    T1, g1 = _pair()
    T2, g2 = copy.deepcopy(T1), copy.deepcopy(g1)
    x, y = _data()
    torch.manual_seed(3)  # the same augmentation draws in both steps
    out = enot_gradients(
        T1, g1, x, y, ENOTObjective(sq_l2_per_size, 0.98, 1.0, r1=r1, diff_augment=augment)
    )
    torch.manual_seed(3)
    ref = enot_joint_losses(
        T2, g2, x, y, ENOTObjective(sq_l2_per_size, 0.98, 1.0, r1=r1, diff_augment=augment)
    )
    (ref.g_loss + ref.t_loss).backward()
    assert out.g_loss.item() == pytest.approx(ref.g_loss.item(), abs=1e-12)
    if r1:
        assert out.grad_penalty.item() == pytest.approx(ref.grad_penalty.item(), abs=1e-12)
        assert out.grad_penalty.item() > 0
    else:  # no penalty: none is reported, so none is logged
        assert out.grad_penalty is None and ref.grad_penalty is None
    for a, b in zip(_grads(T1) + _grads(g1), _grads(T2) + _grads(g2)):
        assert torch.allclose(a, b, atol=1e-12), (a - b).abs().max()
    # Without the options the step differs: they are not silently ignored.
    T3, g3 = copy.deepcopy(T1), copy.deepcopy(g1)
    for p in list(T3.parameters()) + list(g3.parameters()):
        p.grad = None
    torch.manual_seed(3)
    without_options = enot_gradients(T3, g3, x, y, ENOTObjective(sq_l2_per_size, 0.98, 1.0))
    assert without_options.g_loss.item() != pytest.approx(out.g_loss.item(), abs=1e-9)


def test_r1_penalty_of_a_linear_potential_is_half_gamma_times_its_squared_slope():
    torch.manual_seed(0)
    g = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 1)).double()
    T, _ = _pair()
    x, y = _data()
    gamma = 0.3
    w = g[1].weight
    with_r1 = enot_gradients(T, g, x, y, ENOTObjective(sq_l2_per_size, 0.98, 1.0, r1=gamma))
    grad_with = w.grad.clone()
    w.grad = None
    without = enot_gradients(T, g, x, y, ENOTObjective(sq_l2_per_size, 0.98, 1.0))
    # grad_y (w . y + b) = w for every y: the penalty is gamma/2 |w|^2, its gradient gamma * w.
    assert with_r1.grad_penalty.item() == pytest.approx(gamma / 2 * w.square().sum().item())
    assert with_r1.g_loss.item() == pytest.approx(
        without.g_loss.item() + with_r1.grad_penalty.item(), abs=1e-12
    )
    assert torch.allclose(grad_with - w.grad, gamma * w, atol=1e-12)
