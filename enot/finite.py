"""The one non-finite guard: every update's losses and gradient norms pass through it before
its optimiser steps, so a NaN or inf stops a fit with no weight touched by it.

The image training loop, the ENOT-against-NOT benchmark and ``enot.fit`` all check through
``finite_means``; only the words around the value (where, what to do) are theirs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor


class NonFiniteError(FloatingPointError):
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
