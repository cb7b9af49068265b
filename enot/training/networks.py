"""What one step needs, built from a Config: the networks T and g, the cost, the ENOT objective
and the optimisers. The training loop, every benchmark and the tests build them here, so what a
benchmark measures is what the loop trains.
"""

from __future__ import annotations

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from enot.config import Config, ConfigError
from enot.costs import QUADRATIC_COEFFICIENT, Cost, get_cost, quadratic_coefficient
from enot.not_ae import ae_cost
from enot.optim import adamw_cosine
from enot.step import ENOTObjective, objective_of
from models import ProjectedPotential, ResNetD, UNet

CHANNELS = 3  # every task is RGB; gray inputs are converted by the shared normalisation


def build_networks(cfg: Config) -> tuple[UNet, ResNetD | ProjectedPotential]:
    shape = cfg.method.t_architecture()  # not_ae: no skips, a bottleneck
    T = UNet(
        in_channels=CHANNELS,
        out_channels=CHANNELS,
        base_channels=cfg.t_net.base_channels,
        residual=cfg.t_net.residual,
        skips=shape["t_skips"],
        bottleneck_dim=shape["t_bottleneck"],
        image_size=cfg.data.image_size if shape["t_bottleneck"] else 0,
        gray_output=cfg.t_net.gray,
    )
    critic = dict(
        image_size=cfg.data.image_size,
        in_channels=CHANNELS,
        nfilter=cfg.g_net.nfilter,
        nfilter_max=cfg.g_net.nfilter_max,
    )
    if cfg.g_net.projected:  # g = ResNet_D + heads on a frozen backbone's features
        g = ProjectedPotential(
            **critic,
            backbone=cfg.g_net.projected,
            backbone_size=cfg.g_net.projected_size,
            backbone_weights=cfg.g_net.projected_weights,
        )
    else:
        g = ResNetD(**critic)
    if cfg.train.channels_last:
        # Channels-last weights make every convolution answer channels-last, whatever the
        # layout of its input, so the data need no conversion.
        T, g = T.to(memory_format=torch.channels_last), g.to(memory_format=torch.channels_last)
    return T, g


def cost_from(cfg: Config, device: torch.device | str = "cpu") -> Cost:
    """The transport cost of ``cfg``'s method (NOT-AE's own, loaded on ``device``); refuses a
    not_convex run whose cost is not quadratic. A missing LPIPS file stops here, before any
    data or step."""
    m = cfg.method
    if m.method == "not_convex" and m.cost not in QUADRATIC_COEFFICIENT:
        raise ConfigError(
            f"--method not_convex needs a quadratic --cost (one of "
            f"{', '.join(QUADRATIC_COEFFICIENT)}); got {m.cost!r}"
        )
    return ae_cost(m.ae_cost, m.lpips_weights, device) if m.method == "not_ae" else get_cost(m.cost)


def objective_from(cfg: Config, cost: Cost) -> ENOTObjective:
    """What one ENOT step minimises under ``cfg``: the cost, tau, lambda, the gauge and the
    potential's options (R1, DiffAugment)."""
    return objective_of(cost, cfg.enot)


def convexity_from(cfg: Config, shape: torch.Size) -> tuple[float, float]:
    """NOT's convexity penalty (alpha, k) for target batches of ``shape``: (0, 0) but under
    not_convex, whose penalty needs the quadratic cost's k."""
    m = cfg.method
    if m.method != "not_convex":
        return 0.0, 0.0
    return m.convex_alpha, quadratic_coefficient(m.cost, shape)


def optimisers_from(
    cfg: Config, T: torch.nn.Module, g: torch.nn.Module, horizon: int
) -> tuple[Optimizer, LRScheduler, Optimizer, LRScheduler]:
    """(opt_t, sched_t, opt_g, sched_g): AdamW for T and for g with ``cfg.optim``'s rates and
    betas, each with its cosine over ``horizon`` scheduler steps."""
    o = cfg.optim
    opt_t, sched_t = adamw_cosine(
        T.parameters(), o.lr_t, (o.beta1, o.beta2), o.weight_decay, horizon, o.final_lr_ratio
    )
    opt_g, sched_g = adamw_cosine(
        g.parameters(), o.lr_g, (o.beta1, o.beta2), o.weight_decay, horizon, o.final_lr_ratio
    )
    return opt_t, sched_t, opt_g, sched_g


def warm_optimiser_from(cfg: Config, T: torch.nn.Module) -> Optimizer:
    """The warm start's AdamW for T (--init-lr, no weight decay); its lr follows a cosine over
    the warm start's budget, set by the warm start itself."""
    o = cfg.optim
    return adamw_cosine(T.parameters(), cfg.train.init_lr, (o.beta1, o.beta2), 0.0, 1, 1.0)[0]
