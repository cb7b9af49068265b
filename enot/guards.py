"""Shared training helpers: the optimiser with its cosine schedule, and the non-finite guard.

The image trainer, the ENOT-against-NOT benchmark and ``enot.fit`` all build their optimisers
and stop on NaN or inf through these, so the three cannot drift apart.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import torch
from torch import Tensor
from torch.optim import AdamW
from torch.optim.lr_scheduler import CosineAnnealingLR


class NonFiniteError(FloatingPointError):
    """A loss, gradient norm or weight became NaN or inf; the update was not applied."""


def adamw_cosine(params: Iterable[Tensor], lr: float, betas: tuple[float, float],
                 weight_decay: float, horizon: int, final_lr_ratio: float
                 ) -> tuple[AdamW, CosineAnnealingLR]:
    """AdamW whose lr decays along a half cosine to ``final_lr_ratio * lr`` over ``horizon``
    scheduler steps (ENOT paper, App. C: betas (0.5, 0.5), decay to 1e-2). With
    ``weight_decay=0`` AdamW is Adam."""
    opt = adamw(params, lr, betas, weight_decay)
    return opt, CosineAnnealingLR(opt, T_max=horizon, eta_min=lr * final_lr_ratio)


def adamw(params: Iterable[Tensor], lr: float, betas: tuple[float, float],
          weight_decay: float) -> AdamW:
    """``adamw_cosine``'s optimiser alone, for a caller that sets the lr itself each step
    (with ``cosine_lr_factor``, over a budget of seconds)."""
    return AdamW(params, lr=lr, betas=betas, weight_decay=weight_decay)


def cosine_lr_factor(fraction: float, final_lr_ratio: float) -> float:
    """The factor ``adamw_cosine``'s schedule applies at ``fraction`` of its horizon:
    r + (1 - r) (1 + cos(pi t)) / 2, for budgets counted in seconds rather than steps."""
    t = min(max(fraction, 0.0), 1.0)
    return final_lr_ratio + (1 - final_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t))


def find_non_finite(names: Sequence[str], values: Tensor) -> tuple[str, float, int] | None:
    """The first NaN or inf among ``values`` ([n], or [rows, n] as gathered over processes,
    column i named ``names[i]``): (name, value, row), or None when all are finite."""
    values = values.detach().reshape(-1, len(names))
    bad = ~torch.isfinite(values)
    if not bad.any():
        return None
    row, col = (int(i) for i in bad.nonzero()[0])
    return names[col], values[row, col].item(), row
