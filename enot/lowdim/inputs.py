"""Turn the user's source and target (arrays or samplers) into checked batch samplers.

Arrays ([N, D] numpy or torch) are resampled with replacement; a sampler is any callable
`n -> [n, D]`. Every problem is refused with an error that names it: wrong shape, different
dimensions, NaN or inf values, points off the unit sphere for the sphere cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor

SPHERE_TOLERANCE = 1e-4


@dataclass
class BatchSource:
    """Draws float32 batches [n, D] on `device`, checking samplers' output as it goes."""

    name: str
    dim: int
    device: torch.device
    array: Tensor | None = None
    sampler: Callable[[int], Any] | None = None

    def __call__(self, n: int) -> Tensor:
        if self.array is not None:
            idx = torch.randint(0, self.array.shape[0], (n,), device=self.array.device)
            return self.array[idx]
        batch = as_tensor(self.sampler(n), f"{self.name} sampler output", self.device)
        if batch.shape != (n, self.dim):
            raise ValueError(
                f"{self.name} sampler returned shape {tuple(batch.shape)} for n={n}; "
                f"expected ({n}, {self.dim})"
            )
        check_finite(batch, f"{self.name} sampler output")
        return batch

    def fixed_or_fresh(self, n: int) -> Tensor:
        """All the data for an array (capped at n), or n fresh samples."""
        if self.array is not None and self.array.shape[0] <= n:
            return self.array
        return self(n)


def as_tensor(data: Any, what: str, device: torch.device) -> Tensor:
    if isinstance(data, Tensor):
        t = data.detach()
    else:
        try:
            t = torch.from_numpy(np.asarray(data, dtype=np.float64))
        except (TypeError, ValueError) as err:
            raise TypeError(
                f"{what} must be an array [N, D] or a sampler n -> [n, D]; "
                f"got {type(data).__name__} ({err})"
            ) from None
    if not (t.is_floating_point() or t.dtype in (torch.int32, torch.int64)):
        raise TypeError(f"{what} must hold real numbers; got dtype {t.dtype}")
    if t.ndim != 2:
        raise ValueError(f"{what} must be 2-D [N, D]; got shape {tuple(t.shape)}")
    return t.to(device=device, dtype=torch.float32)


def check_finite(t: Tensor, what: str) -> None:
    bad = ~torch.isfinite(t)
    if bad.any():
        rows = bad.any(dim=1).nonzero().flatten()
        raise ValueError(
            f"{what} contains NaN or inf in {len(rows)} row(s), first at row "
            f"{int(rows[0])}; remove or impute them before fitting"
        )


def batch_source(data: Any, name: str, device: torch.device) -> BatchSource:
    if callable(data) and not isinstance(data, (Tensor, np.ndarray)):
        probe = as_tensor(data(2), f"{name} sampler output", device)
        if probe.shape[0] != 2:
            raise ValueError(f"{name} sampler returned {probe.shape[0]} rows when asked for 2")
        return BatchSource(name, probe.shape[1], device, sampler=data)
    arr = as_tensor(data, name, device)
    if arr.shape[0] < 2:
        raise ValueError(f"{name} needs at least 2 samples; got {arr.shape[0]}")
    check_finite(arr, name)
    return BatchSource(name, arr.shape[1], device, array=arr)


def check_pair(source: BatchSource, target: BatchSource) -> None:
    if source.dim != target.dim:
        raise ValueError(
            f"source and target have different dimensions: source D={source.dim}, "
            f"target D={target.dim}; both must be [N, D] with the same D"
        )


def check_on_sphere(batch: Tensor, name: str) -> None:
    err = (batch.norm(dim=1) - 1).abs().max().item()
    if err > SPHERE_TOLERANCE:
        raise ValueError(
            f"the sphere_geodesic cost needs {name} points on the unit sphere; "
            f"a norm differs from 1 by {err:.3g} (normalise rows first)"
        )
