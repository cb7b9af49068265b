"""`benchmarks.data_feed` and `benchmarks.predict_hours` as real subprocesses: the smoke run
writes the real formats and reports a rate for each, printed and in its JSON; the predicted
hours follow the formula.

Nothing here is timed: the rates only have to be there and positive.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from helpers import run
from PIL import Image

from benchmarks.data_feed import FORMAT_NAMES
from benchmarks.step_timing import SETTINGS, count_flops, step_flops
from data.celeba import read_attributes
from enot.config import get_preset
from enot.training.networks import build_networks

ROOT = Path(__file__).resolve().parents[1]

ROW = re.compile(r"^(\w+)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d,]+)$")


def _not_flat(pixels: np.ndarray) -> None:
    """Photo-like: colours vary across the image, not one constant level."""
    assert pixels.dtype == np.uint8 and pixels.std() > 10 and np.ptp(pixels) > 60


def test_quick_data_run_rates_every_format_on_real_files(tmp_path):
    result = run(
        [
            sys.executable,
            "-m",
            "benchmarks.data_feed",
            "--quick",
            "--root",
            str(tmp_path),
            "--workers",
            "0",
            "2",
            "--json",
            str(tmp_path / "feed.json"),
        ],
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [m.groups() for m in map(ROW.match, result.stdout.splitlines()) if m]
    assert sorted({(r[0], int(r[1]), int(r[2])) for r in rows}) == sorted(
        (f, 64, w) for f in FORMAT_NAMES for w in (0, 2)
    ), result.stdout
    assert all(float(r[5].replace(",", "")) > 0 for r in rows), result.stdout
    saved = json.loads((tmp_path / "feed.json").read_text())["rows"]
    assert [(r["format"], r["px"], r["workers"], f"{r['images_per_s']:,.0f}") for r in saved] == [
        (r[0], int(r[1]), int(r[2]), r[5]) for r in rows
    ]

    n = 200
    for folder, size in (
        (f"ffhq_256px_{n}", (256, 256)),
        (f"anime_128px_{n}", (128, 128)),
        (f"celeba_{n}/img_align_celeba", (178, 218)),
    ):
        jpegs = sorted((tmp_path / folder).glob("*.jpg"))
        assert len(jpegs) == n
        with Image.open(jpegs[7]) as img:
            assert img.format == "JPEG" and img.size == size
            _not_flat(np.asarray(img.convert("RGB")))
    names, table = read_attributes(tmp_path / f"celeba_{n}" / "list_attr_celeba.txt")
    assert len(names) == 40 and "Male" in names and len(table) == n
    assert {v[names.index("Male")] for v in table.values()} == {-1, 1}

    with h5py.File(tmp_path / f"igan_64px_{n}" / "handbag_64.hdf5", "r") as f:
        data = f["imgs"]
        assert data.shape == (n, 64, 64, 3) and data.dtype == np.uint8
        assert data.chunks is None  # contiguous, as iGAN's create_hdf5.py writes it
        _not_flat(data[3])

    packed = tmp_path / f"packed_64px_{n}" / "ffhq_64.npy"
    array = np.load(packed, mmap_mode="r")
    assert array.shape == (n, 64, 64, 3) and array.dtype == np.uint8
    _not_flat(np.asarray(array[5]))
    meta = json.loads(packed.with_suffix(".json").read_text())
    assert meta["format"] == "enot-packed/1" and meta["count"] == n and meta["image_size"] == 64


def test_flops_counted_on_meta_equal_a_real_step():
    cfg = SETTINGS["cpu_preset"]()
    T, g = build_networks(cfg)
    assert step_flops(cfg) == count_flops("lean", T.train(), g.train(), cfg)


@pytest.mark.parametrize("data_rate", [1e6, 300.0], ids=["compute-bound", "data-bound"])
def test_predict_prints_the_hours_of_its_formula(data_rate):
    preset = "celeba2anime_64"
    result = run(
        [
            sys.executable,
            "-m",
            "benchmarks.predict_hours",
            "--preset",
            preset,
            "--gpu",
            "a100",
            "--mfu",
            "0.3",
            "--data-rate",
            str(data_rate),
        ],
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "hours = steps * max(FLOPs / (mfu * peak), 2 * batch / data_rate) / 3600" in out

    cfg = get_preset(preset)
    T, g = build_networks(cfg)
    flops = count_flops("lean", T.train().to("meta"), g.train().to("meta"), cfg, device="meta")
    assert int(re.search(r"^FLOPs per step: (\d+)", out, re.M).group(1)) == flops
    a100_dense_bf16 = 312e12
    step_s = max(flops / (0.3 * a100_dense_bf16), 2 * cfg.train.batch_size / data_rate)
    want = cfg.train.steps * step_s / 3600
    got = float(re.search(r"^hours: ([\d.e+-]+)$", out, re.M).group(1))
    assert got == pytest.approx(want, rel=1e-5)
    assert ("data-bound" in out) == (data_rate == 300.0)


def test_predict_asks_for_the_measured_data_rate(capsys):
    from benchmarks import predict_hours

    with pytest.raises(SystemExit) as exit_:
        predict_hours.main(["--preset", "celeba2anime_64", "--gpu", "h100"])
    assert exit_.value.code == 2
    assert "--data-rate" in capsys.readouterr().err
