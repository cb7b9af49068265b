"""The Accelerator of a run, and T's optional SyncBatchNorm: what differs between one CPU, one
GPU and many processes stays here, out of the loop."""

from __future__ import annotations

from pathlib import Path

import torch
from accelerate import Accelerator, DataLoaderConfiguration, PartialState
from accelerate.utils import ProjectConfiguration, TorchDynamoPlugin

from enot.config import ConfigError
from enot.inductor_cache import cache_per_cpu_capability


def cpu_only() -> bool:
    # Without CUDA, Accelerate must be told cpu=True, or every process of a multi-process
    # launch reports DistributedType.NO and trains alone.
    return not torch.cuda.is_available()


def process_state() -> PartialState:
    """This process's place in the launch (device, main or not), before the Accelerator: for
    what the main process must build before training, such as the evaluation callback."""
    return PartialState(cpu=cpu_only())


def make_accelerator(mixed_precision: str, run_dir: Path, compile: bool = False) -> Accelerator:
    """TensorBoard logs under ``run_dir/logs``; seedable samplers, so that resume replays the
    data order exactly.

    ``compile``: ``prepare`` wraps both networks in ``torch.compile`` (inductor), after DDP, so
    that dynamo's DDP optimiser splits the graphs at gradient-bucket boundaries and the
    all-reduce still overlaps the backward. ``dynamic=False``: every batch has the same shape
    (drop_last), so each network compiles once per set of guards (T: train mode; g: on y, and
    on T(x), which needs grad) and never recompiles for a shape. The optimiser steps stay eager.
    Inductor's cache is kept per CPU kernel set (`enot.inductor_cache`).
    """
    if compile:
        cache_per_cpu_capability()
    dynamo = TorchDynamoPlugin(
        backend="inductor" if compile else "no", dynamic=False if compile else None
    )
    return Accelerator(
        dynamo_plugin=dynamo,
        cpu=cpu_only(),
        mixed_precision=mixed_precision,
        log_with="tensorboard",
        project_config=ProjectConfiguration(
            project_dir=str(run_dir), logging_dir=str(run_dir / "logs")
        ),
        # non_blocking: batches come from pinned memory (on CUDA), so the copy to the GPU is
        # queued behind the running step instead of waiting for it.
        dataloader_config=DataLoaderConfiguration(
            use_seedable_sampler=True, non_blocking=torch.cuda.is_available()
        ),
    )


def sync_batchnorm(T: torch.nn.Module, acc: Accelerator) -> torch.nn.Module:
    """T's BatchNorm statistics over the global batch instead of each process's share.

    Worth it when the per-device batch is small (BatchNorm's statistics get noisy below ~16);
    the paper trains on one GPU, where it changes nothing. torch's SyncBatchNorm runs on CUDA
    (and XPU) only.
    """
    if acc.device.type == "cpu":
        raise ConfigError(
            "--sync-bn needs GPUs: torch's SyncBatchNorm does not run on CPU; leave it off here"
        )
    if acc.num_processes == 1:
        acc.print(
            "--sync-bn: one process, nothing to synchronise; BatchNorm is left unsynchronised"
        )
        return T
    return torch.nn.SyncBatchNorm.convert_sync_batchnorm(T)
