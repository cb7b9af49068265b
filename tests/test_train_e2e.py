"""End-to-end tier: real `accelerate launch` runs of scripts/train.py on the embedded data."""

import json

import pytest
import torch
from helpers import checkpoint_weights, run

from enot.export import load_export

pytestmark = pytest.mark.slow


def test_resume_continues_exactly(tmp_path, launch_cmd):
    cmd = launch_cmd("--num_processes", "1")
    # 450 training images, batch 100: 4 batches an epoch, so the run crosses an epoch boundary
    # after the resume point, and the resume point itself is mid-epoch.
    common = ["--steps", "6", "--checkpoint-every", "3", "--ot-reference-samples", "3500"]
    full = run(cmd(*common, "--output-dir", str(tmp_path / "full")))
    assert full.returncode == 0, full.stderr[-3000:]
    # Before training, the exact OT of the 450 train images a side, printed and kept.
    ref = json.loads((tmp_path / "full/ot_reference.json").read_text())
    assert ref["samples"] == ref["target_samples"] == 450 and ref["split"] == "train"
    assert ref["nearest"] < ref["optimal"] < ref["random_pairs"]
    assert f"{ref['optimal']:.4f} mean cost" in full.stdout
    part = run(cmd(*common, "--output-dir", str(tmp_path / "part"), "--stop-at", "3"))
    assert part.returncode == 0, part.stderr[-3000:]
    assert "continue with the same command and --resume latest" in part.stdout
    assert sorted(p.name for p in (tmp_path / "part/checkpoints").iterdir()) == ["step_00000003"]
    assert not (tmp_path / "part/export").exists()
    resumed = run(cmd(*common, "--output-dir", str(tmp_path / "part"), "--resume", "latest"))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resumed from" in resumed.stdout + resumed.stderr
    assert "OT reference" in part.stdout and "OT reference" not in resumed.stdout  # once a run

    a = checkpoint_weights(tmp_path / "full/checkpoints/step_00000006")
    b = checkpoint_weights(tmp_path / "part/checkpoints/step_00000006")
    assert a.keys() == b.keys() and len(a) > 20
    worst = max((a[k].double() - b[k].double()).abs().max().item() for k in a)
    assert worst <= 1e-6, worst
    # The resumed run must really have trained: weights moved from the step-3 checkpoint.
    mid = checkpoint_weights(tmp_path / "part/checkpoints/step_00000003")
    assert max((mid[k] - b[k]).abs().max().item() for k in a) > 1e-4

    # Logged losses of steps 4..6 agree too.
    def log(p):
        return [json.loads(s) for s in (p / "log.jsonl").read_text().splitlines()]

    tail_full = [r["w_dist"] for r in log(tmp_path / "full") if r["step"] > 3]
    tail_part = [r["w_dist"] for r in log(tmp_path / "part") if r["step"] > 3]
    assert tail_full == pytest.approx(tail_part, abs=1e-5)

    # The export of the finished run loads with no flags and translates.
    tr = load_export(tmp_path / "part/export")
    assert tr.image_size == 32 and tr.card.step == 6
    # Its model card says how it was made, over both runs, and shows the last sample grid.
    card = (tmp_path / "part/export/README.md").read_text()
    assert "scripts/train.py" in card and "--resume latest" in card and "CPU:" in card
    assert tr.card.provenance["seconds"] > 0 and "![" in card
    assert (tmp_path / "part/export/samples.png").is_file()
    with torch.no_grad():
        out = tr.T(torch.zeros(2, 3, 32, 32))
    assert out.shape == (2, 3, 32, 32)


