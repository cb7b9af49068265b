"""Resumable training state on disk: atomic checkpoints, "latest", and a limit on how many are kept.

A checkpoint is `accelerator.save_state` (models as safetensors, optimisers, schedulers, RNG
states of every process, stream positions, EMA, ``Progress``) plus the resolved config.json. It
is written under a temporary name and renamed when complete, so a crash mid-write never leaves
a corrupt "latest".
"""

from __future__ import annotations

import re
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

from accelerate import Accelerator

from data.atomic import swap_in
from data.errors import UserError
from enot.config import Config, ConfigError, load_config, save_config
from enot.training.artifacts import CONFIG

_NAME = re.compile(r"^step_(\d{8})$")


@dataclass
class Progress:
    """Optimisation steps done and the best evaluation so far; saved in every checkpoint.

    ``best_score`` is higher-is-better whatever --best-by ranks by (FID and KID enter negated).
    """

    step: int = 0
    best_score: float = float("-inf")
    best_step: int = 0
    seconds: float = 0.0  # of training, over every resumed run
    # The warm start's regression steps and seconds (--init), before step 1.
    init_step: int = 0
    init_seconds: float = 0.0

    def state_dict(self) -> dict[str, float]:
        return {
            "step": self.step,
            "best_score": self.best_score,
            "best_step": self.best_step,
            "seconds": self.seconds,
            "init_step": self.init_step,
            "init_seconds": self.init_seconds,
        }

    def load_state_dict(self, state: dict[str, float]) -> None:
        self.step = int(state["step"])
        self.best_score = float(state["best_score"])
        self.best_step = int(state["best_step"])
        self.seconds = float(state["seconds"])
        self.init_step = int(state.get("init_step", 0))  # checkpoints from before --init
        self.init_seconds = float(state.get("init_seconds", 0.0))


class CheckpointError(UserError, ValueError):
    """A checkpoint is missing, incomplete, or belongs to another architecture."""


def list_checkpoints(folder: Path) -> list[Path]:
    """Complete checkpoints in `folder`, oldest first."""
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_dir() and _NAME.match(p.name)]
    return sorted(found, key=lambda p: int(_NAME.match(p.name).group(1)))


def save_checkpoint(
    accelerator: Accelerator, folder: Path, step: int, cfg: Config, limit: int
) -> Path:
    final = folder / f"step_{step:08d}"
    tmp = folder / f".tmp_step_{step:08d}"
    if accelerator.is_main_process:
        for stale in folder.glob(".tmp_step_*"):
            _remove(stale, "an unfinished checkpoint")
        tmp.mkdir(parents=True)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        save_config(cfg, tmp / CONFIG)
        swap_in(tmp, final)
        for old in list_checkpoints(folder)[:-limit]:
            _remove(old, f"a checkpoint beyond --checkpoints-total-limit {limit}")
    accelerator.wait_for_everyone()
    return final


def resolve_resume(arg: str, folder: Path, cfg: Config) -> tuple[Path | None, Config | None]:
    """Turn `--resume latest|PATH` into a checkpoint folder whose networks match `cfg`, and the
    config it was saved with. `latest` with no checkpoint yet is (None, None): the run starts,
    so that a job requeued before its first checkpoint can rerun its own command."""
    if arg == "latest":
        found = list_checkpoints(folder)
        if not found:
            return None, None
        path = found[-1]
    else:
        path = Path(arg)
        if not path.is_dir():
            raise CheckpointError(f"--resume {arg}: no such checkpoint folder")
    if not (path / CONFIG).is_file():
        raise CheckpointError(
            f"{path} is not a checkpoint folder: it has no config.json "
            f"(checkpoints are {folder}/step_NNNNNNNN)"
        )
    try:
        saved = load_config(path / CONFIG)
    except ConfigError as e:
        raise CheckpointError(f"{path}: {e}") from None
    ours, theirs = cfg.architecture(), saved.architecture()
    diff = {k: (theirs[k], ours[k]) for k in ours if ours[k] != theirs.get(k)}
    if diff:
        text = ", ".join(f"{k}: checkpoint {a} vs now {b}" for k, (a, b) in diff.items())
        raise CheckpointError(f"{path} was trained with other networks ({text})")
    return path, saved


def _remove(path: Path, what: str) -> None:
    """Delete ``path``; a failure is a warning, not an error (training goes on), but it is said:
    checkpoints that silently stay can fill the disk."""
    try:
        shutil.rmtree(path)
    except OSError as e:
        warnings.warn(f"could not delete {what}, {path}: {e}; delete it by hand", stacklevel=2)
