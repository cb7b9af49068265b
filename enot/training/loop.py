"""The training loop of ENOT (arXiv 2403.03777) and the NOT methods, top to bottom.

Build the run (Accelerator, networks, optimisers, data, EMA, resume), then step: one outer
iteration of the method (the one ``match``: the method's forward, ``enot.step`` or
``enot.not_step``, gives the losses; backward, the finite guard and ``opt.step()`` are here), the
learning-rate schedule, the EMA, the log, the sample grid, the evaluation callback, the
checkpoint; stop after ``--steps`` or ``--max-seconds`` of training, and export. It runs the
same under ``python``, ``accelerate launch`` (one or many processes, GPU or CPU) and ``torchrun``.

Training knows no metric: ``evaluate(T, step, seconds)`` is handed in (``scripts/train.py``
passes ``enot.evaluation.map_judge.MapJudge``) and answers ``(metrics, score, summary)``, or
None when it judged nothing; the map with the highest score is kept as ``export_best``.
"""

from __future__ import annotations

import copy
import json
import shlex
import sys
import time
from collections.abc import Callable
from functools import partial

import torch
from accelerate import Accelerator
from accelerate.utils import broadcast, set_seed
from diffusers.training_utils import EMAModel
from torch import nn
from tqdm.auto import tqdm

