"""The Accelerate training loop for ENOT (arXiv 2403.03777) and the NOT methods.

The trainer owns the networks, optimisers, schedules, EMA and checkpoints; it hands records to
``run_log``, grids to ``sample_grid``, and maps to the ``judging.Judge`` it is given. One
step is one outer iteration of the method (`enot.methods`: ENOT's T and g updated 1:1, or NOT's
K T-updates then one g update), whose losses live in `enot.losses` / `enot.not_losses`. It
runs the same under `python`, `accelerate launch` (one or many processes, GPU or CPU) and
`torchrun`.
"""

from __future__ import annotations

import copy
import json
import shlex
import sys
import time

import torch
from accelerate.utils import broadcast, set_seed
from diffusers.training_utils import EMAModel
from tqdm.auto import tqdm

from enot.config import Config, ConfigError, save_config
from enot.costs import get_cost
from enot.methods import enot_iteration, not_iteration
from enot.not_ae import ae_cost
from enot.not_losses import QUADRATIC_COEFFICIENT, quadratic_coefficient
from enot.optim import adamw_cosine
from enot.training.accelerator_setup import make_accelerator, sync_batchnorm
from enot.training.checkpoints import list_checkpoints, resolve_resume, save_checkpoint
from enot.training.curves import plot_training_curves
from enot.training.export import write_export
from enot.training.finite_guard import FiniteGuard
from enot.training.model_card import machine_description
from enot.training.judging import JudgeFactory
from enot.training.networks import build_networks
from enot.training.progress import Progress
from enot.training.run_log import RunLog, warn_changed
from enot.training.sample_grid import SampleGrid
from enot.training.streams import InfiniteStream, domain_loaders


