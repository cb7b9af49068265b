"""A subprocess with a time limit that ends its whole process group when the limit is reached:
``accelerate launch`` and pytest start children of their own, which would otherwise keep the
GPU after their parent is killed."""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Finished:
    returncode: int | None  # None: killed at the time limit
    stdout: str
    stderr: str

    @property
    def timed_out(self) -> bool:
        return self.returncode is None


def project_env() -> dict:
    """This environment with the repository first on PYTHONPATH and the Hub offline."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "HF_HUB_OFFLINE": "1"}


def run_bounded(cmd: list[str], seconds: float) -> Finished:
    """Run ``cmd`` in the repository root for at most ``seconds``; output as text."""
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=project_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=max(seconds, 1.0))
        return Finished(proc.returncode, out, err)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return Finished(None, out, err)
