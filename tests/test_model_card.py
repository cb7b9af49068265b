"""The export's model card, and loading an export by Hub repo id from an offline cache."""

from __future__ import annotations

import json
import shutil
import sys

from app_fixtures import make_export
from helpers import ROOT, run, subprocess_env
from huggingface_hub import ModelCard

from enot.evaluation.split_judge import SplitReport
from enot.export import load_export, record_test_split, update_card
from enot.export.card import SplitJudgement

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def test_every_export_carries_a_hub_model_card(tmp_path):
    export = make_export(tmp_path / "export")
    card = ModelCard.load(export / "README.md")
    assert card.data.library_name == "enot-i2i" and card.data.pipeline_tag == "image-to-image"
    assert {"image-to-image", "optimal-transport", "unpaired"} <= set(card.data.tags)
    assert card.data.datasets == ["ylecun/mnist"]  # colored MNIST is drawn from MNIST
    assert "load_export(" in card.text and "Not evaluated yet" in card.text


def test_an_evaluation_goes_into_the_card_with_its_protocol(tmp_path):
    export = make_export(tmp_path / "export")
    metrics = {
        "fid": 41.5,
        "kid": 0.012,
        "mse": 0.107,
        "identity_fid": 60.6,
        "split": "test",
        "images": 50,
        "fid_protocol": "clean",
        "judge": {"class_rate": 0.94},
    }
    update_card(load_export(export), metrics)
    card = ModelCard.load(export / "README.md")
    results = {r.metric_type: r for r in card.data.eval_results}
    assert results["fid"].metric_value == 41.5 and "clean protocol" in results["fid"].metric_name
    assert results["accuracy"].metric_value == 0.94 and results["mse"].metric_value == 0.107
    assert "| FID, clean protocol | 41.50 |" in card.text
    assert json.loads((export / "evaluation.json").read_text())["clean"]["fid"] == 41.5
    # A paper-protocol evaluation joins it rather than replacing it.
    update_card(load_export(export), {**metrics, "fid_protocol": "paper", "fid": 38.0})
    card = ModelCard.load(export / "README.md")
    fids = {r.metric_name: r.metric_value for r in card.data.eval_results if r.metric_type == "fid"}
    assert fids == {
        "FID (clean protocol, 50 images)": 41.5,
        "FID (paper protocol, 50 images)": 38.0,
    }


def test_the_training_runs_judgement_goes_into_both_cards(tmp_path):
    export = make_export(tmp_path / "export")
    report = SplitReport(
        images=50,
        mse=0.1,
        mse_random=0.5,
        ink_shift=0.05,
        ink_shift_random=0.4,
        class_rate=0.94,
        class_rate_ceiling=0.98,
        class_rate_identity=0.02,
        classifier="mnist classifier, target digit 3",
    )
    record_test_split(
        export,
        SplitJudgement(
            split="test",
            judge="enot.evaluation.split_judge.SplitJudge",
            images=report.images,
            lines=report.lines(),
            metrics=report.metrics(),
        ),
    )
    assert load_export(export).card.test_split.metrics["class_rate"] == 0.94
    card = ModelCard.load(export / "README.md")
    assert (
        "Judged at the end of training by `enot.evaluation.split_judge.SplitJudge` on the "
        "whole test split (50 source images)"
    ) in card.text
    assert "- target-class rate (mnist classifier, target digit 3): 94.0% of T(x)" in card.text
    assert "Not evaluated yet" not in card.text
    results = {r.metric_type: r for r in card.data.eval_results}
    assert results["accuracy"].metric_value == 0.94
    assert "test split" in results["accuracy"].dataset_name
    # A later scripts/evaluate.py run adds its table and keeps the run's judgement.
    update_card(
        load_export(export),
        {
            "fid": 41.5,
            "kid": 0.012,
            "mse": 0.107,
            "identity_fid": 60.6,
            "split": "test",
            "images": 50,
        },
    )
    card = ModelCard.load(export / "README.md")
    assert "| FID, clean protocol | 41.50 |" in card.text and "94.0% of T(x)" in card.text


def _cached_snapshot(hf_home, repo_id: str, export) -> None:
    """The layout huggingface_hub's cache uses: models--owner--name/{refs/main, snapshots/SHA}."""
    repo = hf_home / "hub" / ("models--" + repo_id.replace("/", "--"))
    shutil.copytree(export, repo / "snapshots" / COMMIT)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)


def test_a_hub_repo_id_loads_from_the_offline_cache(tmp_path):
    _cached_snapshot(tmp_path / "hf", "someone/tiny-enot", make_export(tmp_path / "export"))
    env = {**subprocess_env(), "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1"}
    code = (
        "from enot.export import load_export; "
        "tr = load_export('someone/tiny-enot'); print(tr.image_size, tr.path)"
    )
    res = run([sys.executable, "-c", code], env=env)
    assert res.returncode == 0, res.stderr
    size, path = res.stdout.split()
    assert size == "32" and path.endswith(f"snapshots/{COMMIT}")

    # The translate command takes the id too; a missing id is named, with the cache.
    (tmp_path / "in").mkdir()
    shutil.copy(ROOT / "docs" / "quickstart_grid.png", tmp_path / "in" / "a.png")
    translate = [
        sys.executable,
        "scripts/translate.py",
        "--input",
        str(tmp_path / "in"),
        "--output",
        str(tmp_path / "out"),
        "--quiet",
        "--model",
    ]
    res = run(translate + ["someone/tiny-enot"], env=env)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "out" / "a.png").is_file()
    res = run(translate + ["someone/missing"], env=env)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "someone/missing" in res.stderr and str(tmp_path / "hf") in res.stderr