class Trainer:
    def __init__(self, cfg: Config, resume: str | None = None,
                 make_judge: JudgeFactory | None = None):
        self.cfg = cfg
        self.run_dir = cfg.run_dir
        self.ckpt_dir = self.run_dir / "checkpoints"
        self.accelerator = make_accelerator(cfg.train.mixed_precision, self.run_dir, cfg.train.compile)
        acc, tc = self.accelerator, cfg.train
        resume_from, saved = resolve_resume(resume, self.ckpt_dir, cfg) if resume else (None, None)
        if resume_from is None and list_checkpoints(self.ckpt_dir):
            raise FileExistsError(f"{self.run_dir} already holds checkpoints; pass --resume latest "
                                  f"to continue it, or choose another --output-dir")
        set_seed(cfg.train.seed)

        T, g = build_networks(cfg)
        if tc.sync_bn:
            T = sync_batchnorm(T, acc)
        m = cfg.method
        # Built before any data or step: a missing LPIPS file or a bad cost stops the run here.
        self.cost = (ae_cost(m.ae_cost, m.lpips_weights, acc.device) if m.method == "not_ae"
                     else get_cost(m.cost))
        if m.method == "not_convex" and m.cost not in QUADRATIC_COEFFICIENT:
            raise ConfigError(f"--method not_convex needs a quadratic --cost (one of "
                              f"{', '.join(QUADRATIC_COEFFICIENT)}); got {m.cost!r}")
        o = cfg.optim
        # Accelerate steps a prepared scheduler once per process per call, hence the factor.
        horizon = cfg.train.steps * acc.num_processes
        opt_t, sched_t = adamw_cosine(T.parameters(), o.lr_t, (o.beta1, o.beta2),
                                      o.weight_decay, horizon, o.final_lr_ratio)
        opt_g, sched_g = adamw_cosine(g.parameters(), o.lr_g, (o.beta1, o.beta2),
                                      o.weight_decay, horizon, o.final_lr_ratio)

        loaders = domain_loaders(cfg, acc.num_processes)
        (self.T, self.g, self.opt_t, self.opt_g, self.sched_t, self.sched_g, src_loader,
         tgt_loader) = acc.prepare(T, g, opt_t, opt_g, sched_t, sched_g, *loaders)
        self.source = InfiniteStream(src_loader, acc, seed=cfg.train.seed * 2 + 1)
        self.target = InfiniteStream(tgt_loader, acc, seed=cfg.train.seed * 2 + 2)
        self.progress = Progress()
        self.guard = FiniteGuard(acc, cfg.train.mixed_precision, self.ckpt_dir,
                                 next_step=lambda: self.progress.step + 1)
        self.ema = None
        if cfg.train.ema_decay > 0:
            self.ema = EMAModel(self._plain(self.T).parameters(), decay=cfg.train.ema_decay)
            self.ema.to(acc.device)
        for obj in (self.progress, self.source, self.target, self.ema):
            if obj is not None:
                acc.register_for_checkpointing(obj)

        self.samples = SampleGrid(cfg, acc, self.run_dir / "samples")
        self.log = RunLog(acc, self.run_dir)
        if tc.eval_every and make_judge is None:
            raise ConfigError("--eval-every needs a judge: pass make_judge (scripts/train.py "
                              "passes enot.evaluation.map_judge.MapJudge.for_run)")
        self.judge, self.last_eval = None, None
        if tc.eval_every and acc.is_main_process:
            self.judge = make_judge(acc.device, acc.print)

        if acc.is_main_process:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            (self.run_dir / "samples").mkdir(exist_ok=True)
            save_config(cfg, self.run_dir / "config.json")
        acc.wait_for_everyone()
        if resume_from is not None:
            warn_changed(saved, cfg, acc)
            acc.load_state(str(resume_from))
            acc.print(f"resumed from {resume_from} at step {self.progress.step}")
        self.log.start(cfg)
        self.data_checksum = (torch.zeros((), dtype=torch.float64, device=acc.device)
                              if tc.ddp_checksums else None)

    # -----------------------------------------------------------------------------------------

    def train(self, stop_at: int | None = None) -> dict:
        """Run to --steps (or to `stop_at`, leaving a checkpoint); export at the end of --steps."""
        cfg, acc, tc = self.cfg, self.accelerator, self.cfg.train
        end = min(stop_at or tc.steps, tc.steps)
        self.T.train()
        self.g.train()
        bar = tqdm(total=tc.steps, initial=self.progress.step, disable=not acc.is_main_process,
                   dynamic_ncols=True, desc=cfg.method.method.upper(), unit="step")
        start, start_step, last = time.perf_counter(), self.progress.step, {}
        seconds_before = self.progress.seconds
        while self.progress.step < end:
            step = self.progress.step + 1
            last = self._iteration()
            self.sched_g.step()
            self.sched_t.step()
            if self.ema is not None:
                self.ema.step(self._plain(self.T).parameters())
            self.progress.step = step
            self.progress.seconds = seconds_before + time.perf_counter() - start
            bar.update(1)
            if step % tc.log_every == 0 or step == tc.steps:
                rate = (step - start_step) / (time.perf_counter() - start)
                self.log.train_step(step, last, {"lr_t": self.sched_t.get_last_lr()[0],
                                                 "lr_g": self.sched_g.get_last_lr()[0]}, rate)
                bar.set_postfix(W2=f"{last['w_dist']:.4f}", T=f"{last['t_loss']:.4f}",
                                g=f"{last['g_loss']:.4f}", refresh=False)
            if step % tc.sample_every == 0 or step == tc.steps:
                self.samples.save(self._plain(self.T), step)
            if tc.eval_every and (step % tc.eval_every == 0 or step == tc.steps):
                self.evaluate(step)
            if step % tc.checkpoint_every == 0 or step == end:
                self.guard.weights((self.T, self.g), step)
                save_checkpoint(acc, self.ckpt_dir, step, cfg, tc.checkpoints_total_limit)
        bar.close()
        elapsed = time.perf_counter() - start
        summary = self._finish(last, elapsed, self.progress.step - start_step)
        acc.end_training()
        return summary

    def _iteration(self) -> dict[str, float]:
        m, e, acc = self.cfg.method, self.cfg.enot, self.accelerator
        match m.method:
            case "enot":
                x, y = self._draw(self.source), self._draw(self.target)
                return enot_iteration(self.T, self.g, self.opt_t, self.opt_g, x, y, self.cost,
                                      e.tau, e.lam, e.gauge, backward=acc.backward,
                                      check=self.guard.check)
            case "not" | "not_convex" | "not_ae":
                # The K batches of the T updates first, then the potential's pair: the order
                # in which NOT, Alg. 1 draws them.
                t_batches = [self._draw(self.source) for _ in range(m.t_iters)]
                x, y = self._draw(self.source), self._draw(self.target)
                alpha, k = 0.0, 0.0
                if m.method == "not_convex":
                    alpha, k = m.convex_alpha, quadratic_coefficient(m.cost, y.shape)
                return not_iteration(self.T, self.g, self.opt_t, self.opt_g, t_batches, x, y,
                                     self.cost, alpha, k, g_plain=self._plain(self.g),
                                     backward=acc.backward, check=self.guard.check)

    def _plain(self, model: torch.nn.Module) -> torch.nn.Module:
        """The module without its data-parallel or compiled wrapper: for samples, evaluation,
        EMA and export, whose eval-mode calls would otherwise compile graphs of their own."""
        return self.accelerator.unwrap_model(model, keep_torch_compile=False)

    def _draw(self, stream: InfiniteStream) -> torch.Tensor:
        batch = next(stream)
        if self.data_checksum is not None:
            self.data_checksum += batch.double().sum()
        return batch

    def evaluate(self, step: int) -> None:
        """Judge the exported map (the EMA when kept) on the test split: target-class rate,
        content shift and MSE on every test image, FID and KID on --eval-images; the best by
        --best-by is exported to export_best/."""
        acc = self.accelerator
        if acc.is_main_process:
            ema = self.ema_model()
            model = ema if ema is not None else self._plain(self.T)
            verdict = self.judge.judge(model, acc.device)
            metrics = self.last_eval = verdict.metrics
            self.log.evaluation(step, metrics)
            if verdict.score > self.progress.best_score:
                self.progress.best_score, self.progress.best_step = verdict.score, step
                self._export("export_best", step, ema, metrics)
            tqdm.write(f"step {step}: {verdict.summary}; best by {self.judge.best_by} at step "
                       f"{self.progress.best_step}")
        # Only the main process scores; every rank keeps its best so their checkpoints agree.
        best = torch.tensor([self.progress.best_score, self.progress.best_step],
                            dtype=torch.float64, device=acc.device)
        best = broadcast(best, from_process=0)
        self.progress.best_score, self.progress.best_step = best[0].item(), int(best[1].item())

    def _export(self, name: str, step: int, ema: torch.nn.Module | None,
                metrics: dict[str, float] | None = None) -> None:
        acc = self.accelerator
        launcher = "python" if acc.num_processes == 1 else \
            f"accelerate launch --num_processes {acc.num_processes}"
        provenance = {"command": f"{launcher} {shlex.join(sys.argv)}",
                      "hardware": machine_description(), "num_processes": acc.num_processes,
                      "seconds": self.progress.seconds}
        write_export(self.run_dir / name, self._plain(self.T), self._plain(self.g), ema,
                     self.cfg, step, metrics=metrics, provenance=provenance,
                     samples=self.run_dir / "samples" / "latest.png")

    def ema_model(self) -> torch.nn.Module | None:
        if self.ema is None:
            return None
        model = copy.deepcopy(self._plain(self.T))
        self.ema.copy_to(model.parameters())
        return model

    def _finish(self, last: dict[str, float], elapsed: float, steps_run: int) -> dict:
        acc = self.accelerator
        T, g = self._plain(self.T), self._plain(self.g)
        checksum = torch.stack([sum(p.double().sum() for p in m.parameters()) for m in (T, g)])
        per_rank_params = acc.gather(checksum[None]).tolist()
        summary = {
            "distributed_type": str(acc.distributed_type.value),
            "num_processes": acc.num_processes,
            "global_batch": self.cfg.train.batch_size * acc.num_processes,
            "steps": self.progress.step,
            "steps_this_run": steps_run,
            "seconds_this_run": elapsed,
            "final": last,
            # Weights must agree across data-parallel processes (checked below); data must not.
            "param_checksums_per_rank": per_rank_params,
        }
        if self.data_checksum is not None:
            summary["data_checksums_per_rank"] = acc.gather(self.data_checksum[None]).tolist()
        if self.last_eval is not None:
            summary.update(last_eval=self.last_eval, best_by=self.judge.best_by,
                           best_step=self.progress.best_step)
        if any(abs(r[i] - per_rank_params[0][i]) > 1e-6 * (1 + abs(per_rank_params[0][i]))
               for r in per_rank_params for i in range(2)):
            raise RuntimeError(f"weights differ across processes after training: {per_rank_params}")
        if acc.is_main_process and self.progress.step == self.cfg.train.steps:
            self._export("export", self.progress.step, self.ema_model())
            (self.run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        if acc.is_main_process and (self.run_dir / "log.jsonl").is_file():
            plot_training_curves(self.run_dir / "log.jsonl", self.run_dir / "curves.png")
        acc.wait_for_everyone()
        return summary


