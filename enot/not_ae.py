"""Costs of NOT auto-encoders: OT from P to P through T's bottleneck.

A NOT auto-encoder trains NOT (Korotin et al., arXiv 2201.12220, Alg. 1) with the target equal
to the source: the potential keeps T(x) on P, the cost keeps T(x) near x, and T is an
encoder-decoder (``models.UNet`` with ``skips=False`` and a ``bottleneck_dim``), so T(x) must
be a reconstruction of x from a few numbers. The cost is per-pixel L2 or L1, or the perceptual
LPIPS distance (Zhang et al. 2018, v0.1 AlexNet), whose backbone weights must be local
(``models.lpips.load_lpips``; nothing is downloaded).

All three are per-sample means, on the scale of a per-pixel error in [-1, 1].
"""

from __future__ import annotations

import torch
from torch import Tensor

from enot.costs import Cost, pixel_mse
from models.lpips import LPIPS_FROM_HUB, LPIPSWeightsError, load_lpips


def pixel_l1(x: Tensor, y: Tensor) -> Tensor:
    """Per-pixel mean absolute error, [B]."""
    return (x - y).flatten(1).abs().mean(dim=1)


def ae_cost(name: str, lpips_weights: str = "", device: torch.device | str = "cpu") -> Cost:
    """The NOT-AE cost by name: "l2" (per-pixel MSE), "l1", or "lpips" (frozen AlexNet LPIPS).

    "lpips" raises ``LPIPSWeightsError`` saying how to provide the AlexNet file when it is missing
    or wrong; ``lpips_weights`` empty means the torch hub cache.
    """
    if name == "l2":
        return pixel_mse
    if name == "l1":
        return pixel_l1
    if name == "lpips":
        try:
            model = load_lpips(lpips_weights or LPIPS_FROM_HUB, device)
        except LPIPSWeightsError as err:
            raise LPIPSWeightsError(
                f"--ae-cost lpips: {err}. (Training needs the file for "
                f"this cost; --ae-cost l2 or l1 need none.)"
            ) from None
        model.requires_grad_(False)  # a fixed metric: gradients flow to T(x) only

        def lpips_cost(x: Tensor, y: Tensor) -> Tensor:
            return model(x, y).flatten()

        return lpips_cost
    raise ValueError(f"unknown NOT-AE cost {name!r}; choose one of l2, l1, lpips")
