"""A run's records: ``log.jsonl`` (one JSON object per logged step or evaluation, read by the
curves plot) and the Accelerate trackers (TensorBoard)."""

from __future__ import annotations

import json
from pathlib import Path

from accelerate import Accelerator

from enot.config import Config
from enot.training.artifacts import LOG


class RunLog:
    def __init__(self, accelerator: Accelerator, run_dir: Path):
        self.accelerator, self.path = accelerator, Path(run_dir) / LOG

    def start(self, cfg: Config) -> None:
        self.accelerator.init_trackers("tensorboard", config=flat(cfg.to_dict()))

    def train_step(
        self, step: int, values: dict[str, float], lrs: dict[str, float], rate: float
    ) -> None:
        """The outer iteration's scalars, the learning rates, the step rate; plus the dual -
        primal gap, which is near 0 once T tracks the c-transform of g."""
        if "w_dist" in values and "transport_cost" in values:
            values = {**values, "dual_primal_gap": values["w_dist"] - values["transport_cost"]}
        record = {"step": step, **values, **lrs, "steps_per_s": rate}
        self.accelerator.log({f"train/{k}": v for k, v in record.items() if k != "step"}, step=step)
        if self.accelerator.is_main_process:
            self.append(record)

    def warm_step(self, step: int, values: dict[str, float], lr: float, rate: float) -> None:
        """A warm-start step's scalars, as ``{"phase": "init", "init_step": N, ...}``: before
        ENOT's step 1, so without a "step" of its own."""
        record = {"phase": "init", "init_step": step, **values, "lr_t": lr, "steps_per_s": rate}
        self.accelerator.log({f"init/{k}": v for k, v in values.items()}, step=step)
        if self.accelerator.is_main_process:
            self.append(record)

    def evaluation(self, step: int, metrics: dict) -> None:
        """Main process only: the judge's metrics (floats to the trackers, all to the file)."""
        self.accelerator.log(
            {f"eval/{k}": v for k, v in metrics.items() if isinstance(v, float)}, step=step
        )
        self.append({"step": step, **metrics})

    def append(self, record: dict) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")


def warn_changed(saved: Config, now: Config, acc: Accelerator) -> None:
    """Say which settings differ from the checkpoint's when a run resumes."""
    old, new = flat(saved.to_dict()), flat(now.to_dict())
    changed = [f"{k}: {old.get(k)} -> {v}" for k, v in new.items() if old.get(k) != v]
    if changed:
        acc.print("resuming with changed settings: " + "; ".join(changed))


def flat(d: dict, prefix: str = "") -> dict:
    """Nested config dict -> {"section.field": value}."""
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out
