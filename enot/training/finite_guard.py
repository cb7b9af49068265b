"""The training loop's NaN guard: no non-finite loss, gradient or weight reaches a step or a
checkpoint.

Each update's named scalars are gathered over processes before its optimiser steps (one host
sync per update, on purpose), and the weights are checked before each checkpoint. The error
names the value, the step, the process and the last good checkpoint to resume from.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import torch
from accelerate import Accelerator

from enot.optim import NonFiniteError, finite_means
from enot.training.checkpoints import list_checkpoints


def check_update(
    named: dict[str, torch.Tensor], acc: Accelerator, step: int, ckpt_dir: Path, fp16: bool = False
) -> dict[str, float]:
    """The methods' ``check``: one update's scalars, gathered over processes and checked
    (gradient norms not under fp16, whose loss scaling makes inf gradients by design and skips
    those steps); their means."""
    try:
        return finite_means(
            named,
            where=f"at step {step}",
            gather=acc.gather,
            unchecked=(lambda n: n.startswith("grad_norm")) if fp16 else None,
        )
    except NonFiniteError as err:
        raise NonFiniteError(
            f"{err}; the update that produced it was not applied and "
            f"{last_good(ckpt_dir)}. Lower the learning rates or use "
            f"--mixed-precision no"
        ) from None


def check_weights(models: Iterable[torch.nn.Module], step: int, ckpt_dir: Path) -> None:
    finite = torch.stack([torch.isfinite(p).all() for m in models for p in m.parameters()]).all()
    if not finite.item():
        raise NonFiniteError(
            f"the weights became non-finite at step {step}; no checkpoint "
            f"was written for it and {last_good(ckpt_dir)}"
        )


def last_good(ckpt_dir: Path) -> str:
    found = list_checkpoints(ckpt_dir)
    return f"the last good checkpoint is {found[-1]}" if found else "there is no checkpoint yet"
