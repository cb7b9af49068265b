"""Data-parallel gradient sync of the lean ENOT step on real gloo DDP processes.

The T loss is backpropagated through g's activations on T(x) but not into g's weights, so g's
DDP reducer must all-reduce once per step (for the g loss), never a second time for the T loss,
and must not wait for gradients that never come (a deadlock). Counted with a DDP comm hook.
"""

from __future__ import annotations

import json
import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from helpers import free_port
from torch.distributed.algorithms.ddp_comm_hooks.default_hooks import allreduce_hook
from torch.nn.parallel import DistributedDataParallel as DDP

from enot.config import get_preset
from enot.training.networks import build_networks, cost_from, objective_from, optimisers_from
from enot.training.updates import enot_update

pytestmark = pytest.mark.slow
STEPS = 3


def _worker(rank: int, world: int, port: int, out_dir: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    cfg = get_preset("colored_mnist")
    cfg.t_net.base_channels, cfg.g_net.nfilter = 4, 4
    T, g = (DDP(m, bucket_cap_mb=1000) for m in build_networks(cfg))
    syncs = {"T": 0, "g": 0}

    def counting(name):
        def hook(state, bucket):
            syncs[name] += 1
            return allreduce_hook(state, bucket)

        return hook

    T.register_comm_hook(None, counting("T"))
    g.register_comm_hook(None, counting("g"))
    opt_t, _, opt_g, _ = optimisers_from(cfg, T, g, STEPS)
    objective = objective_from(cfg, cost_from(cfg))
    gen = torch.Generator().manual_seed(100 + rank)  # each rank its own data
    per_step = []
    for _ in range(STEPS):
        x, y = (torch.rand(4, 3, 32, 32, generator=gen) * 2 - 1 for _ in range(2))
        before = dict(syncs)
        enot_update(T, g, opt_t, opt_g, x, y, objective)  # the loop's update
        per_step.append({k: syncs[k] - before[k] for k in syncs})
    checksum = [sum(p.double().sum().item() for p in m.parameters()) for m in (T, g)]
    with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as f:
        json.dump({"per_step": per_step, "checksum": checksum}, f)
    dist.destroy_process_group()


def test_lean_step_syncs_each_network_once_per_step(tmp_path):
    mp.start_processes(
        _worker, args=(2, free_port(), str(tmp_path)), nprocs=2, join=True, start_method="spawn"
    )
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    for r in ranks:
        # One bucket per network (bucket_cap_mb is large): exactly one all-reduce each per step.
        assert r["per_step"] == [{"T": 1, "g": 1}] * STEPS
    assert ranks[0]["checksum"] == pytest.approx(ranks[1]["checksum"], rel=1e-12, abs=1e-9)
