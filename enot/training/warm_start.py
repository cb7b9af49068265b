"""The warm start (--init ot_plan): T regressed onto the exact OT matching, each x_i onto its
partner y_sigma(i), before ENOT's first step.

Its steps and seconds count apart from --steps and --max-seconds (``Progress.init_step``,
``init_seconds``); its lr follows a cosine over its own budget; it ends with a checkpoint (ENOT's
step 0, each one replacing the last) and a sample grid.
"""

from __future__ import annotations

import time
from functools import partial

import torch
from accelerate.utils import broadcast
from tqdm.auto import tqdm

from enot.optim import cosine_lr_factor
from enot.training import artifacts
from enot.training.checkpoints import save_checkpoint
from enot.training.finite_guard import check_update, check_weights
from enot.training.run import Run
from enot.training.stop_request import StopRequest
from enot.training.updates import regression_update


def warm_start(run: Run, stop: StopRequest) -> bool:
    """The warm start's regression steps, from where ``run.progress`` left them to the budget
    (--init-steps, else --init-seconds, on the main process's clock); False when a stop request
    ended it first, with a checkpoint that --resume latest continues."""
    cfg, acc, progress = run.cfg, run.acc, run.progress
    tc, o = cfg.train, cfg.optim
    ckpt_dir = cfg.run_dir / artifacts.CHECKPOINTS

    def fraction() -> float:
        if tc.init_steps:
            return progress.init_step / tc.init_steps
        return progress.init_seconds / tc.init_seconds

    if fraction() >= 1:
        return True
    start, seconds_before = time.perf_counter(), progress.init_seconds
    bar = tqdm(disable=not acc.is_main_process, desc="warm start", unit="step", leave=False)
    while fraction() < 1:
        step = progress.init_step + 1
        for group in run.opt_w.param_groups:
            group["lr"] = tc.init_lr * cosine_lr_factor(fraction(), o.final_lr_ratio)
        x, partner = run.draw(run.matched)
        check = partial(
            check_update, acc=acc, step=step, ckpt_dir=ckpt_dir, fp16=tc.mixed_precision == "fp16"
        )
        values = regression_update(run.T, run.opt_w, x, partner, run.cost, acc.backward, check)
        if run.ema is not None:
            run.ema.step(run.T_unwrapped.parameters())
        progress.init_step = step
        clock = seconds_before + time.perf_counter() - start
        progress.init_seconds = broadcast(
            torch.tensor([clock], dtype=torch.float64, device=acc.device)
        ).item()
        bar.update(1)
        asked = stop.requested()
        done = fraction() >= 1
        if step % tc.log_every == 0 or done or asked:
            rate = bar.n / (time.perf_counter() - start)
            run.log.warm_step(step, values, run.opt_w.param_groups[0]["lr"], rate)
        if step % tc.checkpoint_every == 0 or done or asked:
            # Step 0 of ENOT: each warm-start checkpoint replaces the last.
            check_weights((run.T, run.g), step, ckpt_dir)
            save_checkpoint(acc, ckpt_dir, 0, cfg, tc.checkpoints_total_limit)
        if asked:
            bar.close()
            return False
    bar.close()
    run.samples.save(run.T_unwrapped, 0)
    return True
