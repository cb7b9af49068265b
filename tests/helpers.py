"""Plain helpers the tests import (paths, the tiny training flags, subprocesses, free ports);
fixtures and hooks stay in conftest.py, which pytest loads itself."""

import contextlib
import functools
import io
import os
import runpy
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRAIN = str(ROOT / "scripts" / "train.py")
# Small networks and batches, and no OT reference (POT's import and solve; the tests of the
# reference ask for it), so that an end-to-end run takes seconds on 2 CPU cores.
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
    "--ot-reference-samples",
    "0",
]


# The cuda tier runs its bodies on the CPU when this is set, to check the tests themselves
# where there is no GPU; their figures then say nothing about CUDA.
CUDA_TIER_ON_CPU = "ENOT_CUDA_TIER_ON_CPU"


def free_port() -> int:
    """A TCP port nobody listens on now, for a rendezvous or a server of one run."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def accelerate_launch(*launch_args: str, precision: str = "no") -> list[str]:
    """``accelerate launch`` on one machine, without dynamo, with its own rendezvous port, so
    that two launches' process groups never meet on the default one; the script and its flags
    follow."""
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


def checkpoint_weights(ckpt: Path) -> dict:
    """Every tensor of a training checkpoint's two networks (T: model, g: model_1), by name."""
    from safetensors.torch import load_file

    return {
        f"{name}.{k}": v
        for name in ("model", "model_1")
        for k, v in load_file(ckpt / f"{name}.safetensors").items()
    }


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


@functools.cache
def _script_main(script: str):
    return runpy.run_path(script, run_name=Path(script).stem)["main"]


def run_in_process(cmd: list[str]) -> subprocess.CompletedProcess:
    """`cmd` (``[python, scripts/NAME.py, *flags]``) as that script's own `main` in this process:
    the same parsing, messages and exit code as a launch, for what ends before the work starts
    (``--dry-run``, a refused flag or file), without the seconds a fresh interpreter spends
    importing torch and the rest."""
    assert cmd[0] == sys.executable and Path(cmd[1]).parent == ROOT / "scripts", cmd[:2]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = _script_main(cmd[1])(cmd[2:])
        except SystemExit as exit:  # argparse's own refusals and --help
            code = exit.code
    return subprocess.CompletedProcess(cmd, code, out.getvalue(), err.getvalue())
