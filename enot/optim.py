"""What every fit shares: its optimiser, AdamW with a cosine learning-rate decay over steps or
seconds, and its non-finite guard, which every update's losses and gradient norms pass through
before its optimiser steps, so a NaN or inf stops a fit with no weight touched by it.

The image training loop, its benchmarks and ``enot.fit`` all build their optimisers and check
their updates here (``finite_means``), so they cannot drift apart; only the words around a
non-finite value (where, what to do) are theirs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import torch
from torch import Tensor
from torch.optim import AdamW
from torch.optim.lr_scheduler import CosineAnnealingLR

from data.errors import UserError


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


class NonFiniteError(UserError, FloatingPointError):
    """A loss, gradient norm or weight became NaN or inf; the update was not applied."""


def find_non_finite(names: Sequence[str], values: Tensor) -> tuple[str, float, int] | None:
    """The first NaN or inf among ``values`` ([n], or [rows, n] as gathered over processes,
    column i named ``names[i]``): (name, value, row), or None when all are finite."""
    values = values.detach().reshape(-1, len(names))
    bad = ~torch.isfinite(values)
    if not bad.any():
        return None
    row, col = (int(i) for i in bad.nonzero()[0])
    return names[col], values[row, col].item(), row


def finite_means(
    named: dict[str, Tensor],
    where: str = "",
    advice: str = "",
    gather: Callable[[Tensor], Tensor] | None = None,
    unchecked: Callable[[str], bool] | None = None,
) -> dict[str, float]:
    """Check one update's named scalars and return them as floats (their means over processes).

    ``gather`` collects a [1, n] tensor from every process into [processes, n] (one host sync;
    the error then names the process); names for which ``unchecked(name)`` holds may be
    non-finite (fp16 loss scaling makes inf gradients by design). Raises ``NonFiniteError``:
    "{name} = {value} {where} (process p); {advice}".
    """
    names = list(named)
    values = torch.stack([v.detach() for v in named.values()])[None]
    if gather is not None:
        values = gather(values)
    keep = [i for i, n in enumerate(names) if unchecked is None or not unchecked(n)]
    bad = find_non_finite([names[i] for i in keep], values[:, keep])
    if bad is not None:
        name, value, row = bad
        process = f" (process {row})" if gather is not None else ""
        raise NonFiniteError(
            f"{name} = {value}{' ' + where if where else ''}{process}"
            f"{'; ' + advice if advice else ''}"
        )
    return dict(zip(names, values.mean(0).tolist()))
