"""bf16 on the real code path: `accelerate launch` of the 64 px paper preset under
`--mixed-precision bf16` against the same run in fp32, then checkpoint, resume and export. The
networks keep the preset's depth at a narrower width (U-Net base 24, ResNet_D nfilter 32), which
runs the same layers and casts in a fraction of the time.

CPU autocast runs bf16 (the GPU recipe of every paper preset) through the same autocast and
loss-casting code as CUDA. Slow: without AVX-512-BF16 the bf16 kernels are emulated.
"""

from __future__ import annotations

import json
import math

import pytest
import torch
from format_fixtures import paper_task_flags
from helpers import TRAIN, accelerate_launch, run

from enot.export import load_export

PRESET = "celeba2anime_64"
LOGGED = ("g_loss", "t_loss", "w_dist", "transport_cost")
# Step 1 runs both precisions on the same weights and batches: bf16 keeps 8 significant bits
# (rounding 2^-9 = 0.2% per value), and the errors of ~20 layers partly cancel in the batch
# means, so 1% bounds what rounding alone does (measured: 0.25% at the preset's width, 0.07% at
# this one). From step 2 the weights differ by one bf16-rounded update and the potential's loss,
# a large difference of large terms, moves further (measured: 4.3% and 0.57% on g_loss at step
# 2); 10% still catches a broken cast, which is off by orders of magnitude or not finite.
# `pytest -s` prints the differences.
REL_SAME_WEIGHTS, REL_AFTER_UPDATES = 0.01, 0.10


def _launch(out, precision: str, *extra: str) -> list[str]:
    return [
        *accelerate_launch("--num_processes", "1", precision=precision),
        TRAIN,
        "--preset",
        PRESET,
        "--mixed-precision",
        precision,
        "--batch-size",
        "2",
        "--steps",
        "2",
        "--log-every",
        "1",
        "--sample-every",
        "2",
        "--checkpoint-every",
        "1",
        "--eval-every",
        "0",
        "--t-base-channels",
        "24",
        "--g-nfilter",
        "32",
        "--output-dir",
        str(out),
        *extra,
    ]


def _records(out) -> dict[int, dict]:
    lines = (out / "log.jsonl").read_text().splitlines()
    return {r["step"]: r for r in map(json.loads, lines) if "g_loss" in r}


@pytest.mark.slow
def test_bf16_tracks_fp32_on_the_same_batches_and_resumes_and_exports(tmp_path):
    data = paper_task_flags(PRESET, tmp_path / "data")
    fp32, bf16 = tmp_path / "fp32", tmp_path / "bf16"
    res = run(_launch(fp32, "no", *data), timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    # bf16 stops after step 1 and resumes from its checkpoint for step 2.
    res = run(_launch(bf16, "bf16", *data, "--stop-at", "1"), timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    assert not (bf16 / "export").exists()
    res = run(_launch(bf16, "bf16", *data, "--resume", "latest"), timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "resumed from" in res.stdout + res.stderr

    want, got = _records(fp32), _records(bf16)
    assert sorted(got) == sorted(want) == [1, 2]
    differs = False
    for step in (1, 2):
        rel = REL_SAME_WEIGHTS if step == 1 else REL_AFTER_UPDATES
        for k in LOGGED:
            a, b = want[step][k], got[step][k]
            assert math.isfinite(b), (step, k, b)
            print(f"step {step} {k}: fp32 {a:.6g}, bf16 {b:.6g}, rel {abs(a - b) / abs(a):.2%}")
            assert abs(a - b) <= rel * abs(a), (step, k, a, b)
            differs |= a != b
    assert differs, "bf16 gave fp32's losses bit for bit: autocast did not run"

    summary = json.loads((bf16 / "summary.json").read_text())
    assert summary["steps"] == 2 and summary["steps_this_run"] == 1
    saved = json.loads((bf16 / "config.json").read_text())
    assert saved["train"]["mixed_precision"] == "bf16"
    tr = load_export(bf16 / "export")
    assert tr.card.step == 2 and tr.config.train.mixed_precision == "bf16"
    # The export holds fp32 weights: autocast casts on the fly and never stores bf16.
    assert all(p.dtype == torch.float32 for p in tr.T.parameters())
    with torch.no_grad():
        tx = tr.T(torch.rand(2, 3, 64, 64) * 2 - 1)
    assert tx.shape == (2, 3, 64, 64) and torch.isfinite(tx).all()
