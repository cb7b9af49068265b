"""The exact-OT warm start and the OT-plan pairs: the matching is the OT reference's optimum,
the pairs are the matched train images, a run with --init resumes exactly (after the warm start
and from a crash inside it), the options travel with the export, and the stationarity
diagnostic reads a potential whose slope is known."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from helpers import TINY, TRAIN, checkpoint_weights, run, run_in_process, subprocess_env

from data import build_domain, spread_indices
from enot.config.presets import get_preset
from enot.costs import sq_l2_per_size
from enot.evaluation.ot_reference import ot_reference
from enot.evaluation.ot_reference_data import task_reference
from enot.export import load_export
from enot.ot_plan import OTPlanError, cost_matrix, exact_matching
from enot.step import stationarity
from enot.training.curves import plot_training_curves, read_log
from enot.training.plan_pairs import plan_pairs


def _digits(spec: str, n: int) -> torch.Tensor:
    ds = build_domain("colored_mnist", spec, 32, "train")
    return torch.stack([ds[i] for i in spread_indices(len(ds), n)])


def test_exact_matching_is_the_ot_reference_optimum_and_no_swap_improves_it():
    x, y = _digits("2", 60), _digits("3", 60)
    matching = exact_matching(x, y, "sq_l2_per_size")
    assert sorted(matching.sigma.tolist()) == list(range(60))  # a permutation
    assert matching.cost == pytest.approx(ot_reference(x, y).optimal, rel=1e-12)
    c = cost_matrix(x, y, "sq_l2_per_size")
    s = matching.sigma
    # Optimal, so no exchange of two partners lowers the cost...
    own = c[np.arange(60), s]
    swapped = c[np.arange(60)[:, None], s[None, :]] + c[np.arange(60)[None, :], s[:, None]]
    assert (own[:, None] + own[None, :] <= swapped + 1e-9).all()
    # ...and random matchings cost more.
    rng = np.random.default_rng(0)
    assert all(c[np.arange(60), rng.permutation(60)].mean() > matching.cost for _ in range(50))
    with pytest.raises(OTPlanError, match="as many images a side"):
        exact_matching(x, y[:59], "sq_l2_per_size")


def test_plan_pairs_are_the_task_references_matching_kept_in_the_run_folder(tmp_path):
    cfg = get_preset("colored_mnist")
    cfg.train.plan_samples, cfg.data.flip = 200, True
    messages = []
    pairs = plan_pairs(cfg, tmp_path, messages.append)
    assert len(pairs) == 200 and (tmp_path / "ot_plan.npz").is_file()
    assert "200 source and 200 target train images (of 450 and 450" in messages[0]
    # The matched subsets are the OT reference's samples, and their cost its optimum.
    reference = task_reference(cfg, "train", 200).reference
    source = build_domain("colored_mnist", "2", 32, "train", seed=cfg.train.seed)
    target = build_domain("colored_mnist", "3", 32, "train", seed=cfg.train.seed)
    xs = torch.stack([source[int(i)] for i in pairs.source_index])
    ys = torch.stack([target[int(pairs.target_index[j])] for j in pairs.sigma])
    assert sq_l2_per_size(xs, ys).double().mean().item() == pytest.approx(
        reference.optimal, rel=1e-6
    )
    # Each item is a matched pair, both mirrored or neither.
    torch.manual_seed(0)
    orientations = set()
    for i in range(12):
        x, y = pairs[i]
        flipped = torch.equal(x, xs[i].flip(-1))
        assert flipped or torch.equal(x, xs[i])
        assert torch.equal(y, ys[i].flip(-1) if flipped else ys[i])
        orientations.add(flipped)
    assert orientations == {True, False}
    # A second call reads the folder's matching instead of solving again.
    again = plan_pairs(cfg, tmp_path, messages.append)
    assert "read from" in messages[-1] and np.array_equal(again.sigma, pairs.sigma)


def test_stationarity_reads_a_linear_potential_exactly():
    torch.manual_seed(0)
    x = torch.randn(4, 3, 8, 8)
    a = torch.randn(1, 3, 8, 8)
    g = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 64, 1, bias=False))
    g[1].weight.data = a.flatten(1)
    # grad_y c(x, y) = 2 (y - x) / (C * S) for sq_l2_per_size: equal to a at y = x + a C S / 2.
    s = stationarity(g, x, x + a * 3 * 8 / 2, sq_l2_per_size)
    assert s.cosine == pytest.approx(1.0, abs=1e-6) and s.ratio == pytest.approx(1.0, rel=1e-5)
    s = stationarity(g, x, x - a * 3 * 8, sq_l2_per_size)
    assert s.cosine == pytest.approx(-1.0, abs=1e-6) and s.ratio == pytest.approx(0.5, rel=1e-5)


def test_the_cli_refuses_a_warm_start_it_cannot_run():
    cases = [
        (["--init", "ot_plan"], "needs a budget"),
        (["--init-steps", "5"], "need --init ot_plan"),
        (["--pairs", "ot_plan", "--method", "not"], "needs --method enot"),
    ]
    for flags, message in cases:
        res = run_in_process([sys.executable, TRAIN, *TINY, *flags, "--dry-run"])
        assert res.returncode == 2 and message in res.stderr, (flags, res.stderr)


WARM = ["--init", "ot_plan", "--init-steps", "6", "--plan-samples", "200"]
WARM += ["--ot-reference-samples", "200", "--steps", "4", "--checkpoint-every", "3"]


def _equal(a, b):
    assert a.keys() == b.keys() and len(a) > 20
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])]


@pytest.mark.slow
def test_a_warm_started_run_with_ot_plan_pairs_resumes_exactly_after_a_stop(tmp_path, train_cmd):
    common = [*WARM, "--pairs", "ot_plan"]
    full = run(train_cmd(*common, "--output-dir", str(tmp_path / "full")))
    assert full.returncode == 0, full.stderr[-3000:]
    assert "OT plan pairs: the exact matching of 200 source and 200 target" in full.stdout
    part = run(train_cmd(*common, "--output-dir", str(tmp_path / "part"), "--stop-at", "2"))
    assert part.returncode == 0, part.stderr[-3000:]
    resumed = run(train_cmd(*common, "--output-dir", str(tmp_path / "part"), "--resume", "latest"))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "read from" in resumed.stdout  # the matching of the first run, not a new solve
    _equal(
        checkpoint_weights(tmp_path / "full/checkpoints/step_00000004"),
        checkpoint_weights(tmp_path / "part/checkpoints/step_00000004"),
    )
    # A stop request (the demo's Stop, or RUN/STOP) inside the warm start: a checkpoint at its
    # first step, no export, and --resume latest continues it to the same weights.
    stopped = tmp_path / "stopped"
    stopped.mkdir()
    (stopped / "STOP").touch()
    first = run(train_cmd(*common, "--output-dir", str(stopped)))
    assert first.returncode == 0, first.stderr[-3000:]
    assert "stopped at step 0 of 4" in first.stdout and not (stopped / "export").exists()
    assert [r["init_step"] for r in read_log(stopped / "log.jsonl")] == [1]
    again = run(train_cmd(*common, "--output-dir", str(stopped), "--resume", "latest"))
    assert again.returncode == 0, again.stderr[-3000:]
    _equal(
        checkpoint_weights(tmp_path / "full/checkpoints/step_00000004"),
        checkpoint_weights(stopped / "checkpoints/step_00000004"),
    )
    # The log holds the warm start's six steps before ENOT's four, and the curves draw them.
    records = read_log(tmp_path / "part/log.jsonl")
    warm = [r for r in records if r.get("phase") == "init"]
    assert [r["init_step"] for r in warm] == list(range(1, 7))
    assert [r["step"] for r in warm] == list(range(-5, 1))
    assert all(np.isfinite(r["fit"]) and r["transport_cost"] > 0 for r in warm)
    enot = [r for r in records if r.get("phase") != "init" and "w_dist" in r]
    assert [r["step"] for r in enot] == [1, 2, 3, 4]
    assert all(-1 <= r["stationarity_cosine"] <= 1 for r in enot)
    assert plot_training_curves(tmp_path / "part/log.jsonl", tmp_path / "c.png").stat().st_size
    assert (tmp_path / "part/samples/step_00000000.png").is_file()  # the warm start's grid
    # The options travel with the export and its checkpoints.
    cfg = load_export(tmp_path / "part/export").config
    assert (cfg.train.init, cfg.train.init_steps, cfg.enot.pairs) == ("ot_plan", 6, "ot_plan")
    saved = json.loads((tmp_path / "part/checkpoints/step_00000004/config.json").read_text())
    assert saved["train"]["plan_samples"] == 200 and saved["enot"]["pairs"] == "ot_plan"


@pytest.mark.slow
def test_a_run_killed_inside_its_warm_start_resumes_exactly(tmp_path, train_cmd):
    common = [*WARM, "--init-steps", "80", "--checkpoint-every", "4", "--steps", "2"]
    full = run(train_cmd(*common, "--output-dir", str(tmp_path / "full")))
    assert full.returncode == 0, full.stderr[-3000:]
    # The same run, killed once its first warm-start checkpoint (ENOT's step 0) is on disk.
    out = tmp_path / "part"
    proc = subprocess.Popen(
        train_cmd(*common, "--output-dir", str(out)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=subprocess_env(),
    )
    deadline = time.monotonic() + 300
    while not (out / "checkpoints/step_00000000").is_dir() and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    warm_before = [r for r in read_log(out / "log.jsonl") if r.get("phase") == "init"]
    assert 4 <= len(warm_before) < 80, len(warm_before)  # killed inside the warm start
    resumed = run(train_cmd(*common, "--output-dir", str(out), "--resume", "latest"))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    _equal(
        checkpoint_weights(tmp_path / "full/checkpoints/step_00000002"),
        checkpoint_weights(out / "checkpoints/step_00000002"),
    )