from enot.config import Config, ConfigError, save_config
from enot.costs import QUADRATIC_COEFFICIENT, Cost, get_cost, quadratic_coefficient
from enot.export import write_export
from enot.machine import machine_description
from enot.not_ae import ae_cost
from enot.not_step import not_map_forward, not_potential_forward
from enot.optim import adamw_cosine, cosine_lr_factor
from enot.step import (
    Backward,
    ENOTObjective,
    backward_separately,
    enot_forward,
    grad_norm,
    stationarity,
    trainable_params,
)
from enot.training import artifacts
from enot.training.accelerator_setup import make_accelerator, sync_batchnorm
from enot.training.checkpoints import Progress, list_checkpoints, resolve_resume, save_checkpoint
from enot.training.curves import plot_training_curves
from enot.training.finite_guard import check_update, check_weights
from enot.training.networks import build_networks
from enot.training.plan_pairs import plan_pairs
from enot.training.run_log import RunLog, warn_changed
from enot.training.sample_grid import SampleGrid
from enot.training.streams import InfiniteStream, domain_loaders, shuffled_loaders
from enot.warm_start import regression_forward

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
    tc, o, m = cfg.train, cfg.optim, cfg.method
    run_dir = cfg.run_dir
    ckpt_dir = run_dir / artifacts.CHECKPOINTS
    acc = make_accelerator(tc.mixed_precision, run_dir, tc.compile)

    # Build: resume target, seed, networks, cost, optimisers, data, EMA, logs.
    resume_from, saved = resolve_resume(resume, ckpt_dir, cfg) if resume else (None, None)
    if resume == "latest" and resume_from is None:
        acc.print(f"--resume latest: no checkpoint in {ckpt_dir} yet; starting the run")
    elif resume_from is None and list_checkpoints(ckpt_dir):
        raise FileExistsError(
            f"{run_dir} already holds checkpoints; pass --resume latest "
            f"to continue it, or choose another --output-dir"
        )
    set_seed(tc.seed)
    T, g = build_networks(cfg)
    if tc.sync_bn:
        T = sync_batchnorm(T, acc)
    # Before any data or step: a missing LPIPS file or a bad cost stops the run here.
    cost = (
        ae_cost(m.ae_cost, m.lpips_weights, acc.device)
        if m.method == "not_ae"
        else get_cost(m.cost)
    )
    e = cfg.enot
    objective = ENOTObjective(cost, e.tau, e.lam, e.gauge, e.r1, e.diff_augment)
    if m.method == "not_convex" and m.cost not in QUADRATIC_COEFFICIENT:
        raise ConfigError(
            f"--method not_convex needs a quadratic --cost (one of "
            f"{', '.join(QUADRATIC_COEFFICIENT)}); got {m.cost!r}"
        )
    # Accelerate steps a prepared scheduler once per process per call, hence the factor.
    horizon = tc.steps * acc.num_processes
    opt_t, sched_t = adamw_cosine(
        T.parameters(), o.lr_t, (o.beta1, o.beta2), o.weight_decay, horizon, o.final_lr_ratio
    )
    opt_g, sched_g = adamw_cosine(
        g.parameters(), o.lr_g, (o.beta1, o.beta2), o.weight_decay, horizon, o.final_lr_ratio
    )
    loaders = domain_loaders(cfg, acc.num_processes)
    # The exact OT matching's pairs, for the warm start and --pairs ot_plan: solved once by the
    # main process, in the run folder, and read there by every process; the warm start's own
    # AdamW, whose lr follows a cosine over its budget.
    warm = tc.init == "ot_plan"
    extras = []
    if warm or e.pairs == "ot_plan":
        if acc.is_main_process:
            plan_pairs(cfg, run_dir, acc.print)
        acc.wait_for_everyone()
        pairs = plan_pairs(cfg, run_dir, lambda _: None)
        extras.append(shuffled_loaders([pairs], tc.batch_size, cfg.data.num_workers)[0])
    if warm:
        extras.append(adamw_cosine(T.parameters(), tc.init_lr, (o.beta1, o.beta2), 0.0, 1, 1.0)[0])
    T, g, opt_t, opt_g, sched_t, sched_g, src_loader, tgt_loader, *extras = acc.prepare(
        T, g, opt_t, opt_g, sched_t, sched_g, *loaders, *extras
    )
    pair_loader, opt_w = (extras[0] if extras else None), (extras[1] if warm else None)
    # The modules without their data-parallel or compiled wrappers: for samples, evaluation,
    # EMA and export, whose eval-mode calls would otherwise compile graphs of their own.
    T_unwrapped = acc.unwrap_model(T, keep_torch_compile=False)
    g_unwrapped = acc.unwrap_model(g, keep_torch_compile=False)
    source = InfiniteStream(src_loader, acc, seed=tc.seed * 2 + 1)
    target = InfiniteStream(tgt_loader, acc, seed=tc.seed * 2 + 2)
    matched = (
        None if pair_loader is None else InfiniteStream(pair_loader, acc, seed=tc.seed * 2 + 3)
    )
    progress = Progress()
    ema = None
    if tc.ema_decay > 0:
        ema = EMAModel(T_unwrapped.parameters(), decay=tc.ema_decay)
        ema.to(acc.device)
    for obj in (progress, source, target, matched, ema):
        if obj is not None:
            acc.register_for_checkpointing(obj)
    samples = SampleGrid(cfg, acc, run_dir / artifacts.SAMPLES)
    log = RunLog(acc, run_dir)
    if tc.eval_every and acc.is_main_process and evaluate is None:
        raise ConfigError(
            "--eval-every needs an evaluation callback: pass evaluate "
            "(scripts/train.py passes enot.evaluation.map_judge.MapJudge)"
        )
    if acc.is_main_process:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / artifacts.SAMPLES).mkdir(exist_ok=True)
        save_config(cfg, run_dir / artifacts.CONFIG)
    acc.wait_for_everyone()
    if resume_from is not None:
        warn_changed(saved, cfg, acc)
        acc.load_state(str(resume_from))
        acc.print(f"resumed from {resume_from} at step {progress.step}")
    log.start(cfg)
    data_sum = torch.zeros((), dtype=torch.float64, device=acc.device) if tc.ddp_checksums else None

    def draw(stream: InfiniteStream) -> torch.Tensor:
        batch = next(stream)
        if data_sum is not None:
            data_sum.add_(sum(b.double().sum() for b in (batch if stream is matched else [batch])))
        return batch

    # Warm start (--init ot_plan): T regressed onto the exact OT matching, each x_i onto its
    # partner y_sigma(i), before ENOT's first step; its steps and seconds count apart from
    # --steps and --max-seconds, and it ends with a checkpoint and a sample grid.
    if warm:
        progress = warm_start(
            cfg, acc, T, T_unwrapped, g, opt_w, matched, draw, cost, ema, progress, log, samples
        )

    end = min(stop_at or tc.steps, tc.steps)
    T.train()
    g.train()
    bar = tqdm(
        total=tc.steps,
        initial=progress.step,
        disable=not acc.is_main_process,
        dynamic_ncols=True,
        desc=m.method.upper(),
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

        # One outer iteration of the method: its forward gives the losses; backward, the guard
        # and the optimiser steps are here.
        match m.method:
            case "enot":
                # g and T updated 1:1 on one batch pair (ENOT, Alg. 1): independent batches,
                # or, with --pairs ot_plan, each y_i the OT partner of x_i.
                x, y = draw(matched) if e.pairs == "ot_plan" else (draw(source), draw(target))
                opt_t.zero_grad(set_to_none=True)
                opt_g.zero_grad(set_to_none=True)
                losses = enot_forward(T, g, x, y, objective)
                backward_separately(losses, T, g, acc.backward)  # L_g into g, L_T into T
                values = check(
                    {**losses.scalars(), "grad_norm_t": grad_norm(T), "grad_norm_g": grad_norm(g)}
                )
                opt_g.step()
                opt_t.step()
            case "not" | "not_convex" | "not_ae":
                # K map updates, each on its own source batch with g frozen, then one potential
                # update on a source and a target batch: NOT, Alg. 1, in the order it draws them.
                t_batches = [draw(source) for _ in range(m.t_iters)]
                x, y = draw(source), draw(target)
                values = not_map_updates(
                    T, g_unwrapped, opt_t, t_batches, cost, acc.backward, check
                )
                opt_g.zero_grad(set_to_none=True)
                alpha, k = 0.0, 0.0
                if m.method == "not_convex":
                    alpha, k = m.convex_alpha, quadratic_coefficient(m.cost, y.shape)
                p = not_potential_forward(T, g, x, y, cost, alpha, k)
                acc.backward(p.g_loss, inputs=trainable_params(g))
                potential = {
                    "g_loss": p.g_loss.detach().float(),
                    "w_dist": p.w_dist.float(),
                    "grad_norm_g": grad_norm(g),
                }
                if alpha > 0:
                    potential["jensen"] = p.jensen.float()
                values.update(check(potential))
                opt_g.step()
        progress.step = step
        progress.seconds = seconds_before + time.perf_counter() - start - judging
        if tc.max_seconds:  # one clock for every process: the main process's
            progress.seconds = broadcast(
                torch.tensor([progress.seconds], dtype=torch.float64, device=acc.device)
            ).item()
            out_of_time = progress.seconds >= tc.max_seconds
        last = step == tc.steps or out_of_time

        # Schedule: the cosine over --steps, or over --max-seconds when the budget is time.
        if tc.max_seconds:
            factor = cosine_lr_factor(progress.seconds / tc.max_seconds, o.final_lr_ratio)
            for opt, lr in ((opt_t, o.lr_t), (opt_g, o.lr_g)):
                for group in opt.param_groups:
                    group["lr"] = lr * factor
        else:
            sched_g.step()
            sched_t.step()

        # EMA of T's weights.
        if ema is not None:
            ema.step(T_unwrapped.parameters())

        # Log.
        bar.update(1)
        if step % tc.log_every == 0 or last:
            if m.method == "enot":  # how near T(x) is to the argmin of c(x, .) - g(.)
                s = stationarity(g_unwrapped, x, losses.mapped, cost)
                values.update(stationarity_ratio=s.ratio, stationarity_cosine=s.cosine)
            rate = (step - start_step) / (time.perf_counter() - start)
            log.train_step(
                step,
                values,
                {"lr_t": opt_t.param_groups[0]["lr"], "lr_g": opt_g.param_groups[0]["lr"]},
                rate,
            )
            bar.set_postfix(
                dual=f"{values['w_dist']:.4f}",
                T=f"{values['t_loss']:.4f}",
                g=f"{values['g_loss']:.4f}",
                refresh=False,
            )

        # Sample grid.
        if step % tc.sample_every == 0 or last:
            samples.save(T_unwrapped, step)

        # Evaluation: the exported map (the EMA when kept) judged; the best one exported.
        if tc.eval_every and (step % tc.eval_every == 0 or last):
            clock = time.perf_counter()
            if acc.is_main_process:
                ema_T = ema_copy(T_unwrapped, ema)
                verdict = evaluate(ema_T or T_unwrapped, step, progress.seconds)
                if verdict is not None:
                    metrics, score, summary = verdict
                    last_eval = metrics
                    log.evaluation(step, metrics)
                    if score > progress.best_score:
                        progress.best_score, progress.best_step = score, step
                        export(
                            cfg,
                            acc,
                            artifacts.EXPORT_BEST,
                            T_unwrapped,
                            g_unwrapped,
                            ema_T,
                            step,
                            progress.seconds,
                            metrics,
                        )
                    tqdm.write(
                        f"step {step}: {summary}; best by {metrics.get('best_by')} at "
                        f"step {progress.best_step}"
                    )
            # Only the main process scores; every rank keeps its best so their checkpoints agree.
            best = broadcast(
                torch.tensor(
                    [progress.best_score, progress.best_step],
                    dtype=torch.float64,
                    device=acc.device,
                )
            )
            progress.best_score, progress.best_step = best[0].item(), int(best[1].item())
            judging += time.perf_counter() - clock

        # Checkpoint, with finite weights only.
        if step % tc.checkpoint_every == 0 or step == end or out_of_time:
            check_weights((T, g), step, ckpt_dir)
            save_checkpoint(acc, ckpt_dir, step, cfg, tc.checkpoints_total_limit)
    bar.close()

    # Summary, weights agreed across processes, export.
    elapsed = time.perf_counter() - start
    checksum = torch.stack(
        [sum(p.double().sum() for p in n.parameters()) for n in (T_unwrapped, g_unwrapped)]
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
    if data_sum is not None:
        summary["data_checksums_per_rank"] = acc.gather(data_sum[None]).tolist()
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
        export(
            cfg,
            acc,
            artifacts.EXPORT,
            T_unwrapped,
            g_unwrapped,
            ema_copy(T_unwrapped, ema),
            progress.step,
            progress.seconds,
        )
        (run_dir / artifacts.SUMMARY).write_text(json.dumps(summary, indent=2) + "\n")
    if acc.is_main_process and (run_dir / artifacts.LOG).is_file():
        plot_training_curves(run_dir / artifacts.LOG, run_dir / artifacts.CURVES)
    acc.wait_for_everyone()
    acc.end_training()
    return summary


def warm_start(
    cfg: Config,
    acc: Accelerator,
    T: nn.Module,
    T_unwrapped: nn.Module,
    g: nn.Module,
    opt_w: torch.optim.Optimizer,
    matched: InfiniteStream,
    draw: Callable[[InfiniteStream], list[torch.Tensor]],
    cost: Cost,
    ema: EMAModel | None,
    progress: Progress,
    log: RunLog,
    samples: SampleGrid,
) -> Progress:
    """The warm start's regression steps, from where ``progress`` left them to the budget
    (--init-steps, else --init-seconds, on the main process's clock)."""
    tc, o = cfg.train, cfg.optim
    ckpt_dir = cfg.run_dir / artifacts.CHECKPOINTS

    def fraction() -> float:
        if tc.init_steps:
            return progress.init_step / tc.init_steps
        return progress.init_seconds / tc.init_seconds

    if fraction() >= 1:
        return progress
    start, seconds_before = time.perf_counter(), progress.init_seconds
    bar = tqdm(disable=not acc.is_main_process, desc="warm start", unit="step", leave=False)
    while fraction() < 1:
        step = progress.init_step + 1
        for group in opt_w.param_groups:
            group["lr"] = tc.init_lr * cosine_lr_factor(fraction(), o.final_lr_ratio)
        x, partner = draw(matched)
        opt_w.zero_grad(set_to_none=True)
        losses = regression_forward(T, x, partner, cost)
        acc.backward(losses.fit, inputs=trainable_params(T))
        values = check_update(
            {**losses.scalars(), "grad_norm_t": grad_norm(T)},
            acc=acc,
            step=step,
            ckpt_dir=ckpt_dir,
            fp16=tc.mixed_precision == "fp16",
        )
        opt_w.step()
        if ema is not None:
            ema.step(T_unwrapped.parameters())
        progress.init_step = step
        clock = seconds_before + time.perf_counter() - start
        progress.init_seconds = broadcast(
            torch.tensor([clock], dtype=torch.float64, device=acc.device)
        ).item()
        bar.update(1)
        done = fraction() >= 1
        if step % tc.log_every == 0 or done:
            rate = bar.n / (time.perf_counter() - start)
            log.warm_step(step, values, opt_w.param_groups[0]["lr"], rate)
        if step % tc.checkpoint_every == 0 or done:
            # Step 0 of ENOT: each warm-start checkpoint replaces the last.
            check_weights((T, g), step, ckpt_dir)
            save_checkpoint(acc, ckpt_dir, 0, cfg, tc.checkpoints_total_limit)
    bar.close()
    samples.save(T_unwrapped, 0)
    return progress


def ema_copy(T: nn.Module, ema: EMAModel | None) -> nn.Module | None:
    """A copy of T holding the EMA weights, or None without an EMA."""
    if ema is None:
        return None
    model = copy.deepcopy(T)
    ema.copy_to(model.parameters())
    return model


def not_map_updates(
    T: nn.Module,
    g: nn.Module,
    opt_t: torch.optim.Optimizer,
    batches: list[torch.Tensor],
    cost: Cost,
    backward: Backward,
    check: Callable[[dict], dict],
) -> dict[str, float]:
    """NOT's K map updates, one per source batch, g frozen (its unwrapped module: only T wants
    these gradients); the mean of their checked values."""
    means: dict[str, float] = {}
    for xt in batches:
        opt_t.zero_grad(set_to_none=True)
        m = not_map_forward(T, g, xt, cost)
        backward(m.t_loss, inputs=trainable_params(T))
        checked = check(
            {
                "t_loss": m.t_loss.detach().float(),
                "transport_cost": m.transport_cost.float(),
                "grad_norm_t": grad_norm(T),
            }
        )
        opt_t.step()
        for name, v in checked.items():
            means[name] = means.get(name, 0.0) + v / len(batches)
    return means


def export(
    cfg: Config,
    acc: Accelerator,
    name: str,
    T: nn.Module,
    g: nn.Module,
    T_ema: nn.Module | None,
    step: int,
    seconds: float,
    metrics: dict | None = None,
) -> None:
    """The inference export ``name`` of the run folder, with how it was made."""
    launcher = (
        "python"
        if acc.num_processes == 1
        else f"accelerate launch --num_processes {acc.num_processes}"
    )
    provenance = {
        "command": f"{launcher} {shlex.join(sys.argv)}",
        "hardware": machine_description(),
        "num_processes": acc.num_processes,
        "seconds": seconds,
    }
    write_export(
        cfg.run_dir / name,
        T,
        g,
        T_ema,
        cfg,
        step,
        metrics=metrics,
        provenance=provenance,
        samples=cfg.run_dir / artifacts.SAMPLES / artifacts.LATEST_SAMPLES,
    )
