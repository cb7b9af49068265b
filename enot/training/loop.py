"""The training loop of ENOT (arXiv 2403.03777) and the NOT methods, top to bottom.

Build the run (``enot.training.run``: Accelerator, networks, optimisers, data, EMA, resume), warm
start it where asked (``enot.training.warm_start``), then step: one outer iteration of the method
(the one ``match``, whose updates, in ``enot.training.updates``, zero the gradients, run the
method's forward, backward, the finite guard and ``opt.step()``), the learning-rate schedule, the
EMA, the log, the sample grid, the evaluation callback, the checkpoint; stop after ``--steps`` or
``--max-seconds`` of training, and finish (``enot.training.finish``: summary, export, curves). It
runs the same under ``python``, ``accelerate launch`` (one or many processes, GPU or CPU) and
``torchrun``.

Training knows no metric: ``evaluate(T, step, seconds)`` is handed in (``scripts/train.py``
passes ``enot.evaluation.map_judge.JudgeCallback``) and answers ``(metrics, score, summary)``, or
None when it judged nothing; the map with the highest score is kept as ``export_best``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

import torch
from accelerate.utils import broadcast
from torch import nn
from tqdm.auto import tqdm

from enot.config import Config
from enot.optim import cosine_lr_factor
from enot.step import stationarity
from enot.training import artifacts, stop_request
from enot.training.checkpoints import save_checkpoint
from enot.training.finish import ema_copy, export, finish
from enot.training.finite_guard import check_update, check_weights
from enot.training.networks import convexity_from
from enot.training.run import Run, build_run
from enot.training.updates import enot_update, not_map_updates, not_potential_update
from enot.training.warm_start import warm_start

# T -> (metrics, score: higher is better, -inf never export_best; one line for the log), or
# None when nothing was judged at this call.
Evaluate = Callable[[nn.Module, int, float], "tuple[dict, float, str] | None"]


def train(
    cfg: Config,
    resume: str | None = None,
    stop_at: int | None = None,
    evaluate: Evaluate | None = None,
) -> dict:
    """Train to --steps or --max-seconds (or to ``stop_at``, leaving a checkpoint); export at
    the end. ``evaluate`` is called on the main process only; it is required with
    --eval-every. Returns the run summary (also written to summary.json at the end)."""
    tc, method, e = cfg.train, cfg.method.method, cfg.enot
    ckpt_dir = cfg.run_dir / artifacts.CHECKPOINTS

    # Build: resume target, seed, networks, cost, optimisers, data, EMA, logs.
    run = build_run(cfg, resume, evaluate is not None)
    acc, progress, draw = run.acc, run.progress, run.draw
    # A stop request (RUN/STOP, the demo's Stop) ends the run as --stop-at would, at the step
    # it has reached, in the warm start too.
    stop = stop_request.StopRequest(cfg.run_dir, acc)
    stopped = tc.init == "ot_plan" and not warm_start(run, stop)

    end = progress.step if stopped else min(stop_at or tc.steps, tc.steps)
    run.T.train()
    run.g.train()
    bar = tqdm(
        total=tc.steps,
        initial=progress.step,
        disable=not acc.is_main_process,
        dynamic_ncols=True,
        desc=method.upper(),
        unit="step",
    )
    start, start_step, values, last_eval = time.perf_counter(), progress.step, {}, None
    seconds_before, judging = progress.seconds, 0.0
    out_of_time = bool(tc.max_seconds) and progress.seconds >= tc.max_seconds
    while progress.step < end and not out_of_time:
        step = progress.step + 1
        # Every update's losses and gradient norms pass the finite guard before its optimiser
        # steps: a NaN stops the run with no weight touched by it.
        check = partial(
            check_update, acc=acc, step=step, ckpt_dir=ckpt_dir, fp16=tc.mixed_precision == "fp16"
        )

        # One outer iteration of the method.
        match method:
            case "enot":
                # g and T updated 1:1 on one batch pair (ENOT, Alg. 1): independent batches,
                # or, with --pairs ot_plan, each y_i the OT partner of x_i.
                x, y = (
                    draw(run.matched)
                    if e.pairs == "ot_plan"
                    else (draw(run.source), draw(run.target))
                )
                losses, values = enot_update(
                    run.T, run.g, run.opt_t, run.opt_g, x, y, run.objective, acc.backward, check
                )
            case "not" | "not_convex" | "not_ae":
                # K map updates, each on its own source batch with g frozen, then one potential
                # update on a source and a target batch: NOT, Alg. 1, in the order it draws them.
                t_batches = [draw(run.source) for _ in range(cfg.method.t_iters)]
                x, y = draw(run.source), draw(run.target)
                values = not_map_updates(
                    run.T, run.g_unwrapped, run.opt_t, t_batches, run.cost, acc.backward, check
                )
                alpha, k = convexity_from(cfg, y.shape)
                values.update(
                    not_potential_update(
                        run.T, run.g, run.opt_g, x, y, run.cost, alpha, k, acc.backward, check
                    )
                )
        progress.step = step
        progress.seconds = seconds_before + time.perf_counter() - start - judging
        if tc.max_seconds:  # one clock for every process: the main process's
            progress.seconds = broadcast(
                torch.tensor([progress.seconds], dtype=torch.float64, device=acc.device)
            ).item()
            out_of_time = progress.seconds >= tc.max_seconds
        if stop.requested():  # checkpointed below, as at --stop-at
            end = step
        last = step == tc.steps or out_of_time

        # Schedule: the cosine over --steps, or over --max-seconds when the budget is time.
        step_schedules(run)

        # EMA of T's weights.
        if run.ema is not None:
            run.ema.step(run.T_unwrapped.parameters())

        # Log.
        bar.update(1)
        if step % tc.log_every == 0 or last:
            if method == "enot":  # how near T(x) is to the argmin of c(x, .) - g(.)
                s = stationarity(run.g_unwrapped, x, losses.mapped, run.cost)
                values.update(stationarity_ratio=s.ratio, stationarity_cosine=s.cosine)
            rate = (step - start_step) / (time.perf_counter() - start)
            lrs = {"lr_t": run.opt_t.param_groups[0]["lr"], "lr_g": run.opt_g.param_groups[0]["lr"]}
            run.log.train_step(step, values, lrs, rate)
            bar.set_postfix(
                dual=f"{values['w_dist']:.4f}",
                T=f"{values['t_loss']:.4f}",
                g=f"{values['g_loss']:.4f}",
                refresh=False,
            )

        # Sample grid.
        if step % tc.sample_every == 0 or last:
            run.samples.save(run.T_unwrapped, step)

        # Evaluation: the exported map (the EMA when kept) judged; the best one exported.
        if tc.eval_every and (step % tc.eval_every == 0 or last):
            clock = time.perf_counter()
            metrics = judge(run, evaluate, step)
            last_eval = last_eval if metrics is None else metrics
            judging += time.perf_counter() - clock

        # Checkpoint, with finite weights only.
        if step % tc.checkpoint_every == 0 or step == end or out_of_time:
            check_weights((run.T, run.g), step, ckpt_dir)
            save_checkpoint(acc, ckpt_dir, step, cfg, tc.checkpoints_total_limit)
    bar.close()

    # Summary, weights agreed across processes, export.
    return finish(run, values, last_eval, start, start_step, out_of_time)


def step_schedules(run: Run) -> None:
    """Both learning rates after a step: the prepared schedulers' cosine over --steps, or, when
    the budget is --max-seconds, the same cosine over the seconds trained."""
    tc, o = run.cfg.train, run.cfg.optim
    if tc.max_seconds:
        factor = cosine_lr_factor(run.progress.seconds / tc.max_seconds, o.final_lr_ratio)
        for opt, lr in ((run.opt_t, o.lr_t), (run.opt_g, o.lr_g)):
            for group in opt.param_groups:
                group["lr"] = lr * factor
    else:
        run.sched_g.step()
        run.sched_t.step()


def judge(run: Run, evaluate: Evaluate, step: int) -> dict | None:
    """The evaluation callback on the map the run would export (the EMA when kept), on the main
    process; a new best is exported as export_best. Every rank then keeps the best score and
    step, so that their checkpoints agree. The metrics, or None when nothing was judged."""
    acc, progress = run.acc, run.progress
    metrics = None
    if acc.is_main_process:
        ema_T = ema_copy(run.T_unwrapped, run.ema)
        verdict = evaluate(ema_T or run.T_unwrapped, step, progress.seconds)
        if verdict is not None:
            metrics, score, summary = verdict
            run.log.evaluation(step, metrics)
            if score > progress.best_score:
                progress.best_score, progress.best_step = score, step
                export(run, artifacts.EXPORT_BEST, ema_T, metrics)
            tqdm.write(
                f"step {step}: {summary}; best by {metrics.get('best_by')} at "
                f"step {progress.best_step}"
            )
    best = broadcast(
        torch.tensor(
            [progress.best_score, progress.best_step], dtype=torch.float64, device=acc.device
        )
    )
    progress.best_score, progress.best_step = best[0].item(), int(best[1].item())
    return metrics
