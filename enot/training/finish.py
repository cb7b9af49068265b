"""The end of a run: its summary (with the weights checked equal across processes), the export
and the training curves; and the export of a map, with how it was made."""

from __future__ import annotations

import copy
import json
import shlex
import sys
import time

import torch
from diffusers.training_utils import EMAModel
from torch import nn

from enot.export import write_export
from enot.training import artifacts
from enot.training.curves import plot_training_curves
from enot.training.machine import machine_description
from enot.training.run import Run


def finish(
    run: Run, values: dict, last_eval: dict | None, start: float, start_step: int, out_of_time: bool
) -> dict:
    """The run's summary; when it finished, the export and summary.json; the curves."""
    cfg, acc, progress = run.cfg, run.acc, run.progress
    tc, run_dir = cfg.train, cfg.run_dir
    elapsed = time.perf_counter() - start
    checksum = torch.stack(
        [sum(p.double().sum() for p in n.parameters()) for n in (run.T_unwrapped, run.g_unwrapped)]
    )
    per_rank_params = acc.gather(checksum[None]).tolist()
    summary = {
        "distributed_type": str(acc.distributed_type.value),
        "num_processes": acc.num_processes,
        "global_batch": tc.batch_size * acc.num_processes,
        "steps": progress.step,
        "finished": progress.step == tc.steps or out_of_time,  # exported, nothing to resume
        "steps_this_run": progress.step - start_step,
        "seconds_this_run": elapsed,
        "final": values,
        # Weights must agree across data-parallel processes (checked below); data must not.
        "param_checksums_per_rank": per_rank_params,
    }
    if run.data_sum is not None:
        summary["data_checksums_per_rank"] = acc.gather(run.data_sum[None]).tolist()
    if last_eval is not None:
        summary.update(
            last_eval=last_eval, best_by=last_eval.get("best_by"), best_step=progress.best_step
        )
    if any(
        abs(r[i] - per_rank_params[0][i]) > 1e-6 * (1 + abs(per_rank_params[0][i]))
        for r in per_rank_params
        for i in range(2)
    ):
        raise RuntimeError(f"weights differ across processes after training: {per_rank_params}")
    if acc.is_main_process and summary["finished"]:
        export(run, artifacts.EXPORT, ema_copy(run.T_unwrapped, run.ema))
        (run_dir / artifacts.SUMMARY).write_text(json.dumps(summary, indent=2) + "\n")
    if acc.is_main_process and (run_dir / artifacts.LOG).is_file():
        plot_training_curves(run_dir / artifacts.LOG, run_dir / artifacts.CURVES)
    acc.wait_for_everyone()
    acc.end_training()
    return summary


def ema_copy(T: nn.Module, ema: EMAModel | None) -> nn.Module | None:
    """A copy of T holding the EMA weights, or None without an EMA."""
    if ema is None:
        return None
    model = copy.deepcopy(T)
    ema.copy_to(model.parameters())
    return model


def export(run: Run, name: str, T_ema: nn.Module | None, metrics: dict | None = None) -> None:
    """The inference export ``name`` of the run folder, at the run's step, with how it was
    made."""
    acc, cfg = run.acc, run.cfg
    launcher = (
        "python"
        if acc.num_processes == 1
        else f"accelerate launch --num_processes {acc.num_processes}"
    )
    provenance = {
        "command": f"{launcher} {shlex.join(sys.argv)}",
        "hardware": machine_description(),
        "num_processes": acc.num_processes,
        "seconds": run.progress.seconds,
    }
    write_export(
        cfg.run_dir / name,
        run.T_unwrapped,
        run.g_unwrapped,
        T_ema,
        cfg,
        run.progress.step,
        metrics=metrics,
        provenance=provenance,
        samples=cfg.run_dir / artifacts.SAMPLES / artifacts.LATEST_SAMPLES,
    )
