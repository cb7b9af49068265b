"""The trainer's NaN guard: no non-finite loss, gradient or weight reaches a step or a checkpoint.

Each update's named scalars are gathered over processes before its optimiser steps (one host
sync per update, on purpose), and the weights are checked before each checkpoint. The error
names the value, the step, the process and the last good checkpoint to resume from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import torch
from accelerate import Accelerator

from enot.finite import NonFiniteError, finite_means
from enot.training.checkpoints import list_checkpoints


class FiniteGuard:
    def __init__(self, accelerator: Accelerator, mixed_precision: str, ckpt_dir: Path,
                 next_step: Callable[[], int]):
        self.accelerator, self.ckpt_dir, self.next_step = accelerator, ckpt_dir, next_step
        # fp16 loss scaling produces inf gradients by design; its scaler skips those steps.
        self.skip_grad_norms = mixed_precision == "fp16"

    def check(self, named: dict[str, torch.Tensor]) -> dict[str, float]:
        """The methods' ``check``: gather one update's scalars over processes; stop before its
        optimiser step if one is not finite; return their means."""
        try:
            return finite_means(
                named, where=f"at step {self.next_step()}", gather=self.accelerator.gather,
                unchecked=(lambda n: n.startswith("grad_norm")) if self.skip_grad_norms else None)
        except NonFiniteError as err:
            raise NonFiniteError(f"{err}; the update that produced it was not applied and "
                                 f"{self.last_good()}. Lower the learning rates or use "
                                 f"--mixed-precision no") from None

    def weights(self, models: Iterable[torch.nn.Module], step: int) -> None:
        finite = torch.stack([torch.isfinite(p).all() for m in models
                              for p in m.parameters()]).all()
        if not finite.item():
            raise NonFiniteError(f"the weights became non-finite at step {step}; no "
                                     f"checkpoint was written for it and {self.last_good()}")

    def last_good(self) -> str:
        found = list_checkpoints(self.ckpt_dir)
        return f"the last good checkpoint is {found[-1]}" if found else "there is no checkpoint yet"
