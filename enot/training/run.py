"""The run the training loop steps, built from a Config: the Accelerator, the networks, the cost
and objective, the optimisers, the data streams, the EMA, the logs, the resume.

``build_run`` is the loop's first paragraph, in the order it has always run (the seed before the
networks, the networks before the data), so that a run and its resume draw the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from diffusers.training_utils import EMAModel
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from enot.config import Config, ConfigError, save_config
from enot.costs import Cost
from enot.step import ENOTObjective
from enot.training import artifacts
from enot.training.accelerator_setup import make_accelerator, sync_batchnorm
from enot.training.checkpoints import Progress, list_checkpoints, resolve_resume
from enot.training.networks import (
    build_networks,
    cost_from,
    objective_from,
    optimisers_from,
    warm_optimiser_from,
)
from enot.training.plan_pairs import plan_pairs
from enot.training.run_log import RunLog, warn_changed
from enot.training.sample_grid import SampleGrid
from enot.training.streams import InfiniteStream, domain_loaders, shuffled_loaders


@dataclass
class Run:
    """What the loop steps. ``T`` and ``g`` are prepared (data-parallel, compiled); the
    ``_unwrapped`` modules are the same weights without those wrappers, for samples, evaluation,
    EMA and export, whose eval-mode calls would otherwise compile graphs of their own.
    ``matched`` streams the exact OT matching's pairs (the warm start, --pairs ot_plan) and
    ``opt_w`` is the warm start's optimiser; both are None where unused."""

    cfg: Config
    acc: Accelerator
    T: nn.Module
    g: nn.Module
    T_unwrapped: nn.Module
    g_unwrapped: nn.Module
    cost: Cost
    objective: ENOTObjective
    opt_t: Optimizer
    opt_g: Optimizer
    sched_t: LRScheduler
    sched_g: LRScheduler
    opt_w: Optimizer | None
    source: InfiniteStream
    target: InfiniteStream
    matched: InfiniteStream | None
    progress: Progress
    ema: EMAModel | None
    samples: SampleGrid
    log: RunLog
    data_sum: torch.Tensor | None  # --ddp-checksums: the sum of every batch this process drew

    def draw(self, stream: InfiniteStream) -> torch.Tensor | list[torch.Tensor]:
        """The stream's next batch (a pair of batches from ``matched``), counted in
        ``data_sum``."""
        batch = next(stream)
        if self.data_sum is not None:
            parts = batch if stream is self.matched else [batch]
            self.data_sum.add_(sum(b.double().sum() for b in parts))
        return batch


def build_run(cfg: Config, resume: str | None, has_evaluate: bool) -> Run:
    """The run folder's run: resumed from ``resume`` ("latest" or a checkpoint) where given;
    refuses a folder that holds checkpoints without --resume, and --eval-every without an
    evaluation callback."""
    tc, e = cfg.train, cfg.enot
    run_dir = cfg.run_dir
    ckpt_dir = run_dir / artifacts.CHECKPOINTS
    acc = make_accelerator(tc.mixed_precision, run_dir, tc.compile)
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
    cost = cost_from(cfg, acc.device)
    objective = objective_from(cfg, cost)
    # Accelerate steps a prepared scheduler once per process per call, hence the factor.
    opt_t, sched_t, opt_g, sched_g = optimisers_from(cfg, T, g, tc.steps * acc.num_processes)
    loaders = domain_loaders(cfg, acc.num_processes)
    # The exact OT matching's pairs, for the warm start and --pairs ot_plan: solved once by the
    # main process, in the run folder, and read there by every process.
    warm = tc.init == "ot_plan"
    extras = []
    if warm or e.pairs == "ot_plan":
        pairs = plan_pairs(cfg, run_dir, acc.print) if acc.is_main_process else None
        acc.wait_for_everyone()
        if pairs is None:  # the other processes read the main process's matching
            pairs = plan_pairs(cfg, run_dir, lambda _: None)
        extras.append(shuffled_loaders([pairs], tc.batch_size, cfg.data.num_workers)[0])
    if warm:
        extras.append(warm_optimiser_from(cfg, T))
    T, g, opt_t, opt_g, sched_t, sched_g, src_loader, tgt_loader, *extras = acc.prepare(
        T, g, opt_t, opt_g, sched_t, sched_g, *loaders, *extras
    )
    pair_loader, opt_w = (extras[0] if extras else None), (extras[1] if warm else None)
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
    if tc.eval_every and acc.is_main_process and not has_evaluate:
        raise ConfigError(
            "--eval-every needs an evaluation callback: pass evaluate "
            "(scripts/train.py passes enot.evaluation.map_judge.JudgeCallback)"
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
    return Run(
        cfg, acc, T, g, T_unwrapped, g_unwrapped, cost, objective, opt_t, opt_g, sched_t,
        sched_g, opt_w, source, target, matched, progress, ema, samples, log, data_sum,
    )  # fmt: skip
