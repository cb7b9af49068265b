"""`scripts/translate.py` (console script `enot-translate`) as a real subprocess on real files."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from app_fixtures import make_export
from helpers import ROOT, run, run_in_process
from PIL import Image

from data.normalization import load_image
from enot.export import load_export

TRANSLATE = str(ROOT / "scripts" / "translate.py")


def _photo(path, seed: int, size=(50, 40)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)


@pytest.fixture
def export(tmp_path):
    return make_export(tmp_path / "export", image_size=32)


def test_a_folder_with_a_corrupt_file_loses_nothing(tmp_path, export):
    src = tmp_path / "in"
    for i in range(12):
        _photo(src / f"{'deep/' if i % 3 == 0 else ''}img{i}.jpg", i)
    (src / "notes.txt").write_text("not an image, not an image extension: ignored")
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    res = run(
        [
            sys.executable,
            TRANSLATE,
            "--model",
            str(export),
            "--input",
            str(src),
            "--output",
            str(tmp_path / "out"),
            "--batch-size",
            "5",
        ]
    )
    assert res.returncode == 1, res.stderr
    assert "broken.png" in res.stderr and "12 of 13 images translated" in res.stdout
    written = sorted(
        p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.png")
    )
    assert written == sorted(f"{'deep/' if i % 3 == 0 else ''}img{i}.png" for i in range(12))
    assert not list((tmp_path / "out").rglob("*.partial"))

    # The output is T of the training preprocessing of the input, through the fast path.
    T = load_export(export).T.eval()
    with torch.no_grad():
        want = T(load_image(src / "deep/img3.jpg", 32)[None])[0]
    got = load_image(tmp_path / "out/deep/img3.png", 32)
    assert (got - want.clamp(-1, 1)).abs().max() <= 2 / 255 + 1e-4  # one uint8 rounding


def test_existing_outputs_are_kept_unless_overwrite(tmp_path, export):
    _photo(tmp_path / "a.png", 0)
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.png").write_bytes(b"keep me")
    cmd = [
        sys.executable,
        TRANSLATE,
        "--model",
        str(export),
        "--input",
        str(tmp_path / "a.png"),
        "--output",
        str(out),
    ]
    res = run(cmd)
    assert res.returncode == 2 and "--overwrite" in res.stderr
    assert (out / "a.png").read_bytes() == b"keep me"
    res = run(cmd + ["--overwrite", "--t", "0"])
    assert res.returncode == 0, res.stderr
    # t = 0 is the preprocessed input itself.
    assert (load_image(out / "a.png", 32) - load_image(tmp_path / "a.png", 32)).abs().max() < 1e-6


@pytest.mark.parametrize(
    "args, message",
    [
        (["--t", "1.5"], "--t must lie in [0, 1]"),
        (["--batch-size", "0"], "--batch-size must be >= 1"),
        (["--model", "/no/such/export"], "no such export folder"),
    ],
)
def test_bad_arguments_are_named(tmp_path, export, args, message):
    _photo(tmp_path / "a.png", 0)
    res = run_in_process(
        [
            sys.executable,
            TRANSLATE,
            "--model",
            str(export),
            "--input",
            str(tmp_path / "a.png"),
            "--output",
            str(tmp_path / "out"),
            *args,
        ]
    )
    assert res.returncode == 2 and message in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "out").exists()