def test_two_process_ddp_on_cpu(tmp_path, launch_cmd):
    cmd = launch_cmd("--multi_gpu", "--num_processes", "2")
    out = tmp_path / "ddp"
    # The judge runs on the main process only; the best export's step must reach every rank.
    res = run(
        cmd(
            "--steps",
            "4",
            "--batch-size",
            "50",
            "--checkpoint-every",
            "2",
            "--ema-decay",
            "0.9",
            "--eval-every",
            "2",
            "--eval-images",
            "8",
            "--ddp-checksums",
            "--output-dir",
            str(out),
        )
    )
    assert res.returncode == 0, res.stderr[-4000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["distributed_type"] == "MULTI_CPU"
    assert summary["num_processes"] == 2
    assert summary["global_batch"] == 100
    params = summary["param_checksums_per_rank"]
    assert len(params) == 2 and params[0] == params[1]
    data = summary["data_checksums_per_rank"]
    assert len(data) == 2 and data[0] != data[1]
    # Each process saved its own RNG state into the checkpoint.
    ckpt = out / "checkpoints/step_00000004"
    assert (ckpt / "random_states_0.pkl").is_file() and (ckpt / "random_states_1.pkl").is_file()
    assert (out / "export/T_ema/config.json").is_file()


def test_fid_tracking_keeps_best_export_and_plots(tmp_path, train_cmd):
    out = tmp_path / "fid"
    common = [
        "--steps",
        "4",
        "--eval-every",
        "2",
        "--eval-images",
        "12",
        "--eval-fid",
        "--ema-decay",
        "0.9",
        "--checkpoint-every",
        "2",
        "--output-dir",
        str(out),
    ]
    part = run(train_cmd(*common, "--stop-at", "2"))
    assert part.returncode == 0, part.stderr[-3000:]
    res = run(train_cmd(*common, "--resume", "latest"))
    assert res.returncode == 0, res.stderr[-3000:]
    log = [json.loads(s) for s in (out / "log.jsonl").read_text().splitlines()]
    fids = {r["step"]: r["fid"] for r in log if "fid" in r}
    assert sorted(fids) == [2, 4] and all(f > 0 for f in fids.values())
    identity = {r["identity_fid"] for r in log if "fid" in r}
    assert len(identity) == 1 and identity.pop() > 0
    evals = {r["step"]: r for r in log if "fid" in r}
    for r in evals.values():  # the judge's figures, on the whole 50-image test split
        assert 0 <= r["class_rate"] <= 1 and r["class_rate_ceiling"] >= 0.9
        assert r["class_rate_identity"] <= 0.1 and r["best_by"] == "class_rate"
        assert r["ink_shift"] >= 0 and r["kid_std"] >= 0 and r["fid_images"] == 12
    # export_best: the highest target-class rate among maps that kept their colour.
    eligible = {s: r["class_rate"] for s, r in evals.items() if r["content_ratio"] <= 0.75}
    best_step = max(sorted(eligible), key=eligible.get)
    card = json.loads((out / "export_best/translator.json").read_text())
    assert card["step"] == best_step
    assert card["metrics"]["class_rate"] == pytest.approx(eligible[best_step])
    assert load_export(out / "export_best").card.metrics["fid_images"] == 12
    summary = json.loads((out / "summary.json").read_text())
    # The best found before the resume survived it.
    assert summary["best_step"] == best_step and summary["best_by"] == "class_rate"
    assert summary["last_eval"]["fid"] == pytest.approx(fids[4])
    reports = json.loads((out / "test_split.json").read_text())
    assert reports.keys() == {"export", "export_best"}
    # Each export's export card and model card carry the figures the run printed, with the split
    # and the judge named.
    for name, report in reports.items():
        judged = load_export(out / name).card.test_split
        assert judged.split == "test" and judged.judge == "enot.evaluation.split_judge.SplitJudge"
        assert judged.images == report["images"] == 50
        assert judged.metrics["class_rate"] == report["class_rate"]
        readme = (out / name / "README.md").read_text()
        rate = next(line for line in judged.lines if line.startswith("target-class rate"))
        assert rate in res.stdout and f"- {rate}" in readme
        assert "Not evaluated yet" not in readme and "SplitJudge` on the whole test split" in readme
    png = out / "curves.png"
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "FID" in res.stdout and "target-class rate" in res.stdout
