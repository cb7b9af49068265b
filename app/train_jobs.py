"""The demo's training runs: ``scripts/train.py`` as a subprocess, one at a time per server.

Every run lives in a folder under one root (``--train-dir``) whose name the server chooses, so
no input names a path to write. The folder holds the trainer's own files (log.jsonl, samples,
checkpoints, export) plus ``demo_job.json`` (the flags, the process id, the exit status) and
the trainer's console output. State is read back from those files, so a page reload, a second
browser or a restarted server all see the same run: a trainer left running by a killed server
is found by its process id and reattached; one that died leaves checkpoints to resume from.

Stop writes ``STOP`` into the run folder (``enot.training.stop_request``): the trainer
checkpoints at the step it has reached and exits, and Resume runs the same command with
``--resume latest``, which continues it exactly. The trainer runs at a lower CPU priority
(nice 10) so that translations in the same server stay quick.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from enot.training import artifacts
from enot.training.checkpoints import list_checkpoints
from enot.training.stop_request import STOP_FILE

ROOT = Path(__file__).resolve().parents[1]
TRAIN_SCRIPT = ROOT / "scripts" / "train.py"
JOB_FILE = "demo_job.json"
OUTPUT = "train_output.txt"  # the trainer's stdout and stderr
NICE = 10


class TrainRefused(ValueError):
    """A start, stop or resume that cannot be done; the message says why. Nothing was run."""


@dataclass(frozen=True)
class RunState:
    """What a run folder says about its run."""

    name: str
    folder: Path
    state: str  # running, stopping, stopped, finished, failed, new
    step: int
    steps: int
    rate: float | None  # steps per second of the latest log record
    returncode: int | None
    max_seconds: float = 0.0

    @property
    def resumable(self) -> bool:
        return self.state in ("stopped", "failed") and bool(
            list_checkpoints(self.folder / artifacts.CHECKPOINTS)
        )


def launch_prefix(processes: int, port: int | None = None) -> list[str]:
    """The program that runs scripts/train.py: python, or ``accelerate launch`` for several
    processes (data-parallel, on GPUs or CPU cores)."""
    if processes == 1:
        return [sys.executable, str(TRAIN_SCRIPT)]
    extra = ["--main_process_port", str(port)] if port else []
    return [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--num_machines",
        "1",
        "--num_processes",
        str(processes),
        "--multi_gpu",
        *extra,
        "--dynamo_backend",
        "no",
        str(TRAIN_SCRIPT),
    ]


def shell_command(flags: list[str], processes: int) -> str:
    """The command as a user would type it in the project's folder."""
    script = os.path.relpath(TRAIN_SCRIPT) if TRAIN_SCRIPT.is_relative_to(Path.cwd()) else None
    script = script or str(TRAIN_SCRIPT)
    prefix = (
        ["python", script]
        if processes == 1
        else ["accelerate", "launch", "--num_processes", str(processes), script]
    )
    return shlex.join(prefix + flags)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _lower_priority() -> None:
    os.nice(NICE)


def _alive(pid: int | None, folder: Path) -> bool:
    """Whether process ``pid`` runs and is this folder's trainer (a reused pid is not)."""
    if not pid:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True  # no /proc (macOS): the pid alone
    return str(folder).encode() in cmdline


