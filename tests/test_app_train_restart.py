"""A server killed mid-run: the next server finds the trainer still running and shows it; when
the trainer is gone too (the machine went down), the next server offers the run, whose
checkpoint Resume continues to the end."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from app_fixtures import make_export
from test_app_train_helpers import (
    TINY,
    kill_group,
    shapes,
    start_args,
    status,
    train_server,
    wait_for,
)

pytestmark = pytest.mark.slow


def test_a_killed_server_finds_its_run_again_and_resumes_it(tmp_path):
    from gradio_client import Client

    make_export(tmp_path / "models" / "digits" / "export", image_size=32)
    allowed = tmp_path / "allowed"
    sources = (
        str(shapes(allowed / "a", "square")[0].parent),
        str(shapes(allowed / "b", "disc")[0].parent),
    )
    args = ("--data-dir", str(allowed), "--train-dir", str(tmp_path / "runs"))
    # 1,200 steps: the trainer must outlive a server restart (15 s or more beside the suite),
    # which 400 steps at about 25 step/s did not always.
    settings = start_args(
        "two server folders", folders=sources, steps=1200, extra=TINY + " --checkpoint-every 20"
    )
    with train_server(tmp_path / "models", tmp_path, *args) as (url, server):
        client = Client(url, verbose=False)
        client.predict(**settings, api_name="/train_start")
        name = wait_for(client, lambda s: s["state"] == "running" and s["step"] >= 45)["run"]
        server.kill()  # SIGKILL: no shutdown handler runs
        server.wait()
    folder = tmp_path / "runs" / name
    pid = json.loads((folder / "demo_job.json").read_text())["pid"]

    with train_server(tmp_path / "models", tmp_path, *args) as (url, _):
        client = Client(url, verbose=False)
        found = status(client)
        assert found["run"] == name and found["state"] == "running", found  # reattached
        kill_group(pid)  # and now the trainer dies too, as if the machine went down
        wait_for(client, lambda s: s["state"] == "stopped")

    with train_server(tmp_path / "models", tmp_path, *args) as (url, _):
        client = Client(url, verbose=False)
        found = status(client)
        assert found["unfinished"] == [name] and found["state"] == "stopped", found
        assert 40 <= found["step"] < 1200
        assert "resumed" in client.predict(name, api_name="/train_resume")
        done = wait_for(client, lambda s: s["state"] == "finished", timeout=300)
        assert done["step"] == 1200 and f"runs/{name}/export" in done["translators"]
    assert "resumed from" in (folder / "train_output.txt").read_text()


def test_ctrl_c_on_the_server_stops_its_run_with_a_checkpoint(tmp_path):
    import signal

    from gradio_client import Client

    make_export(tmp_path / "models" / "digits" / "export", image_size=32)
    allowed = tmp_path / "allowed"
    sources = tuple(str(shapes(allowed / k, k)[0].parent) for k in ("square", "disc"))
    args = ("--data-dir", str(allowed), "--train-dir", str(tmp_path / "runs"))
    settings = start_args("two server folders", folders=sources, steps=2000)
    with train_server(tmp_path / "models", tmp_path, *args) as (url, server):
        client = Client(url, verbose=False)
        client.predict(**settings, api_name="/train_start")
        name = wait_for(client, lambda s: s["state"] == "running" and s["step"] >= 5)["run"]
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.send_signal(signal.SIGABRT)  # faulthandler writes every thread's stack
            server.wait(timeout=30)
            log = tmp_path / f"server_{url.rstrip('/').rsplit(':', 1)[1]}.log"
            pytest.fail(f"the server ran on 60 s after SIGINT; its log:\n{log.read_text()[-6000:]}")
    folder = tmp_path / "runs" / name
    pid = json.loads((folder / "demo_job.json").read_text())["pid"]
    deadline = time.monotonic() + 120
    while Path(f"/proc/{pid}").exists() and b"python" in Path(f"/proc/{pid}/cmdline").read_bytes():
        assert time.monotonic() < deadline, "the trainer did not stop"
        time.sleep(0.5)
    checkpoints = list((folder / "checkpoints").iterdir())
    assert len(checkpoints) == 1 and not (folder / "export").exists()
    assert (
        "continue with the same command and --resume latest"
        in (folder / "train_output.txt").read_text()
    )
