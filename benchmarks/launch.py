"""The start of an ``accelerate launch`` command, shared by the GPU check and the test suite."""

from __future__ import annotations

import socket
import sys


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
