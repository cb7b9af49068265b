"""The paper presets: the dry run prints the paper's hyperparameters, and each trains 2 steps
at its real network sizes on fixture data in its real format (slow: 128 px on a CPU).
"""

from __future__ import annotations

import json
import math
import shutil
import sys

import pytest
import torch
from format_fixtures import paper_task_flags, write_fashion
from helpers import TRAIN, run, run_in_process

from enot.config import PRESETS, get_preset
from enot.export import load_export
from enot.training.networks import build_networks

PAPER = {
    "handbags2shoes_128": 128,
    "ffhq2comics_128": 128,
    "celeba2anime_64": 64,
    "celeba2anime_128": 128,
}

# ENOT (arXiv 2403.03777) App. C, as listed in issue 4.
PAPER_VALUES = {
    "t_net": {"base_channels": 48},
    "g_net": {"nfilter": 64, "nfilter_max": 512},
    "enot": {"tau": 0.98, "lam": 1.0},
    "method": {"cost": "sq_l2_per_size"},
    "optim": {
        "lr_t": 1e-4,
        "lr_g": 5e-5,
        "beta1": 0.5,
        "beta2": 0.5,
        "weight_decay": 1e-4,
        "final_lr_ratio": 1e-2,
    },
}
PAPER_TRAIN = {"steps": 120_000, "batch_size": 64, "mixed_precision": "bf16"}


def dry_run(*args: str) -> dict:
    result = run_in_process([sys.executable, TRAIN, *args, "--dry-run"])
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("name", sorted(PAPER))
def test_dry_run_prints_the_paper_hyperparameters(name):
    printed = dry_run("--preset", name)
    assert printed["preset"] == name and printed["data"]["image_size"] == PAPER[name]
    for section, values in PAPER_VALUES.items():
        assert {k: printed[section][k] for k in values} == values, section
    assert {k: printed["train"][k] for k in PAPER_TRAIN} == PAPER_TRAIN
    assert printed["data"]["flip"] is False  # only comics flip, and they do it themselves


@pytest.mark.parametrize("name", sorted(PAPER))
def test_potential_has_four_stages_at_64_and_five_at_128(name):
    _, g = build_networks(get_preset(name))
    stages = sum(isinstance(m, torch.nn.AvgPool2d) for m in g.modules())
    assert stages == {64: 4, 128: 5}[PAPER[name]]


def _spellings(value) -> set[str]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return {str(value)}
    short = f"{value:.0e}".replace("e-0", "e-").replace("e+0", "e")
    return {f"{value:g}", f"{value:,}", short}


def test_every_preset_names_where_its_values_come_from():
    """Each value a preset changes from the paper defaults is named (flag or value) in the
    docstrings it rests on: its own, and the one it builds on (_paper, _colored_mnist)."""
    from dataclasses import fields

    from enot.config import Config, presets
    from enot.config.cli import flag

    base = Config()
    for name, make in PRESETS.items():
        cfg = make()
        doc = make.__doc__ or ""
        assert len(doc) > 60, f"preset {name} has no note on its values"
        if name in PAPER or name == "emoji_64":
            doc += presets._paper.__doc__
        if name in ("fashion_bags2shoes", "emoji_32"):
            doc += presets._colored_mnist.__doc__
        for section in ("data", "t_net", "g_net", "enot", "method", "optim", "train"):
            for f in fields(getattr(cfg, section)):
                value = getattr(getattr(cfg, section), f.name)
                if value == getattr(getattr(base, section), f.name) or f.name in (
                    "dataset",
                    "source",
                    "target",
                ):
                    continue
                option = flag(section, f.name)
                assert option in doc or any(s in doc for s in _spellings(value)), (
                    f"preset {name} sets {option} {value} without saying so"
                )


def test_fashion_preset_is_cpu_sized():
    cfg = get_preset("fashion_bags2shoes")
    assert (cfg.data.dataset, cfg.data.source, cfg.data.target) == ("fashion_mnist", "bag", "shoes")
    quick = get_preset("colored_mnist")
    assert (cfg.data.image_size, cfg.t_net.base_channels, cfg.g_net.nfilter) == (32, 16, 8)
    assert (cfg.optim, cfg.enot, cfg.train.steps) == (quick.optim, quick.enot, quick.train.steps)
    assert cfg.t_net.gray and not quick.t_net.gray  # both Fashion-MNIST domains are gray
    assert cfg.train.mixed_precision == "no" and cfg.train.steps <= 2500


# --- 2-step smoke runs at the real network sizes ------------------------------------------------

# bf16 autocast has no native kernels on a CPU without AVX-512-BF16/AMX: a 2-step run at 128 px
# takes ~250 s in bf16 against ~20 s in fp32 on a 2-core AVX2 EPYC. Every preset trains in
# bf16 (test_dry_run_prints_the_paper_hyperparameters) through one code path, which
# tests/test_mixed_precision.py runs at the 64 px preset's networks against fp32; here they
# run in fp32.


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PAPER))
def test_two_steps_at_the_real_network_sizes(tmp_path, name):
    out = tmp_path / "run"
    result = run(
        [
            sys.executable,
            TRAIN,
            "--preset",
            name,
            *paper_task_flags(name, tmp_path),
            "--steps",
            "2",
            "--batch-size",
            "2",
            "--mixed-precision",
            "no",
            "--output-dir",
            str(out),
        ],
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 2 and all(map(math.isfinite, summary["final"].values()))
    saved = json.loads((out / "config.json").read_text())
    for section in ("t_net", "g_net"):
        assert {k: saved[section][k] for k in PAPER_VALUES[section]} == PAPER_VALUES[section]
    assert saved["data"]["image_size"] == PAPER[name]
    assert saved["train"]["mixed_precision"] == "no"
    shutil.rmtree(out / "checkpoints")  # about 0.5 GB each at the paper's widths


@pytest.mark.slow
def test_fashion_preset_runs_on_generated_idx_files(tmp_path):
    write_fashion(tmp_path / "fm", n_train=600, n_test=100)
    out = tmp_path / "run"
    result = run(
        [
            sys.executable,
            TRAIN,
            "--preset",
            "fashion_bags2shoes",
            "--source",
            f"bag@{tmp_path / 'fm'}",
            "--target",
            f"shoes@{tmp_path / 'fm'}",
            "--steps",
            "3",
            "--eval-every",
            "0",
            "--output-dir",
            str(out),
        ],
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "test split: 7 source images" in result.stdout  # 70 bags: the last 10%
    # The shoe classifier judged the export: fitted on the 600-image train file.
    assert (
        "target-class rate (fashion_mnist classifier, target class sneaker+ankle_boot+sandal)"
        in result.stdout
    )
    # The export draws gray shoes: the three channels of T(x) agree, even for a coloured input.
    T = load_export(out / "export").T
    with torch.no_grad():
        tx = T(torch.rand(2, 3, 32, 32) * 2 - 1)
    assert torch.equal(tx[:, 0], tx[:, 1]) and torch.equal(tx[:, 1], tx[:, 2])
