"""`--compile` (torch.compile, inductor) against eager, data-parallel.

Slow: inductor compiles T's and g's forward and backward graphs to C++ on first use (about a
minute on 2 cores whatever the network size, so the networks here are tiny).
"""

from __future__ import annotations

import json
import shutil

import pytest
from helpers import run

pytestmark = pytest.mark.slow

LOGGED = ("g_loss", "t_loss", "w_dist", "transport_cost")
COMMON = ["--steps", "4", "--checkpoint-every", "2", "--sample-every", "4"]
# Step 1: the same weights and batches; inductor fuses and reorders float32 sums, so results
# differ by rounding only (measured 1.5e-5 of t_loss, a difference of two larger terms; 6e-6
# of its largest value over the run). Later steps feed those rounding
# differences through AdamW, whose first steps move every weight by about lr whatever the
# gradient's size, so they grow (measured up to 2% of a loss near zero); 1% of each loss's
# largest value over the run bounds them, while a wrong graph would be off by far more.
REL_FIRST, REL_RUN = 1e-4, 1e-2


def _losses(out) -> dict[int, dict]:
    records = map(json.loads, (out / "log.jsonl").read_text().splitlines())
    return {r["step"]: r for r in records if "g_loss" in r}


def _close(want: dict[int, dict], got: dict[int, dict]) -> None:
    assert sorted(want) == sorted(got) == [1, 2, 3, 4]
    for k in LOGGED:
        scale = max(abs(want[s][k]) for s in want)
        assert abs(want[1][k] - got[1][k]) <= REL_FIRST * scale, (k, want[1][k], got[1][k])
        for s in want:
            assert abs(want[s][k] - got[s][k]) <= REL_RUN * scale, (s, k, want[s][k], got[s][k])


def test_compiled_ddp_matches_eager_keeps_the_ranks_in_step_and_resumes_eagerly(
    tmp_path, launch_cmd
):
    # One compile serves every check: the compiled two-process run against an eager one on the
    # same weights and batches, the ranks' agreement, and an eager resume of its checkpoint.
    cmd = launch_cmd("--multi_gpu", "--num_processes", "2")
    runs = {name: tmp_path / name for name in ("eager", "compiled", "resumed")}
    flags = [*COMMON, "--batch-size", "50", "--ddp-checksums"]
    res = run(cmd(*flags, "--output-dir", str(runs["eager"])))
    assert res.returncode == 0, res.stderr[-4000:]
    res = run(cmd(*flags, "--compile", "--output-dir", str(runs["compiled"])), timeout=1200)
    assert res.returncode == 0, res.stderr[-4000:]
    summary = json.loads((runs["compiled"] / "summary.json").read_text())
    assert summary["num_processes"] == 2 and summary["steps"] == 4
    params = summary["param_checksums_per_rank"]
    assert params[0] == params[1]
    data = summary["data_checksums_per_rank"]
    assert data[0] != data[1]
    eager, got = _losses(runs["eager"]), _losses(runs["compiled"])
    assert got[1]["g_loss"] != eager[1]["g_loss"] or got[1]["t_loss"] != eager[1]["t_loss"], (
        "compiled losses equal eager bit for bit"
    )
    _close(eager, got)
    assert (runs["compiled"] / "export/translator.json").is_file()
    # The checkpoint of a compiled run holds the plain networks' weights: an eager run resumes
    # it. A copy of the run without its last checkpoint resumes at step 2.
    shutil.copytree(runs["compiled"], runs["resumed"])
    shutil.rmtree(runs["resumed"] / "checkpoints/step_00000004")
    res = run(cmd(*flags, "--resume", "latest", "--output-dir", str(runs["resumed"])))
    assert res.returncode == 0, res.stderr[-4000:]
    assert "resumed from" in res.stdout + res.stderr and "at step 2" in res.stdout + res.stderr
    resumed = _losses(runs["resumed"])
    _close(eager, resumed)
    assert (runs["resumed"] / "export/translator.json").is_file()
