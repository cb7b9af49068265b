"""The OT reference: exact against brute force on tiny images, its cost matrix against the cost
itself, the command on real PNG folders, training's --dry-run and the curves' level."""

from __future__ import annotations

import itertools
import json
import sys

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from helpers import ROOT, run_in_process
from PIL import Image
from scipy.optimize import linear_sum_assignment

from data import spread_indices
from data.split import in_test_by_name
from enot import ot_plan as module
from enot.costs import COSTS, get_cost
from enot.evaluation.ot_reference import OTReferenceError, ot_reference
from enot.ot_plan import cost_matrix
from enot.training.curves import draw_reference, plot_training_curves, read_reference

SCRIPT = str(ROOT / "scripts" / "ot_reference.py")


def _images(n: int, seed: int, shape=(3, 4, 4)) -> torch.Tensor:
    return torch.rand(n, *shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def _pairwise(x, y, name) -> np.ndarray:
    """c(x_i, y_j) from the cost function itself, one pair at a time."""
    cost = get_cost(name)
    x, y = x.double(), y.double()
    return np.array([[cost(a[None], b[None]).item() for b in y] for a in x])


@pytest.mark.parametrize("name", sorted(COSTS))
def test_the_optimum_is_the_best_permutation(name):
    x, y = _images(6, 0), _images(6, 1)
    c = _pairwise(x, y, name)
    best = min(np.mean(c[range(6), list(p)]) for p in itertools.permutations(range(6)))
    ref = ot_reference(x, y, name, paired=True)
    assert ref.optimal == pytest.approx(best, rel=0, abs=1e-9)
    assert ref.true_pairs == pytest.approx(np.trace(c) / 6, abs=1e-12)
    assert ref.random_pairs == pytest.approx((c.sum() - np.trace(c)) / 30, abs=1e-12)
    assert ref.nearest == pytest.approx(c.min(axis=1).mean(), abs=1e-12)
    assert ref.nearest <= ref.optimal <= ref.true_pairs
    assert ref.samples == ref.target_samples == 6 and ref.cost == name
    unpaired = ot_reference(x, y, get_cost(name))  # the callable names itself
    assert unpaired.cost == name and unpaired.optimal == pytest.approx(best, abs=1e-9)
    assert unpaired.true_pairs is unpaired.counterpart_share is None
    assert unpaired.random_pairs == pytest.approx(c.mean(), abs=1e-12)


def test_counterpart_share_follows_the_optimal_plan():
    x = _images(6, 2)
    near = ot_reference(x, x + 1e-3 * _images(6, 3), paired=True)
    assert near.counterpart_share == 1.0 and near.nearest_is_counterpart == 1.0
    assert near.optimal == pytest.approx(near.true_pairs, abs=1e-12)
    # y is x shuffled with no fixed point: the optimal plan moves nothing and pairs no index i.
    shifted = ot_reference(x, torch.roll(x, 2, dims=0), paired=True)
    assert shifted.optimal == pytest.approx(0.0, abs=1e-12)
    assert shifted.counterpart_share == 0.0 and shifted.nearest_is_counterpart == 0.0
    assert shifted.true_pairs > 0.1


def test_unequal_sides_take_uniform_weights():
    # Weights 1/4 and 1/6 equal 12 copies a side, where an assignment is optimal.
    x, y = _images(4, 4), _images(6, 5)
    c = _pairwise(x, y, "sq_l2_per_size")
    big = np.repeat(np.repeat(c, 3, axis=0), 2, axis=1)
    rows, cols = linear_sum_assignment(big)
    ref = ot_reference(x, y)
    assert ref.optimal == pytest.approx(big[rows, cols].mean(), abs=1e-9)
    assert (ref.samples, ref.target_samples) == (4, 6)
    with pytest.raises(OTReferenceError, match="as many images a side"):
        ot_reference(x, y, paired=True)


def test_a_solve_stopped_short_is_an_error(monkeypatch):
    monkeypatch.setattr(module, "MAX_ITER", 3)
    with pytest.raises(OTReferenceError, match="numItermax reached"):
        ot_reference(_images(40, 6), _images(40, 7))


@pytest.mark.parametrize("name", [*sorted(COSTS), "callable"])
def test_the_chunked_matrix_is_the_cost_on_pairs(name):
    x, y = _images(9, 8, (3, 8, 8)), _images(7, 9, (3, 8, 8))
    if name == "callable":  # not a scale of ||x - y||^2: evaluated pair by pair
        cost = lambda a, b: (a - b).abs().flatten(1).sum(dim=1)  # noqa: E731
        want = np.array([[(a - b).abs().sum().item() for b in y.double()] for a in x.double()])
    else:
        cost, want = name, _pairwise(x, y, name)
    got = cost_matrix(x, y, cost, chunk=4)  # three chunks, the last one short
    assert got.shape == (9, 7) and got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_spread_is_even_and_deterministic():
    assert spread_indices(5, 10) == [0, 1, 2, 3, 4]
    assert spread_indices(101, 5) == [0, 25, 50, 75, 100]
    picked = spread_indices(3412, 3000)
    assert len(set(picked)) == 3000 and picked == sorted(picked)


def _names(n_train: int, n_test: int) -> list[str]:
    train, test, i = [], [], 0
    while len(train) < n_train or len(test) < n_test:
        name = f"e{i:04d}"
        (test if in_test_by_name(name) else train).append(name)
        i += 1
    return train[:n_train] + test[:n_test]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Two paired folders: the same coloured squares, the target's a little lighter."""
    root = tmp_path_factory.mktemp("pairs")
    for side, lift in (("noto", 0), ("twemoji", 30)):
        (root / side).mkdir()
        for name in _names(10, 2):
            rng = np.random.default_rng(int(name[1:]))
            px = np.full((16, 16, 3), 255, np.uint8)
            lo, hi = rng.integers(1, 6), rng.integers(10, 16)
            px[lo:hi, lo:hi] = np.minimum(rng.integers(0, 200, 3) + lift, 255)
            Image.fromarray(px).save(root / side / f"{name}.png")
    return root


def _command(folders):
    return [sys.executable, SCRIPT, "--preset", "emoji_32", "--source", str(folders / "noto")]


def test_the_command_on_paired_folders(folders, tmp_path):
    out = tmp_path / "ref.json"
    res = run_in_process(
        [*_command(folders), "--target", str(folders / "twemoji"), "--json", str(out)]
    )
    assert res.returncode == 0, res.stderr
    figures = json.loads(out.read_text())
    assert figures["samples"] == figures["target_samples"] == 10  # the train names
    assert figures["pairing"] == "paired by name" and figures["split"] == "train"
    assert figures["nearest"] <= figures["optimal"] <= figures["true_pairs"] + 1e-12
    assert figures["optimal"] < figures["random_pairs"]
    # The lighter copy of each square is nearer to it than any other square.
    assert figures["counterpart_share"] == 1.0
    assert "exact OT of the samples (10 a side, cost sq_l2_per_size)" in res.stdout
    assert "paired by name" in res.stdout and "true pairs" in res.stdout

    res = run_in_process(
        [*_command(folders), "--target", str(folders / "twemoji"), "--split", "test"]
    )
    assert res.returncode == 0 and "(2 a side" in res.stdout


def test_folders_whose_names_differ_are_not_paired(folders, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    for i, path in enumerate(sorted((folders / "twemoji").iterdir())):
        (other / f"x{i}.png").write_bytes(path.read_bytes())
    res = run_in_process(
        [*_command(folders), "--target", str(other), "--max-samples", "4", "--json",
         str(tmp_path / "r.json")]
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    figures = json.loads((tmp_path / "r.json").read_text())
    assert figures["true_pairs"] is None and figures["samples"] == 4
    assert "do not hold the same names" in figures["pairing"]


def test_the_command_refuses_bad_input(folders, tmp_path):
    res = run_in_process([*_command(folders), "--target", str(tmp_path / "missing")])
    assert res.returncode == 2 and "does not exist" in res.stderr and "missing" in res.stderr
    res = run_in_process([*_command(folders), "--max-samples", "0"])
    assert res.returncode == 2 and "must be >= 1" in res.stderr
    res = run_in_process([sys.executable, SCRIPT, "--preset", "colored_mnist", "--resume", "x"])
    assert res.returncode == 2 and "scripts/train.py's" in res.stderr
    res = run_in_process([sys.executable, SCRIPT, "--help"])
    assert res.returncode == 0 and "--max-samples" in res.stdout and "--source" in res.stdout


def test_a_dry_run_computes_nothing(train_cmd, tmp_path):
    flags = ("--ot-reference-samples", "3500", "--dry-run", "--output-dir", str(tmp_path / "run"))
    res = run_in_process(train_cmd(*flags))
    assert res.returncode == 0 and json.loads(res.stdout)["train"]["ot_reference_samples"] == 3500
    assert not (tmp_path / "run").exists() and "OT reference" not in res.stdout


def _log(path, steps=5):
    records = [
        {"step": s, "w_dist": 6.0 + 1 / s, "transport_cost": 7.0 - 1 / s, "g_loss": 0.1}
        for s in range(1, steps + 1)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def test_the_curves_draw_the_reference(tmp_path):
    reference = {"optimal": 6.5, "samples": 6, "target_samples": 6, "random_pairs": 18.7}
    fig, ax = plt.subplots()
    ax.plot([1, 2], [5.0, 8.0])
    draw_reference(ax, reference)  # random pairs lie off the curves' range: named in the label
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[1] == "exact OT of the samples (6 a side); random pairs 18.7"
    assert ax.get_lines()[1].get_ydata()[0] == 6.5 and len(labels) == 2
    ax.plot([1, 2], [0.0, 30.0])
    draw_reference(ax, {**reference, "target_samples": 8})  # now they fit: a dotted level
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[-2:] == ["exact OT (6 x 8 samples)", "random pairs"]
    plt.close(fig)

    run = tmp_path / "run"
    run.mkdir()
    _log(run / "log.jsonl")
    bare = plot_training_curves(run / "log.jsonl", tmp_path / "bare.png")  # no reference
    (run / "ot_reference.json").write_text(json.dumps(reference))
    assert read_reference(run / "ot_reference.json") == reference
    drawn = plot_training_curves(run / "log.jsonl", tmp_path / "drawn.png")
    for png in (bare, drawn):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert bare.read_bytes() != drawn.read_bytes()
    (run / "ot_reference.json").write_text("{not json")
    assert read_reference(run / "ot_reference.json") is None
    assert plot_training_curves(run / "log.jsonl", tmp_path / "bad.png").is_file()
