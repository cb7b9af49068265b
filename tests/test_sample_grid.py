"""The sample grid on real data: images spread over the test split, a source row and a T(x)
row, and on a paired folder a third row that is the target image of the same name."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from accelerate import Accelerator
from PIL import Image
from torch import nn

from data import DatasetError, build_domain, from_model, load_image, spread_indices, to_unit
from data.split import in_test_by_name
from enot.config import Config
from enot.training.artifacts import LATEST_SAMPLES
from enot.training.sample_grid import GRID_IMAGES, SampleGrid

SIZE = 16


class Mirror(nn.Module):
    """T(x) = x mirrored: a map whose row differs from both the source and the truth."""

    def forward(self, x):
        return x.flip(-1)


def _names(n_test: int, n_train: int) -> list[str]:
    test, train, i = [], [], 0
    while len(test) < n_test or len(train) < n_train:
        name = f"e{i:04d}"
        (test if in_test_by_name(name) else train).append(name)
        i += 1
    return sorted(test[:n_test] + train[:n_train])


def _noise(name: str, side: str) -> Image.Image:
    seed = int(name[1:]) * 2 + (side == "twemoji")
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8))


@pytest.fixture(scope="module")
def paired(tmp_path_factory):
    """noto/ and twemoji/ with the same names (20 of them test), each image its own noise.

    twemoji/ also holds one more test name that sorts first, so a target fetched by position
    in the test split, not by name, would be the wrong image."""
    root = tmp_path_factory.mktemp("paired")
    names = _names(n_test=20, n_train=10)
    extra = next(f"a{i:04d}" for i in range(10**4) if in_test_by_name(f"a{i:04d}"))
    for side, side_names in (("noto", names), ("twemoji", [extra, *names])):
        (root / side).mkdir()
        for name in side_names:
            _noise(name, side).save(root / side / f"{name}.png")
    return root


def _config(dataset: str, source: str, target: str, out) -> Config:
    cfg = Config()
    cfg.data.dataset, cfg.data.source, cfg.data.target = dataset, source, target
    cfg.data.image_size = SIZE
    cfg.train.output_dir = str(out)
    return cfg


def _cells(png, rows: int, cols: int) -> np.ndarray:
    """[rows, cols, SIZE, SIZE, 3] uint8 images of a grid saved with padding 1."""
    a = np.asarray(Image.open(png).convert("RGB"))
    step = SIZE + 1
    assert a.shape == (rows * step + 1, cols * step + 1, 3)
    cells = a[1:, 1:].reshape(rows, step, cols, step, 3)[:, :SIZE, :, :SIZE]
    return cells.transpose(0, 2, 1, 3, 4)


def _hwc(x: torch.Tensor) -> np.ndarray:
    return from_model(x).permute(1, 2, 0).numpy()


def test_spread_indices_are_even_unique_and_fit_the_split():
    assert spread_indices(50, GRID_IMAGES) == [round(i * 49 / 15) for i in range(16)]
    assert spread_indices(16, GRID_IMAGES) == list(range(16))
    assert spread_indices(5, GRID_IMAGES) == [0, 1, 2, 3, 4]
    assert spread_indices(1, GRID_IMAGES) == [0] and spread_indices(0, GRID_IMAGES) == []


def test_paired_grid_has_the_truth_of_the_same_name_in_its_third_row(paired, tmp_path):
    cfg = _config("paired_folder", str(paired / "noto"), str(paired / "twemoji"), tmp_path)
    grid = SampleGrid(cfg, Accelerator(), tmp_path)
    source = build_domain("paired_folder", str(paired / "noto"), SIZE, "test")
    picked = spread_indices(len(source), GRID_IMAGES)
    assert len(source) == 20 and len(picked) == GRID_IMAGES
    assert grid.names == [source.names[i] for i in picked]

    grid.save(Mirror(), 7)
    for png in (tmp_path / "step_00000007.png", tmp_path / LATEST_SAMPLES):
        cells = _cells(png, rows=3, cols=GRID_IMAGES)
        for col, name in enumerate(grid.names):
            x = load_image(paired / "noto" / f"{name}.png", SIZE)
            y = load_image(paired / "twemoji" / f"{name}.png", SIZE)
            assert np.array_equal(cells[0, col], _hwc(x)), name
            assert np.array_equal(cells[1, col], _hwc(x.flip(-1))), name
            assert np.array_equal(cells[2, col], _hwc(y)), name  # the truth, pixel-equal
            assert not np.array_equal(cells[2, col], cells[0, col])
    truth = [load_image(paired / "twemoji" / f"{name}.png", SIZE) for name in grid.names]
    assert torch.equal(grid.truth, torch.stack(truth))


def test_paired_grid_refuses_a_target_without_the_source_names(paired, tmp_path):
    first = build_domain("paired_folder", str(paired / "noto"), SIZE, "test").names[0]
    target = tmp_path / "twemoji"
    target.mkdir()
    for path in (paired / "twemoji").glob("*.png"):
        if path.stem != first:  # the grid's first image loses its counterpart
            (target / path.name).write_bytes(path.read_bytes())
    cfg = _config("paired_folder", str(paired / "noto"), str(target), tmp_path)
    with pytest.raises(DatasetError, match=f"no test image named {first}"):
        SampleGrid(cfg, Accelerator(), tmp_path)


def test_unpaired_task_gets_two_rows_spread_over_the_test_split(tmp_path):
    cfg = _config("colored_mnist", "2", "3", tmp_path)
    grid = SampleGrid(cfg, Accelerator(), tmp_path)
    source = build_domain("colored_mnist", "2", SIZE, "test", seed=cfg.train.seed)
    picked = spread_indices(len(source), GRID_IMAGES)
    assert len(source) > GRID_IMAGES and picked[0] == 0 and picked[-1] == len(source) - 1
    assert grid.truth is None

    x = torch.stack([source[i] for i in picked])
    assert torch.equal(grid.x.cpu(), x)
    assert torch.equal(grid.rows(Mirror()), to_unit(torch.cat([x, x.flip(-1)])))

    grid.save(Mirror(), 3)
    _cells(tmp_path / LATEST_SAMPLES, rows=2, cols=GRID_IMAGES)  # asserts the PNG's shape
