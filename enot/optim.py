"""The optimiser of every fit: AdamW with a cosine learning-rate decay, over steps or seconds.

The image training loop, its benchmarks and ``enot.fit`` all build their optimisers here, so
they cannot drift apart.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from torch import Tensor
from torch.optim import AdamW
from torch.optim.lr_scheduler import CosineAnnealingLR


def adamw_cosine(
    params: Iterable[Tensor],
    lr: float,
    betas: tuple[float, float],
    weight_decay: float,
    horizon: int,
    final_lr_ratio: float,
) -> tuple[AdamW, CosineAnnealingLR]:
    """AdamW whose lr decays along a half cosine to ``final_lr_ratio * lr`` over ``horizon``
    scheduler steps (ENOT paper, App. C: betas (0.5, 0.5), decay to 1e-2). With
    ``weight_decay=0`` AdamW is Adam."""
    opt = AdamW(params, lr=lr, betas=betas, weight_decay=weight_decay)
    return opt, CosineAnnealingLR(opt, T_max=horizon, eta_min=lr * final_lr_ratio)


def cosine_lr_factor(fraction: float, final_lr_ratio: float) -> float:
    """The factor ``adamw_cosine``'s schedule applies at ``fraction`` of its horizon:
    r + (1 - r) (1 + cos(pi t)) / 2, for budgets counted in seconds rather than steps."""
    t = min(max(fraction, 0.0), 1.0)
    return final_lr_ratio + (1 - final_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t))
