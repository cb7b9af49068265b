"""Two machines for real: two `accelerate launch` commands, one per node (`--num_machines 2
--machine_rank 0|1`, one process each), meeting at 127.0.0.1 over gloo, as README's multi-node
recipe runs them on two hosts. The run folder is shared (as on a cluster file system); each
node reads its own copy of the data from the same path.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from helpers import ROOT, TINY, TRAIN, free_port, subprocess_env

pytestmark = pytest.mark.slow


def _node(rank: int, port: int, *args: str) -> list[str]:
    # README, "Several machines": the same command on every node but for --machine_rank.
    return [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--multi_gpu",
        "--num_machines",
        "2",
        "--num_processes",
        "2",
        "--machine_rank",
        str(rank),
        "--main_process_ip",
        "127.0.0.1",
        "--main_process_port",
        str(port),
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        TRAIN,
        *TINY,
        "--batch-size",
        "50",
        *args,
    ]


def _run_two_nodes(*args: str) -> None:
    port = free_port()
    nodes = [
        subprocess.Popen(
            _node(rank, port, *args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=subprocess_env(),
            cwd=ROOT,
        )
        for rank in (0, 1)
    ]
    outputs = [p.communicate(timeout=600) for p in nodes]
    for rank, (p, (_, err)) in enumerate(zip(nodes, outputs)):
        assert p.returncode == 0, f"node {rank}:\n{err[-3000:]}"


def test_two_nodes_train_one_model_and_resume(tmp_path):
    out = tmp_path / "run"
    common = [
        "--steps",
        "4",
        "--checkpoint-every",
        "2",
        "--ddp-checksums",
        "--output-dir",
        str(out),
    ]
    _run_two_nodes(*common, "--stop-at", "2")
    ckpt = out / "checkpoints/step_00000002"
    # One RNG state per process, written by the node that owns it.
    assert (ckpt / "random_states_0.pkl").is_file() and (ckpt / "random_states_1.pkl").is_file()
    assert not (out / "export").exists()
    _run_two_nodes(*common, "--resume", "latest")

    summary = json.loads((out / "summary.json").read_text())
    assert summary["distributed_type"] == "MULTI_CPU"
    assert summary["num_processes"] == 2 and summary["global_batch"] == 100
    assert summary["steps"] == 4 and summary["steps_this_run"] == 2
    params = summary["param_checksums_per_rank"]
    assert len(params) == 2 and params[0] == params[1]  # one model
    data = summary["data_checksums_per_rank"]
    assert len(data) == 2 and data[0] != data[1]  # each node drew its own share of the data
    assert (out / "export/translator.json").is_file()
