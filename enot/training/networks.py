"""Build the map T and the potential g from a Config."""

from __future__ import annotations

import torch

from enot.config import Config
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
