"""enot.optim: the optimiser schedule and the non-finite guard every fit shares."""

from __future__ import annotations

import math

import pytest
import torch

from enot.optim import NonFiniteError, adamw_cosine, cosine_lr_factor, find_non_finite, finite_means


def test_the_time_factor_follows_the_step_schedule():
    w = torch.nn.Parameter(torch.zeros(2))
    opt, sched = adamw_cosine([w], 0.1, (0.5, 0.5), 0.0, horizon=40, final_lr_ratio=0.01)
    for step in range(41):
        assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * cosine_lr_factor(step / 40, 0.01))
        opt.step()
        sched.step()
    assert cosine_lr_factor(1.0, 0.01) == pytest.approx(0.01)
    assert cosine_lr_factor(5.0, 0.01) == pytest.approx(0.01)  # past the budget: the floor


def test_without_weight_decay_it_is_adam():
    torch.manual_seed(0)
    a, b = torch.nn.Parameter(torch.randn(5)), None
    b = torch.nn.Parameter(a.detach().clone())
    opt_a, _ = adamw_cosine([a], 0.05, (0.5, 0.9), 0.0, 10, 0.01)
    opt_b = torch.optim.Adam([b], lr=0.05, betas=(0.5, 0.9))
    for _ in range(5):
        for p, opt in ((a, opt_a), (b, opt_b)):
            opt.zero_grad()
            (p**3).sum().backward()
            opt.step()
    assert torch.equal(a, b)


def test_the_guard_names_the_first_bad_value_and_its_process():
    names = ("g_loss", "t_loss", "grad_norm_t")
    assert find_non_finite(names, torch.tensor([1.0, -2.0, 3.0])) is None
    gathered = torch.tensor([[1.0, 2.0, 3.0], [1.0, 2.0, math.inf]])
    assert find_non_finite(names, gathered) == ("grad_norm_t", math.inf, 1)
    name, value, row = find_non_finite(names, torch.tensor([math.nan, 0.0, 0.0]))
    assert (name, row) == ("g_loss", 0) and math.isnan(value)


def test_finite_means_returns_the_values_or_names_the_bad_one():
    named = {"g_loss": torch.tensor(1.5), "grad_norm_t": torch.tensor(math.inf)}
    with pytest.raises(NonFiniteError, match=r"^grad_norm_t = inf at step 3; lower the lr$"):
        finite_means(named, where="at step 3", advice="lower the lr")
    # Values the caller exempts (fp16 gradients) pass; every value still comes back.
    out = finite_means(named, unchecked=lambda n: n.startswith("grad_norm"))
    assert out == {"g_loss": 1.5, "grad_norm_t": math.inf}
    two = lambda t: torch.cat([t, t * 0 + torch.tensor([[2.0, math.nan]])])  # noqa: E731
    with pytest.raises(NonFiniteError, match=r"grad_norm_t = nan \(process 1\)"):
        finite_means({"g_loss": torch.tensor(1.0), "grad_norm_t": torch.tensor(0.0)}, gather=two)
