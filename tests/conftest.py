import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

# Under pytest-xdist each worker takes one core: the suite's workers share the machine, and a
# worker's torch would otherwise start a thread per core. Read by torch at its import.
if "PYTEST_XDIST_WORKER" in os.environ:
    os.environ.setdefault("OMP_NUM_THREADS", "1")

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


def pytest_collection_modifyitems(config, items):
    """Skip the tests marked ``cuda`` where CUDA is absent, saying so."""
    marked = [item for item in items if item.get_closest_marker("cuda")]
    if not marked or os.environ.get(CUDA_TIER_ON_CPU):
        return
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(
        reason=f"no CUDA device (torch {torch.__version__}, CUDA build "
        f"{torch.version.cuda}, torch.cuda.is_available() is False): the "
        f"cuda tier runs on a GPU machine, see docs/gpu.md"
    )
    for item in marked:
        item.add_marker(skip)


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


@pytest.fixture
def train_cmd():
    """`python scripts/train.py` with the tiny settings; extra flags are appended."""

    def make(*args: str) -> list[str]:
        return [sys.executable, TRAIN, *TINY, *args]

    return make


def free_port() -> int:
    """A TCP port nobody listens on now, for a rendezvous or a server of one test."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def launch_cmd():
    """`accelerate launch` of scripts/train.py with the tiny settings. Each launch gets its own
    rendezvous port, so that two tests' process groups never meet on the default one."""

    def make(*launch_args: str) -> callable:
        def with_args(*args: str) -> list[str]:
            return [
                sys.executable,
                "-m",
                "accelerate.commands.launch",
                "--num_machines",
                "1",
                "--main_process_port",
                str(free_port()),
                "--mixed_precision",
                "no",
                "--dynamo_backend",
                "no",
                *launch_args,
                TRAIN,
                *TINY,
                *args,
            ]

        return with_args

    return make
