"""The benchmarks measure the step that trains: a benchmark's iteration and the training loop's,
on the same networks and batch, give the same gradients and the same weights after the step,
for every option of the step (R1, DiffAugment, the gauge, the NOT family, not_convex's alpha)."""

from __future__ import annotations

import copy
from functools import partial

import pytest
import torch
from accelerate import Accelerator

from benchmarks import comparison, step_timing
from enot.config.cli import parse_cli
from enot.training.finite_guard import check_update
from enot.training.networks import (
    build_networks,
    convexity_from,
    cost_from,
    objective_from,
    optimisers_from,
)
from enot.training.updates import enot_update, not_map_updates, not_potential_update

OPTIONS = {
    "defaults": [],
    "r1": ["--r1", "0.5"],
    "diff_augment": ["--diff-augment"],
    "gauge": ["--gauge", "0.3"],
    "all_three": ["--r1", "0.5", "--diff-augment", "--gauge", "0.3", "--tau", "0.9"],
    "not": ["--method", "not", "--t-iters", "2"],
    "not_convex": ["--method", "not_convex", "--convex-alpha", "0.5", "--cost", "pixel_mse"],
    "not_ae": ["--method", "not_ae", "--no-t-residual", "--ae-bottleneck", "4"],
}
FLAGS = ["--t-base-channels", "4", "--g-nfilter", "4", "--image-size", "16", "--batch-size", "4"]


def _cfg(options: list[str]):
    cfg, _ = parse_cli(["--preset", "colored_mnist", *FLAGS, *options], "test")
    return cfg


def _nets(cfg, T0, g0) -> tuple:
    T, g = copy.deepcopy(T0).train(), copy.deepcopy(g0).train()
    opt_t, _, opt_g, _ = optimisers_from(cfg, T, g, cfg.train.steps)
    return T, g, opt_t, opt_g


def _loop_iteration(cfg, nets: tuple, x, y, acc: Accelerator, tmp_path) -> None:
    """The loop's outer iteration as ``enot.training.loop.train`` calls it: its check (the finite
    guard on the accelerator) and backward; NOT's K map updates on ``x`` each, as the
    benchmark's, and on g itself (single process: the unwrapped g is g)."""
    T, g, opt_t, opt_g = nets
    check = partial(check_update, acc=acc, step=1, ckpt_dir=tmp_path, fp16=False)
    cost = cost_from(cfg, acc.device)
    if cfg.method.method == "enot":
        enot_update(T, g, opt_t, opt_g, x, y, objective_from(cfg, cost), acc.backward, check)
        return
    not_map_updates(T, g, opt_t, [x] * cfg.method.t_iters, cost, acc.backward, check)
    alpha, k = convexity_from(cfg, y.shape)
    not_potential_update(T, g, opt_g, x, y, cost, alpha, k, acc.backward, check)


def _state(nets: tuple) -> list[torch.Tensor]:
    T, g = nets[:2]
    params = [*T.parameters(), *g.parameters()]
    return [p.grad for p in params] + [p.detach() for p in params]


@pytest.mark.parametrize("option", list(OPTIONS))
def test_a_benchmarks_step_gives_the_loops_gradients(option, tmp_path):
    cfg = _cfg(OPTIONS[option])
    torch.manual_seed(0)
    T0, g0 = build_networks(cfg)
    if option == "not_convex":  # a steep g, so that psi = k||y||^2 - g is not convex yet
        with torch.no_grad():
            g0.fc.weight.mul_(1e3)
    gen = torch.Generator().manual_seed(1)
    x, y = (torch.rand(4, 3, 16, 16, generator=gen) * 2 - 1 for _ in "xy")
    acc = Accelerator(cpu=True)
    method = cfg.method.method
    torch.manual_seed(2)  # the same DiffAugment draws in every step
    loop = _nets(cfg, T0, g0)
    _loop_iteration(cfg, loop, x, y, acc, tmp_path)
    runs = {}
    torch.manual_seed(2)
    runs["comparison"] = _nets(cfg, T0, g0)
    comparison.outer_iteration(method, runs["comparison"], x, y, cfg, cfg.method.t_iters)
    if method == "enot":
        torch.manual_seed(2)
        runs["step_timing"] = _nets(cfg, T0, g0)
        step_timing.method_step("lean", runs["step_timing"], x, y, cfg)
    expected = _state(loop)
    assert all(t is not None for t in expected)
    assert any(t.abs().sum() > 0 for t in expected[: len(expected) // 2])
    for name, nets in runs.items():
        got = _state(nets)
        assert len(got) == len(expected)
        for a, b in zip(got, expected):
            assert torch.equal(a, b), name
    # The option reaches the step: without it the loop's gradients differ.
    without = {"not_convex": ["--method", "not", "--cost", "pixel_mse"]}.get(option, [])
    if option not in ("defaults", "not", "not_ae"):
        base = _cfg(without)
        torch.manual_seed(2)
        plain = _nets(base, T0, g0)
        _loop_iteration(base, plain, x, y, acc, tmp_path)
        assert not all(torch.equal(a, b) for a, b in zip(_state(plain), expected))