class TrainJobs:
    """The run folders under ``root`` and the one trainer that may run at a time."""

    def __init__(self, root: Path, max_running: int = 1):
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_running = max_running
        self._lock, self._reaping = threading.Lock(), threading.Lock()
        self._procs: dict[Path, subprocess.Popen] = {}

    # Folders.
    def new_folder(self, label: str) -> Path:
        """A fresh run folder, named by the server: time, a label of safe characters, random."""
        slug = re.sub(r"[^a-z0-9_]+", "_", label.lower()).strip("_")[:40] or "run"
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{slug}-{secrets.token_hex(3)}"
        folder = self.root / name
        folder.mkdir()
        return folder

    def folder(self, name: str) -> Path:
        """The run folder called ``name``, which must be one of this root's own."""
        if not name or name not in {p.name for p in self.root.iterdir() if p.is_dir()}:
            raise TrainRefused(f"no run called {name!r} under {self.root}")
        return self.root / name

    def runs(self) -> list[str]:
        """Names of the runs started here, newest first."""
        found = [p for p in self.root.iterdir() if (p / JOB_FILE).is_file()]
        return [p.name for p in sorted(found, key=lambda p: p.name, reverse=True)]

    # The job file.
    def job(self, folder: Path) -> dict:
        path = folder / JOB_FILE
        return json.loads(path.read_text()) if path.is_file() else {}

    def _write_job(self, folder: Path, job: dict) -> None:
        tmp = folder / f".{JOB_FILE}.tmp"
        tmp.write_text(json.dumps(job, indent=2) + "\n")
        tmp.replace(folder / JOB_FILE)

    # Processes.
    def _reap(self) -> None:
        with self._reaping:  # page timers call this from several threads
            for folder, proc in list(self._procs.items()):
                code = proc.poll()
                if code is not None:
                    del self._procs[folder]
                    self._write_job(folder, {**self.job(folder), "returncode": code})

    def running(self) -> list[Path]:
        """Folders whose trainer runs now: started by this server, or left by an earlier one."""
        self._reap()
        live = set(self._procs)
        for name in self.runs():
            folder = self.root / name
            if folder not in live and _alive(self.job(folder).get("pid"), folder):
                live.add(folder)
        return sorted(live)

    def _launch(self, folder: Path, flags: list[str], processes: int, job: dict) -> None:
        busy = self.running()
        if len(busy) >= self.max_running:
            raise TrainRefused(
                f"a run is training already: {busy[0].name} "
                f"({self.state(busy[0].name).state}); stop it first, or wait for it to finish"
            )
        (folder / STOP_FILE).unlink(missing_ok=True)
        port = _free_port() if processes > 1 else None
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        with open(folder / OUTPUT, "ab") as out:
            proc = subprocess.Popen(
                launch_prefix(processes, port) + flags,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
                preexec_fn=_lower_priority,
            )
        self._procs[folder] = proc
        self._write_job(folder, {**job, "pid": proc.pid, "returncode": None})

    def start(self, folder: Path, flags: list[str], processes: int = 1) -> None:
        """Run scripts/train.py with ``flags`` (which end with --output-dir ``folder``)."""
        with self._lock:
            job = {
                "flags": flags,
                "processes": processes,
                "command": shell_command(flags, processes),
                "started": time.time(),
            }
            self._launch(folder, flags, processes, job)

    def resume(self, name: str) -> None:
        """Run the same command again with --resume latest."""
        with self._lock:
            folder = self.folder(name)
            state = self.state(name)
            if state.state in ("running", "stopping"):
                raise TrainRefused(f"{name} is training now; there is nothing to resume")
            if state.state == "finished":
                raise TrainRefused(f"{name} has finished: its export is in the Translate tab")
            if not list_checkpoints(folder / artifacts.CHECKPOINTS):
                raise TrainRefused(
                    f"{name} has no checkpoint to resume from (it stopped before its first "
                    f"one); start a new run instead"
                )
            job = self.job(folder)
            flags = [f for f in job["flags"] if f != "--resume" and f != "latest"]
            flags += ["--resume", "latest"]
            self._launch(folder, flags, job["processes"], {**job, "resumed": time.time()})

    def stop(self) -> str:
        """Ask the running trainer to checkpoint and end; the name of its run."""
        busy = self.running()
        if not busy:
            raise TrainRefused("no run is training")
        (busy[0] / STOP_FILE).touch()
        return busy[0].name

    def stop_all_on_exit(self) -> None:
        """At server shutdown: ask this server's trainers to checkpoint and end."""
        for folder in self.running():
            (folder / STOP_FILE).touch()

    # State.
    def state(self, name: str, running: list[Path] | None = None) -> RunState:
        """The run's state; ``running`` is ``self.running()`` when the caller has it."""
        folder = self.folder(name)
        job, records = self.job(folder), _train_records(folder / artifacts.LOG)
        steps, max_seconds = _budget(folder)
        last = records[-1] if records else {}
        step, rate = int(last.get("step", 0)), last.get("steps_per_s")
        if folder in (self.running() if running is None else running):
            state = "stopping" if (folder / STOP_FILE).is_file() else "running"
        elif _finished(folder):
            state = "finished"
        elif job.get("returncode") not in (None, 0):
            state = "failed"
        elif list_checkpoints(folder / artifacts.CHECKPOINTS):
            state = "stopped"
        elif job.get("pid"):
            state = "failed"  # ended with no checkpoint and no export
        else:
            state = "new"
        return RunState(name, folder, state, step, steps, rate, job.get("returncode"), max_seconds)

    def unfinished(self) -> list[str]:
        """Runs that stopped or died with a checkpoint, newest first: they can be resumed."""
        running = self.running()
        return [n for n in self.runs() if self.state(n, running).resumable]


def _train_records(log: Path) -> list[dict]:
    if not log.is_file():
        return []
    out = []
    for line in log.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line being written
        if "steps_per_s" in record:
            out.append(record)
    return out


def _budget(folder: Path) -> tuple[int, float]:
    try:
        train = json.loads((folder / artifacts.CONFIG).read_text())["train"]
        return int(train["steps"]), float(train.get("max_seconds") or 0.0)
    except (OSError, KeyError, ValueError):
        return 0, 0.0


def _finished(folder: Path) -> bool:
    try:
        summary = json.loads((folder / artifacts.SUMMARY).read_text())
    except (OSError, ValueError):
        return False
    return bool(summary.get("finished")) and (folder / artifacts.EXPORT).is_dir()
