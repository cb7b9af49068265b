"""`scripts/benchmark.py gpu --quick`: the GPU check's every section, run for real on the CPU
with tiny shapes, so that the command is known to work before a GPU session spends minutes on
it."""

from __future__ import annotations

import json
import sys

import pytest
from helpers import ROOT, run

from benchmarks.gpu_report import TITLES

pytestmark = pytest.mark.slow  # an accelerate launch among its sections


def test_quick_gpu_check_writes_every_section_with_real_numbers(tmp_path):
    out = tmp_path / "out"
    res = run(
        [
            sys.executable,
            str(ROOT / "scripts/benchmark.py"),
            "gpu",
            "--quick",
            "--out",
            str(out),
            "--work",
            str(tmp_path / "work"),
        ],
        timeout=600,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    report = json.loads((out / "gpu_check.json").read_text())
    sections = report["sections"]
    assert list(sections) == list(TITLES)
    assert all(s["status"] == "ok" for s in sections.values()), sections
    got = {name: s["result"] for name, s in sections.items()}

    assert got["machine"]["cpu_cores"] >= 1 and got["machine"]["torch"]
    assert isinstance(got["machine"]["missing"], list)
    tier = got["correctness"]["tests"]
    assert len(tier) == 6 and got["correctness"]["failed"] == 0
    if report["device"] == "cpu":
        assert all(t["status"] == "skipped" and "no CUDA" in t["reason"] for t in tier)

    rows = {(r["setting"], r["mode"]): r for r in got["speed"]["rows"]}
    assert len(rows) == 10
    for (setting, mode), r in rows.items():
        if mode in ("tf32", "bf16_compile"):
            assert r["status"] == "skipped" and r["reason"] == "no CUDA"
        else:
            assert r["status"] == "ok" and r["ms_per_step"] > 0 and r["tflops"] > 0
    for p in got["speed"]["predict"]:
        assert p["gflop_per_step"] > 0 and p["best_ms"] > 0 and p["predicted_ms"] is None

    (mem,) = got["memory"]["rows"]
    assert mem["predicted_mib"] > 0 and mem["measured_mib"] > 0
    # On the CPU the same counter runs on real tensors: it must agree with the fake count
    # (bf16 on real tensors measured 8e-5 above it).
    assert abs(mem["measured_over_predicted"] - 1) < 0.01

    feed = got["data"]
    assert feed["need_per_domain"] > 0
    assert {r["format"] for r in feed["rows"]} == {"packed", "ffhq_folder"}
    assert all(r["images_per_s"] > 0 and r["over_need"] > 0 for r in feed["rows"])

    train = got["training"]
    assert train["returncode"] == 0 and train["trained_steps"] == train["steps"] == 4
    assert train["images_per_s"] > 0 and all(map(lambda v: v == v, train["final_losses"].values()))
    assert train["judge"]["images"] > 0 and train["judge"]["mse"] >= 0
    assert train["export_parts"] == ["export.tar.00"] and (out / "export.tar.00").is_file()

    md = (out / "gpu_check.md").read_text()
    for title in TITLES.values():
        assert f"## {title}\n" in md
    assert "skipped: no CUDA" in md and "| packed | 32 | 1 |" in md and "| mse |" in md
