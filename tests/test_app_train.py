"""The Train tab against a real server and real training subprocesses (through the app's own
HTTP API, as the page calls it): bad input refused with a message and nothing started, one run
at a time, Stop and Resume giving the weights of an uninterrupted run bit for bit, the export
served in the Translate tab with its card's figures, translations quick while a run trains."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
import torch
from app_fixtures import make_export, rgb_array
from helpers import TRAIN, run
from PIL import Image
from safetensors.torch import load_file
from test_app_train_helpers import (
    big_zip,
    image_zip,
    kill_group,
    odd_member_zip,
    shapes,
    slip_zip,
    start_args,
    status,
    text_zip,
    train_server,
    wait_for,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from gradio_client import Client

    root = tmp_path_factory.mktemp("train_tab")
    make_export(root / "models" / "digits" / "export", image_size=32)
    allowed = root / "allowed"
    shapes(allowed / "squares", "square", 12)
    shapes(allowed / "discs", "disc", 12, seed=1)
    args = ("--data-dir", str(allowed), "--train-dir", str(root / "runs"), "--max-zip-mb", "1")
    with train_server(root / "models", root, *args) as (url, _):
        yield Client(url, verbose=False), root


def _refused(client, message: str, **args) -> str:
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as err:
        client.predict(**args, api_name="/train_start")
    assert message in str(err.value), str(err.value)
    return str(err.value)


def _run_folders(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "runs").iterdir()) if (root / "runs").is_dir() else []


def test_bad_zips_are_refused_and_nothing_starts(server):
    client, root = server
    good = image_zip(root / "zips" / "discs.zip", "disc")
    before = _run_folders(root)
    cases = {
        "zip-slip": slip_zip(root / "zips" / "slip.zip"),
        "the limit is 1 MB": big_zip(root / "zips" / "big.zip", 1.5),
        "holds no image file": text_zip(root / "zips" / "text.zip"),
        "not a readable zip file": root / "zips" / "fake.zip",
    }
    cases["not a readable zip file"].write_bytes(b"PK\x03\x04 this is not really a zip")
    cases["'/tmp/absolute.png' points outside"] = odd_member_zip(
        root / "zips" / "a.zip", "absolute"
    )
    cases["'link.png' is a symbolic link"] = odd_member_zip(root / "zips" / "l.zip", "link")
    cases["1 of 5 images do not decode: corrupt.png"] = odd_member_zip(
        root / "zips" / "c.zip", "bad"
    )
    for message, bad in cases.items():
        said = _refused(client, message, **start_args("two zips", (bad, good)))
        assert "source images" in said  # names the set that is bad
    assert _refused(client, "no zip uploaded", **start_args("two zips", (good, None)))
    # Nothing started, nothing written: no run folder, no file escaped the upload.
    assert _run_folders(root) == before and status(client)["run"] is None
    assert not list(root.rglob("escaped.png"))


def test_folders_outside_the_allowed_roots_are_refused(server):
    client, root = server
    outside = root / "outside"
    shapes(outside, "square", 4)
    (root / "allowed" / "link").symlink_to(outside)  # a link out of the root counts as out
    allowed = str(root / "allowed" / "discs")
    for folder in (str(outside), str(root / "allowed" / "link"), "/etc"):
        said = _refused(
            client,
            "is outside the allowed roots",
            **start_args("two server folders", folders=(folder, allowed)),
        )
        assert str(root / "allowed") in said
    assert status(client)["run"] is None


def test_resume_without_a_checkpoint_is_refused(server):
    from gradio_client.exceptions import AppError

    client, root = server
    sources = (str(root / "allowed" / "squares"), str(root / "allowed" / "discs"))
    client.predict(**start_args("two server folders", folders=sources), api_name="/train_start")
    name = status(client)["run"]
    job = json.loads((root / "runs" / name / "demo_job.json").read_text())
    kill_group(job["pid"])  # it dies before its first step, so before any checkpoint
    state = wait_for(client, lambda s: s["state"] == "failed")
    assert state["run"] == name
    with pytest.raises(AppError) as err:
        client.predict(name, api_name="/train_resume")
    assert "has no checkpoint to resume from" in str(err.value)
    assert status(client, name)["state"] == "failed"


def test_bad_settings_are_refused_and_nothing_starts(server):
    client, root = server
    before = _run_folders(root)
    for extra, message in (
        ("--source /etc", "--source is not allowed here"),
        ("--output-dir /tmp/elsewhere", "--output-dir is not allowed here"),
        ("--t-base-channels 2", "--t-base-channels: 2 is outside [4, 512]"),
    ):
        _refused(client, message, **start_args("the preset's own data", extra=extra))
    _refused(client, "above 0", **start_args("the preset's own data", budget="seconds"))
    assert _run_folders(root) == before and status(client).get("state") != "running"


def test_check_data_previews_a_built_in_task(server):
    client, _ = server
    args = start_args("the preset's own data")
    del args["processes"]
    text, source, target = client.predict(**args, api_name="/check_data")
    assert "**source** (colored_mnist 2): 500 images, 450 train / 50 test" in text, text
    assert "resized to **32 × 32**" in text
    assert len(source) == len(target) == 8
    assert Image.open(source[0]["image"]).size == (32, 32)


def test_a_built_in_task_whose_data_is_missing_says_where_to_get_it(server):
    from gradio_client.exceptions import AppError

    client, root = server
    args = start_args("the preset's own data", preset="emoji_32")
    del args["processes"]
    with pytest.raises(AppError) as err:
        client.predict(**args, api_name="/check_data")
    assert "python scripts/prepare_data.py emoji" in str(err.value), str(err.value)


def test_a_time_budget_ends_the_run(server):
    client, root = server
    sources = (str(root / "allowed" / "squares"), str(root / "allowed" / "discs"))
    args = start_args("two server folders", folders=sources, steps=10**6, budget="seconds")
    client.predict(**{**args, "seconds": 4}, api_name="/train_start")
    done = wait_for(client, lambda s: s["state"] == "finished", timeout=300)
    assert 0 < done["step"] < 10**6
    job = json.loads((root / "runs" / done["run"] / "demo_job.json").read_text())
    assert "--max-seconds 4" in job["command"]
    summary = json.loads((root / "runs" / done["run"] / "summary.json").read_text())
    assert summary["finished"] and summary["steps"] == done["step"]


def test_two_processes_stop_together_and_resume(server):
    client, root = server
    sources = (str(root / "allowed" / "squares"), str(root / "allowed" / "discs"))
    args = start_args("two server folders", folders=sources, steps=300, processes=2, batch_size=4)
    assert "accelerate launch --num_processes 2" in client.predict(**args, api_name="/train_start")
    name = wait_for(client, lambda s: s["state"] == "running" and s["step"] >= 10)["run"]
    client.predict(api_name="/train_stop")
    step = wait_for(client, lambda s: s["state"] == "stopped", timeout=120)["step"]
    checkpoint = root / "runs" / name / "checkpoints" / f"step_{step:08d}"
    assert (checkpoint / "random_states_0.pkl").is_file()
    assert (checkpoint / "random_states_1.pkl").is_file()  # both processes stopped at step
    client.predict(name, api_name="/train_resume")
    assert wait_for(client, lambda s: s["state"] == "finished", timeout=300)["step"] == 300


def test_the_judges_figures_show_at_each_evaluation(server):
    client, _ = server
    extra = "--t-base-channels 4 --g-nfilter 4 --eval-every 20 --eval-images 12 --eval-fid"
    args = start_args("the preset's own data", steps=40, extra=extra)
    client.predict(**args, api_name="/train_start")
    done = wait_for(client, lambda s: s["state"] == "finished", timeout=300)
    table = done["judge"].splitlines()
    assert "target-class rate of T(x)" in table[0] and "FID(T(x), y)" in table[0], table
    assert [row.split("|")[1].strip() for row in table[2:]] == ["20", "40"], table
    assert "finished: its export is in the Translate tab" in done["progress"]


def test_training_is_off_without_the_flag_and_the_host_is_loopback(tmp_path):
    from app_fixtures import running_demo
    from gradio_client import Client

    from app.__main__ import build_parser

    assert build_parser().parse_args([]).host == "127.0.0.1"
    assert "there is no login" in build_parser().format_help()
    make_export(tmp_path / "models" / "m" / "export")
    (tmp_path / "up").mkdir()
    with running_demo(tmp_path / "models", tmp_path / "up") as url:
        api = Client(url, verbose=False).view_api(print_info=False, return_format="dict")
    endpoints = set(api["named_endpoints"])
    assert "/translate" in endpoints and not any("train" in e for e in endpoints), endpoints
    assert not (tmp_path / "models" / "demo_runs").exists()


def _weights(export: Path) -> dict[str, torch.Tensor]:
    files = sorted(export.rglob("*.safetensors"))
    assert files, f"no weights under {export}"
    return {f"{f.relative_to(export)}:{k}": v for f in files for k, v in load_file(f).items()}


def test_stop_resume_gives_the_uninterrupted_weights_and_serves_the_export(server):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    client, root = server
    zips = (
        image_zip(root / "zips" / "squares.zip", "square"),
        image_zip(root / "zips" / "discs.zip", "disc", seed=1),
    )
    said = client.predict(**start_args("two zips", zips, steps=300), api_name="/train_start")
    assert "started" in said and "scripts/train.py" in said
    name = status(client)["run"]
    folder = root / "runs" / name
    assert (
        sorted(p.name for p in (folder / "data" / "source" / "squares").iterdir())[:1]
        == ["square_000.png"]
        and not (folder / "data" / "source" / "__MACOSX").exists()
    )
    wait_for(client, lambda s: s["state"] == "running" and s["step"] >= 20)

    # One run at a time: a second start is refused and names the running one.
    runs_before = _run_folders(root)
    _refused(client, f"a run is training already: {name}", **start_args("two zips", zips))
    assert _run_folders(root) == runs_before

    # The Translate tab answers quickly while the run trains on the same cores.
    photo = root / "photo.png"
    Image.fromarray(rgb_array(64, 48, 3)).save(photo)
    clock = time.perf_counter()
    client.predict(handle_file(str(photo)), "digits/export", 1.0, api_name="/translate")
    seconds = time.perf_counter() - clock
    print(f"\na translation while the run trains: {seconds:.2f} s")
    assert seconds < 2.0, seconds

    assert "stop requested" in client.predict(api_name="/train_stop")
    stopped = wait_for(client, lambda s: s["state"] == "stopped", timeout=120)
    assert 20 <= stopped["step"] < 300
    checkpoints = sorted(p.name for p in (folder / "checkpoints").iterdir())
    assert checkpoints == [f"step_{stopped['step']:08d}"]
    assert not (folder / "export").exists() and not (folder / "STOP").exists()
    with pytest.raises(AppError) as err:
        client.predict(api_name="/train_stop")
    assert "no run is training" in str(err.value)

    assert "resumed" in client.predict(name, api_name="/train_resume")
    done = wait_for(client, lambda s: s["state"] == "finished", timeout=300)
    assert done["step"] == 300
    log = (folder / "train_output.txt").read_text()
    assert f"resumed from {folder / 'checkpoints' / checkpoints[0]}" in log

    # The export is in the Translate tab without a restart, with its end-of-run judgement.
    served = f"runs/{name}/export"
    assert served in done["translators"]
    card, _ = client.predict(served, api_name="/model_card")
    assert "judged at the end of training on" in card and "not evaluated yet" not in card
    _, tx, *_ = client.predict(handle_file(str(photo)), served, 1.0, api_name="/translate")
    assert Image.open(tx).size == (32, 32)

    # The same command, never stopped, gives the same weights bit for bit.
    job = json.loads((folder / "demo_job.json").read_text())
    flags = [f for f in job["flags"] if f not in ("--resume", "latest")]
    whole = root / "uninterrupted"
    flags[flags.index("--output-dir") + 1] = str(whole)
    res = run(["nice", "-n", "10", sys.executable, TRAIN, *flags])
    assert res.returncode == 0, res.stderr[-3000:]
    a, b = _weights(whole / "export"), _weights(folder / "export")
    assert a.keys() == b.keys() and len(a) > 20
    differ = [k for k in a if not torch.equal(a[k], b[k])]
    assert not differ, differ[:5]
