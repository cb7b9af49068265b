"""app.catalog on real export folders: discovery, the card (with metrics.json), examples,
symlinks out of the model folder, and the command line when there is nothing to serve."""

import sys

import numpy as np
import pytest
from app_fixtures import make_export, write_metrics
from helpers import ROOT, run

from app.catalog import CatalogError, find_exports, load_catalog, model_card
from data import build_domain, from_model
from enot.config import get_preset


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    make_export(root / "digits" / "export", image_size=32, step=7)
    make_export(root / "bigger" / "export", image_size=64, step=3, seed=1)
    write_metrics(root / "digits", fid=123.45, mse=0.0678)
    return root


def test_every_export_is_found_and_loaded_once(models):
    entries = load_catalog(models)
    assert sorted(entries) == ["bigger/export", "digits/export"]
    assert entries["digits/export"].size == 32 and entries["bigger/export"].size == 64


def test_card_shows_task_size_steps_cost_and_metrics(models):
    card = model_card(load_catalog(models)["digits/export"])
    steps = get_preset("colored_mnist").train.steps
    for text in (
        "colored_mnist 2 → 3",
        "32 × 32",
        f"7 of {steps:,}",
        "sq_l2_per_size",
        "FID",
        "123.45",
        "MSE",
        "0.0678",
        "50 test images",
    ):
        assert text in card, text


def test_card_without_metrics_says_how_to_evaluate(models):
    card = model_card(load_catalog(models)["bigger/export"])
    assert "FID" not in card.replace("writes FID", "")
    assert "scripts/evaluate.py" in card


def test_examples_are_the_test_split(models):
    entry = load_catalog(models)["digits/export"]
    test = build_domain("colored_mnist", "2", 32, "test", seed=0)
    assert len(entry.examples) == 8
    for i, img in enumerate(entry.examples):
        assert np.array_equal(np.asarray(img), from_model(test[i]).permute(1, 2, 0).numpy())


def test_exports_and_metrics_outside_the_folder_are_not_read(tmp_path):
    root, elsewhere = tmp_path / "models", tmp_path / "elsewhere"
    make_export(elsewhere / "run" / "export")
    write_metrics(elsewhere / "run", fid=1.0, mse=0.1)
    root.mkdir()
    (root / "linked").symlink_to(elsewhere / "run", target_is_directory=True)
    assert find_exports(root) == []
    with pytest.raises(CatalogError, match="no inference export"):
        load_catalog(root)
    # Served directly, the export's run folder (its parent) is outside: no metrics from it.
    entries = load_catalog(elsewhere / "run" / "export")
    assert next(iter(entries.values())).metrics is None


def test_empty_folder_says_how_to_train(tmp_path):
    with pytest.raises(CatalogError, match="python scripts/train.py --preset colored_mnist"):
        load_catalog(tmp_path)


def test_command_line_without_exports_exits_with_the_how_to(tmp_path):
    done = run([sys.executable, "-m", "app", "--models", str(tmp_path)], timeout=120)
    assert done.returncode == 2
    assert "no inference export" in done.stderr and "scripts/train.py" in done.stderr


def test_command_line_without_models_and_without_quickstart(tmp_path):
    done = run(
        [
            sys.executable,
            "-c",
            f"import os, sys; os.chdir({str(tmp_path)!r}); "
            f"sys.path.insert(0, {str(ROOT)!r}); from app.__main__ import main; "
            f"sys.exit(main([]))",
        ],
        timeout=120,
    )
    assert done.returncode == 2
    assert "no quickstart export at runs/colored_mnist/export" in done.stderr


def test_emoji_export_lists_its_examples_and_both_licences(tmp_path):
    from PIL import Image

    from enot.export import write_export
    from enot.training.networks import build_networks

    data = tmp_path / "data"
    for side, credit in (
        ("noto", "Noto Emoji by Google, Apache License 2.0"),
        ("twemoji", "Twemoji by Twitter, CC BY 4.0"),
    ):
        (data / side).mkdir(parents=True)
        (data / side / "LICENSE.md").write_text(f"# {credit}\n\nmore text\n")
        for i in range(40):
            Image.new("RGBA", (64, 64), (i * 6, 0, 0, 255)).save(data / side / f"{i:04x}.png")
    cfg = get_preset("emoji_32")
    cfg.t_net.base_channels, cfg.g_net.nfilter = 4, 4
    cfg.data.source, cfg.data.target = str(data / "noto"), str(data / "twemoji")
    T, g = build_networks(cfg)
    write_export(tmp_path / "models" / "emoji" / "export", T, g, None, cfg, step=1)
    entry = load_catalog(tmp_path / "models", data_roots=[data])["emoji/export"]
    test = build_domain("paired_folder", str(data / "noto"), 32, "test")
    assert len(entry.examples) == min(8, len(test)) > 0
    assert "Noto Emoji by Google, Apache License 2.0" in entry.examples_note
    card = (tmp_path / "models" / "emoji" / "export" / "README.md").read_text()
    assert "## Data" in card and "Apache License 2.0" in card and "CC BY 4.0" in card
