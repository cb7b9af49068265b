"""Plain helpers the tests import (paths, the tiny training flags, subprocesses, free ports);
fixtures and hooks stay in conftest.py, which pytest loads itself."""

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRAIN = str(ROOT / "scripts" / "train.py")
# Small networks and batches so that an end-to-end run takes seconds on 2 CPU cores.
TINY = [
    "--preset",
    "colored_mnist",
    "--t-base-channels",
    "4",
    "--g-nfilter",
    "4",
    "--batch-size",
    "100",
    "--log-every",
    "1",
    "--sample-every",
    "3",
    "--eval-every",
    "0",
]


# The cuda tier runs its bodies on the CPU when this is set, to check the tests themselves
# where there is no GPU; their figures then say nothing about CUDA.
CUDA_TIER_ON_CPU = "ENOT_CUDA_TIER_ON_CPU"


def subprocess_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("OMP_NUM_THREADS", "1")
    env["HF_HUB_OFFLINE"] = "1"
    return env


def run(cmd: list[str], timeout: int = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, env=env or subprocess_env(), cwd=ROOT
    )


def free_port() -> int:
    """A TCP port nobody listens on now, for a rendezvous or a server of one test."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def accelerate_launch(*launch_args: str, precision: str = "no") -> list[str]:
    """The start of an ``accelerate launch`` of one machine (no dynamo), with its own rendezvous
    port, so that two tests' process groups never meet on the default one; the script and its
    flags follow."""
    return [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--num_machines",
        "1",
        "--main_process_port",
        str(free_port()),
        "--mixed_precision",
        precision,
        "--dynamo_backend",
        "no",
        *launch_args,
    ]
