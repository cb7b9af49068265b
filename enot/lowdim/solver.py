"""`enot.fit`: ENOT on arrays or samplers (arXiv 2403.03777, Alg. 1).

Bidirectional (strictly convex c(x, y) = h(x - y)): two potentials, f on the source and g on the
target. Even steps train the map T(x) = x - grad h*(grad f(x)) against the dual potential g,
odd steps the map T^-1(y) = y - grad h*(grad g(y)) against f, each with the expectile
regulariser (`enot.losses.enot_losses` via `enot.step.enot_gradients`, shared with the image path).
One-directional (any batched cost): a residual map network T and a potential g, updated 1:1.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import torch
from torch import nn

from enot.lowdim.config import FitConfig
from enot.lowdim.costs import (
    ArrayCost,
    StrictlyConvexCost,
    check_batched_cost,
    cost_name,
    euclidean,
    get_array_cost,
    sphere_geodesic,
)
from enot.lowdim.inputs import batch_source, check_on_sphere, check_pair
from enot.lowdim.networks import gradient_maps, map_network, one_directional_map, potential
from enot.lowdim.result import TransportResult
from enot.lowdim.single_backward_step import make_step
from enot.lowdim.standardise import NONE, QUADRATIC_FACTOR, SEPARATE, SHARED, Standardiser
from enot.optim import adamw_cosine, finite_means
from enot.step import enot_gradients, objective_of

# Samples used to estimate the standardisation from samplers.
_STANDARDISE_SAMPLES = 10_000


def _standardisation(cost: ArrayCost) -> tuple[str, float]:
    name = cost_name(cost)
    if isinstance(cost, StrictlyConvexCost) and name in QUADRATIC_FACTOR:
        return SEPARATE, QUADRATIC_FACTOR[name]
    if cost is euclidean:
        return SHARED, 1.0
    return NONE, 1.0


def stepper(T: nn.Module, g: nn.Module, cost: ArrayCost, cfg: FitConfig):
    """``fit``'s step ``(x, y) -> ENOTLosses``, its gradients left in T's and g's ``.grad``: the
    lean two-backward step of the image path, or, with ``cfg.compile``, the single-backward
    step compiled. The benchmarks time this same step."""
    objective = objective_of(cost, cfg)
    if cfg.compile:
        return make_step(T, g, objective, compile=True)

    return lambda x, y: enot_gradients(T, g, x, y, objective)


def _optimiser(net: nn.Module, cfg: FitConfig, betas: tuple[float, float], dim: int):
    return adamw_cosine(
        net.parameters(), cfg.learning_rate(dim), betas, 0.0, cfg.steps, cfg.final_lr_ratio
    )


def fit(
    source: Any,
    target: Any,
    cost: str | ArrayCost = "half_sq_l2",
    bidirectional: bool = True,
    config: FitConfig | None = None,
    device: str | torch.device = "cpu",
    callback: Callable[[int, TransportResult], None] | None = None,
    **settings: Any,
) -> TransportResult:
    """Fit an OT map from `source` to `target` ([N, D] arrays or samplers n -> [n, D]).

    `settings` override fields of `config` (default `FitConfig()`, see `enot.lowdim.config`), e.g.
    `fit(x, y, steps=5000, lr=1e-3)`. `callback(step, result)` runs every `log_every` steps
    with the map as it stands (to track accuracy during a fit); time spent in it is not counted
    in `result.seconds` or the history's seconds.
    """
    cfg = (config or FitConfig()).replace(**settings)
    device = torch.device(device)
    torch.manual_seed(cfg.seed)
    cost = get_array_cost(cost)
    if bidirectional and not isinstance(cost, StrictlyConvexCost):
        raise ValueError(
            f"bidirectional=True needs a strictly convex cost c(x, y) = h(x - y) with a known "
            f"grad h* (a StrictlyConvexCost, e.g. 'half_sq_l2'); cost {cost_name(cost)!r} is not "
            "one, so T cannot be read off a potential's gradient. Use bidirectional=False"
        )
    src, tgt = batch_source(source, "source", device), batch_source(target, "target", device)
    check_pair(src, tgt)
    probe_x, probe_y = src(min(cfg.batch_size, 256)), tgt(min(cfg.batch_size, 256))
    if cost is sphere_geodesic:
        check_on_sphere(src.fixed_or_fresh(_STANDARDISE_SAMPLES), "source")
        check_on_sphere(tgt.fixed_or_fresh(_STANDARDISE_SAMPLES), "target")
    check_batched_cost(cost, probe_x, probe_y)

    kind, factor = _standardisation(cost) if cfg.standardise else (NONE, 1.0)
    std = Standardiser.from_samples(
        kind,
        src.fixed_or_fresh(_STANDARDISE_SAMPLES),
        tgt.fixed_or_fresh(_STANDARDISE_SAMPLES),
        factor,
    )
    dim = src.dim
    g = potential(cfg, dim).to(device)
    if bidirectional:
        f = potential(cfg, dim).to(device)
        T, T_inv = gradient_maps(f, g, cost)
        first = f
    else:
        f, T_inv = None, None
        T = one_directional_map(map_network(cfg, dim), cost).to(device)
        first = T
    forward_step = stepper(T, g, cost, cfg)  # trains T against g
    reverse_step = stepper(T_inv, f, T_inv.cost, cfg) if bidirectional else None  # T^-1, f
    opt_first, sched_first = _optimiser(first, cfg, cfg.betas_f, dim)
    opt_g, sched_g = _optimiser(g, cfg, cfg.betas_g, dim)

    history: list[dict[str, float]] = []

    def result() -> TransportResult:
        return TransportResult(
            T=T,
            g=g,
            f=f,
            T_inv=T_inv,
            cost=cost,
            standardiser=std,
            config=cfg,
            bidirectional=bidirectional,
            history=history,
            seconds=time.perf_counter() - start,
            source=src,
            target=tgt,
        )

    start = time.perf_counter()
    for step in range(cfg.steps):
        x, y = std.x_in(src(cfg.batch_size)), std.y_in(tgt(cfg.batch_size))
        opt_first.zero_grad(set_to_none=True)
        opt_g.zero_grad(set_to_none=True)
        losses = reverse_step(y, x) if bidirectional and step % 2 == 1 else forward_step(x, y)
        finite_means(
            {"g_loss": losses.g_loss, "t_loss": losses.t_loss},
            where=f"at step {step}",
            advice="try a smaller lr or standardise=True",
        )
        opt_first.step()
        opt_g.step()
        sched_first.step()
        sched_g.step()
        if cfg.log_every and (step + 1) % cfg.log_every == 0:
            history.append(
                {"step": step + 1, "seconds": time.perf_counter() - start, **losses.floats()}
            )
            if callback is not None:
                paused = time.perf_counter()
                callback(step + 1, result())
                start += time.perf_counter() - paused
    for net in (T, g):
        net.eval()
    return result()
