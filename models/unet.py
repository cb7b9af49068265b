"""Image-to-image U-Net used as the transport map.

Architecture: Korotin et al., "Neural Optimal Transport" (ICLR 2023),
github.com/iamalexkorotin/NeuralOptimalTransport, ``src/unet.py``, which is
itself milesial's Pytorch-UNet (github.com/milesial/Pytorch-UNet). Submodule
names (``inc``, ``down1`` ... ``outc``) follow that source so that its state
dicts map onto this class key for key.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

# Four 2x max-pools: any smaller multiple would leave a skip connection and its
# upsampled partner misaligned by a pixel.
_DOWNSAMPLE_FACTOR = 16


class DoubleConv(nn.Module):
    """(conv3x3 -> BatchNorm -> ReLU) x 2."""

    def __init__(self, in_channels: int, out_channels: int, mid_channels: int | None = None):
        super().__init__()
        mid_channels = mid_channels or out_channels
        self.double_conv = nn.Sequential(
            nn.Conv2d(in_channels, mid_channels, kernel_size=3, padding=1),
            nn.BatchNorm2d(mid_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid_channels, out_channels, kernel_size=3, padding=1),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.double_conv(x)


class Down(nn.Module):
    """MaxPool2d(2) then DoubleConv."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.maxpool_conv = nn.Sequential(nn.MaxPool2d(2), DoubleConv(in_channels, out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.maxpool_conv(x)


class Up(nn.Module):
    """2x upsample, concatenate the skip, then DoubleConv.

    ``in_channels`` counts the upsampled input and the skip together, which are
    equal halves; with ``skip=False`` there is no skip and the conv reads only
    the upsampled half.
    """

    def __init__(
        self, in_channels: int, out_channels: int, bilinear: bool = True, skip: bool = True
    ):
        super().__init__()
        conv_in = in_channels if skip else in_channels // 2
        if bilinear:
            # Parameter-free upsampling keeps the channel count, so the first
            # conv of DoubleConv does the halving instead.
            self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
            self.conv = DoubleConv(conv_in, out_channels, in_channels // 2)
        else:
            self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, kernel_size=2, stride=2)
            self.conv = DoubleConv(conv_in, out_channels)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor | None) -> torch.Tensor:
        x1 = self.up(x1)
        if x2 is None:
            return self.conv(x1)
        # Kept from the source; a no-op for the 16-divisible sizes UNet accepts.
        diff_y = x2.size(2) - x1.size(2)
        diff_x = x2.size(3) - x1.size(3)
        x1 = F.pad(x1, [diff_x // 2, diff_x - diff_x // 2, diff_y // 2, diff_y - diff_y // 2])
        return self.conv(torch.cat([x2, x1], dim=1))


class OutConv(nn.Module):
    """1x1 projection to the output channels."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Bottleneck(nn.Module):
    """Flatten -> Linear(n, dim) -> Linear(dim, n) -> reshape: the map passes ``dim`` numbers.

    Without skip connections every output of the U-Net depends on its input only
    through these ``dim`` numbers, so its Jacobian has rank <= ``dim``.
    """

    def __init__(self, channels: int, side: int, dim: int):
        super().__init__()
        n = channels * side * side
        self.encode = nn.Linear(n, dim)
        self.decode = nn.Linear(dim, n)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x.flatten(1))).view(x.shape)


class UNet(ModelMixin, ConfigMixin):
    """NOT / Pytorch-UNet: four down and four up stages, BatchNorm, no output activation.

    Widths: ``base, 2b, 4b, 8b`` on the way down and ``16b // 2`` at the
    bottleneck when ``bilinear`` (``16b`` otherwise); the up path returns to
    ``base`` before a 1x1 conv. The output is unbounded: callers decide how to
    map it to pixel range.

    ``residual=True`` (not in the source) returns ``x + net(x)`` and scales the
    last projection's initial weights by 0.1, so the network starts near the
    identity map and learns only a correction. It needs ``in_channels ==
    out_channels``.

    Encoder-decoder options (not in the source): ``skips=False`` drops the four
    skip connections; ``bottleneck_dim > 0`` squeezes the deepest feature map
    through a :class:`Bottleneck` of that many numbers, which needs the input
    side ``image_size`` (a multiple of 16) to size its linear layers.

    ``gray_output=True`` (not in the source) draws one gray channel and repeats it over the
    ``out_channels``; with ``residual`` the correction is added to the input's channel mean. It
    is for grayscale domains stored as RGB: the map cannot add a colour no image has.
    """

    @register_to_config
    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        base_channels: int,
        bilinear: bool = True,
        residual: bool = False,
        skips: bool = True,
        bottleneck_dim: int = 0,
        image_size: int = 0,
        gray_output: bool = False,
    ):
        super().__init__()
        if residual and in_channels != out_channels:
            raise ValueError(
                f"a residual UNet maps images to images of the same channels; got "
                f"{in_channels} in and {out_channels} out"
            )
        if bottleneck_dim < 0:
            raise ValueError(f"bottleneck_dim must be >= 0 (0: none); got {bottleneck_dim}")
        if bottleneck_dim and (image_size <= 0 or image_size % _DOWNSAMPLE_FACTOR):
            raise ValueError(
                f"a UNet bottleneck needs image_size, a positive multiple of "
                f"{_DOWNSAMPLE_FACTOR}; got {image_size}"
            )
        b = base_channels
        factor = 2 if bilinear else 1
        self.inc = DoubleConv(in_channels, b)
        self.down1 = Down(b, 2 * b)
        self.down2 = Down(2 * b, 4 * b)
        self.down3 = Down(4 * b, 8 * b)
        self.down4 = Down(8 * b, 16 * b // factor)
        self.bottleneck = (
            Bottleneck(16 * b // factor, image_size // _DOWNSAMPLE_FACTOR, bottleneck_dim)
            if bottleneck_dim
            else None
        )
        self.up1 = Up(16 * b, 8 * b // factor, bilinear, skips)
        self.up2 = Up(8 * b, 4 * b // factor, bilinear, skips)
        self.up3 = Up(4 * b, 2 * b // factor, bilinear, skips)
        self.up4 = Up(2 * b, b, bilinear, skips)
        self.outc = OutConv(b, 1 if gray_output else out_channels)
        if residual:
            with torch.no_grad():
                self.outc.conv.weight.mul_(0.1)
                self.outc.conv.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        if height % _DOWNSAMPLE_FACTOR or width % _DOWNSAMPLE_FACTOR:
            raise ValueError(
                f"UNet input height and width must be divisible by {_DOWNSAMPLE_FACTOR} "
                f"(four 2x down-samplings); got {height}x{width}"
            )
        side = self.config.image_size
        if self.bottleneck is not None and (height, width) != (side, side):
            raise ValueError(
                f"this UNet's bottleneck was sized for {side}x{side} inputs; got {height}x{width}"
            )
        inputs = x
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x4 = self.down3(x3)
        x5 = self.down4(x4)
        if self.bottleneck is not None:
            x5 = self.bottleneck(x5)
        skips = (x4, x3, x2, x1) if self.config.skips else (None,) * 4
        x = self.up1(x5, skips[0])
        x = self.up2(x, skips[1])
        x = self.up3(x, skips[2])
        x = self.up4(x, skips[3])
        out = self.outc(x)
        if self.config.gray_output:
            if self.config.residual:
                out = inputs.mean(dim=1, keepdim=True) + out
            return out.expand(-1, self.config.out_channels, -1, -1)
        return inputs + out if self.config.residual else out
