"""ONNX export (`scripts/export.py`, console script `enot-export`) and the onnx backend of
translate and the demo, on real files, a real onnxruntime session and a real Gradio server."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import onnx
import pytest
import torch
from app_fixtures import make_export, randomise_batchnorm, rgb_array, running_demo
from gradio_client import Client, handle_file
from helpers import ROOT, run
from PIL import Image

from app.onnx_export import OPSET, TOLERANCE, OnnxExportError, export_onnx
from app.onnx_map import OnnxLoadError, OnnxMap
from data.normalization import center_crop_resize, from_model, load_image, to_model
from enot.config import get_preset
from enot.export import load_export, write_export
from enot.export.card import CARD_FILE, ExportCard
from enot.training.networks import build_networks
from models.io import WEIGHTS_NAME

EXPORT = str(ROOT / "scripts" / "export.py")
TRANSLATE = str(ROOT / "scripts" / "translate.py")


def _ema_export(folder):
    """An export whose EMA differs from T, both with randomised BatchNorm statistics."""
    cfg = get_preset("colored_mnist")
    cfg.t_net.base_channels, cfg.g_net.nfilter = 4, 4
    cfg.data.background = "#808080"
    torch.manual_seed(0)
    T, g = build_networks(cfg)
    T_ema, _ = build_networks(cfg)
    randomise_batchnorm(T)
    randomise_batchnorm(T_ema)
    return write_export(folder, T, g, T_ema, cfg, step=5)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("onnx")
    export = _ema_export(root / "models" / "digits" / "export")
    res = run([sys.executable, EXPORT, str(export), "--format", "onnx"])
    assert res.returncode == 0, res.stderr[-3000:]
    inputs = root / "inputs"
    inputs.mkdir()
    Image.fromarray(rgb_array(50, 40, 1)).save(inputs / "photo.png")
    rgba = np.dstack([rgb_array(40, 40, 2), np.full((40, 40), 100, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(inputs / "clear.png")
    Image.fromarray(rgb_array(32, 32, 3)).save(inputs / "square.png")
    return {"root": root, "export": export, "stdout": res.stdout, "inputs": inputs}


def _eager(T, images: torch.Tensor) -> np.ndarray:
    with torch.inference_mode():
        return T.eval()(images).numpy()


def test_the_exported_file_is_the_ema_map_with_its_parity_in_the_card(exported):
    export = exported["export"]
    assert not list(export.glob(".*partial"))
    record = ExportCard.read(export).onnx
    assert record.weights == "T_ema" and record.opset == OPSET and record.file == "T.onnx"
    assert record.parity["tolerance"] == TOLERANCE and record.parity["images"] == 50
    assert record.parity["max_abs_diff"] <= TOLERANCE
    assert "the first 50 images of the colored_mnist 2 test split" == record.parity["inputs"]
    assert (
        f"parity: max |onnxruntime - PyTorch| = {record.parity['max_abs_diff']:.2e}"
        in exported["stdout"]
    )
    assert record.preprocessing["size"] == 32 and record.preprocessing["background"] == "#808080"
    assert record.bytes == (export / "T.onnx").stat().st_size

    model = onnx.load(str(export / "T.onnx"))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param and [d.dim_value for d in dims[1:]] == [3, 32, 32]
    assert {o.domain: o.version for o in model.opset_import}[""] == OPSET
    assert not [n for n in model.graph.node if n.op_type == "BatchNormalization"]  # folded
    meta = {p.key: p.value for p in model.metadata_props}
    assert json.loads(meta["enot.preprocessing"]) == record.preprocessing

    # Any batch size; the EMA map's outputs, not T's.
    ema, plain = load_export(export), load_export(export, use_ema=False)
    x = torch.rand(3, 3, 32, 32) * 2 - 1
    got = OnnxMap(ema)(x).numpy()
    assert np.abs(got - _eager(ema.T, x)).max() <= TOLERANCE
    assert np.abs(got - _eager(plain.T, x)).max() > 100 * TOLERANCE

    text = (export / "README.md").read_text()
    assert "## ONNX" in text and f"{record.parity['max_abs_diff']:.2e}" in text


def test_the_model_cards_five_line_snippet_runs(exported):
    export, square = exported["export"], exported["inputs"] / "square.png"
    text = (export / "README.md").read_text()
    snippet = text.split("## ONNX")[1].split("```python\n")[1].split("```")[0]
    assert len(snippet.strip().splitlines()) == 5
    shutil.copy(square, export / "in.png")
    try:
        code = snippet + "\nnp.save('tx.npy', tx)\n"
        res = subprocess.run(
            [sys.executable, "-c", code], cwd=export, capture_output=True, text=True, timeout=300
        )
        assert res.returncode == 0, res.stderr
        tx = np.load(export / "tx.npy")
    finally:
        (export / "in.png").unlink()
        (export / "tx.npy").unlink(missing_ok=True)
    ema = load_export(export)
    want = _eager(ema.T, to_model(center_crop_resize(Image.open(square), 32))[None])
    assert tx.shape == (1, 3, 32, 32) and np.abs(tx - want).max() <= TOLERANCE


def _translate(exported, backend: str, *extra: str):
    out = exported["root"] / f"out_{backend}{''.join(extra)}"
    res = run(
        [
            sys.executable,
            TRANSLATE,
            "--model",
            str(exported["export"]),
            "--input",
            str(exported["inputs"]),
            "--output",
            str(out),
            "--backend",
            backend,
            "--quiet",
            *extra,
        ]
    )
    return res, out


def test_translate_gives_the_same_images_with_either_backend(exported):
    (res_t, out_t), (res_o, out_o) = _translate(exported, "torch"), _translate(exported, "onnx")
    assert res_t.returncode == res_o.returncode == 0, res_o.stderr
    names = sorted(p.name for p in out_o.glob("*.png"))
    assert (
        names
        == sorted(p.name for p in out_t.glob("*.png"))
        == ["clear.png", "photo.png", "square.png"]
    )
    ema = load_export(exported["export"])
    for name in names:
        onnx_px = np.asarray(Image.open(out_o / name)).astype(int)
        torch_px = np.asarray(Image.open(out_t / name)).astype(int)
        # Within the parity tolerance: at most one uint8 rounding apart.
        assert np.abs(onnx_px - torch_px).max() <= 1
        x = load_image(exported["inputs"] / name, 32, background=(128, 128, 128))
        want = from_model(torch.from_numpy(_eager(ema.T, x[None])))[0].permute(1, 2, 0)
        assert np.abs(onnx_px - want.numpy().astype(int)).max() <= 1


def test_the_demo_serves_the_onnx_file_and_skips_exports_without_one(exported):
    models = exported["root"] / "models"
    make_export(models / "plain" / "export")  # no T.onnx: skipped, with the reason
    uploads = exported["root"] / "uploads"
    uploads.mkdir()
    with running_demo(models, uploads, args=("--backend", "onnx")) as url:
        client = Client(url, verbose=False, download_files=str(exported["root"] / "dl"))
        photo = exported["inputs"] / "photo.png"
        _, tx_path, _, _ = client.predict(
            handle_file(str(photo)), "digits/export", 1.0, api_name="/translate"
        )
        card, _ = client.predict("digits/export", api_name="/model_card")
        with pytest.raises(Exception, match="unknown translator 'plain/export'"):
            client.predict(handle_file(str(photo)), "plain/export", 1.0, api_name="/translate")
    log = next(exported["root"].glob("demo_*.log")).read_text()
    assert "skipping" in log and "plain/export: there is no T.onnx" in log
    assert "with the onnx backend: digits/export" in log
    assert "run by onnxruntime (T.onnx)" in card
    ema = load_export(exported["export"])
    x = to_model(center_crop_resize(Image.open(photo), 32, (128, 128, 128)))[None]
    want = from_model(torch.from_numpy(_eager(ema.T, x)))[0].permute(1, 2, 0).numpy()
    assert (
        np.abs(np.asarray(Image.open(tx_path).convert("RGB")).astype(int) - want.astype(int)).max()
        <= 1
    )


# Bad input: a clear message and no T.onnx (nor a partial one) left behind.


@pytest.fixture
def fresh(tmp_path):
    return make_export(tmp_path / "export")


def _nothing_written(folder) -> None:
    assert not (folder / "T.onnx").exists() and not list(folder.glob(".*partial"))


def test_an_export_without_weights_is_refused(fresh):
    (fresh / "T" / WEIGHTS_NAME).unlink()
    with pytest.raises(OnnxExportError, match=rf"has no weights \({WEIGHTS_NAME} is missing\)"):
        export_onnx(fresh)
    _nothing_written(fresh)


def test_a_map_that_is_not_a_unet_is_refused(fresh):
    shutil.rmtree(fresh / "T")
    shutil.copytree(fresh / "g", fresh / "T")  # the potential: a ResNetD
    with pytest.raises(
        OnnxExportError,
        match="holds a ResNetD: enot-export writes ONNX for the map T of an ENOT export, a UNet",
    ):
        export_onnx(fresh)
    _nothing_written(fresh)


def test_a_missing_onnxruntime_is_named_with_the_install_line(fresh):
    # The command as a user runs it, in a Python where onnxruntime cannot be imported.
    code = (
        "import sys; sys.modules['onnxruntime'] = None; "
        "from app.onnx_export import main; sys.exit(main(sys.argv[1:]))"
    )
    res = run([sys.executable, "-c", code, str(fresh), "--format", "onnx"])
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert (
        "error: onnxruntime is not installed: ONNX export and the onnx backend need them; "
        'install the onnx extra: pip install -e ".[onnx]"'
    ) in res.stderr
    _nothing_written(fresh)


def test_outputs_beyond_the_tolerance_are_refused_and_the_old_file_kept(exported, tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(exported["export"], folder)
    before, card = (folder / "T.onnx").read_bytes(), (folder / CARD_FILE).read_text()
    with pytest.raises(
        OnnxExportError, match="more than the tolerance 1e-12: T.onnx was not written"
    ):
        export_onnx(folder, tolerance=1e-12, parity_images=4)
    assert (folder / "T.onnx").read_bytes() == before and (folder / CARD_FILE).read_text() == card
    assert not list(folder.glob(".*partial"))


def test_an_onnx_file_that_does_not_match_its_card_is_refused(exported, tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(exported["export"], folder)
    assert OnnxMap(load_export(folder))  # the copy loads as it is

    with pytest.raises(OnnxLoadError, match="holds T_ema but T was asked for"):
        OnnxMap(load_export(folder, use_ema=False))
    model = onnx.load(str(folder / "T.onnx"))  # a valid ONNX file, changed after export
    model.metadata_props.add(key="edited", value="yes")
    onnx.save(model, str(folder / "T.onnx"))
    with pytest.raises(OnnxLoadError, match="is not the file its export card records"):
        OnnxMap(load_export(folder))
    shutil.copy(exported["export"] / "T.onnx", folder / "T.onnx")
    shutil.copy(folder / "T" / WEIGHTS_NAME, folder / "T_ema" / WEIGHTS_NAME)  # retrained
    with pytest.raises(OnnxLoadError, match="was made from other weights than"):
        OnnxMap(load_export(folder))

    # The translate command says so too, and writes nothing.
    res = run(
        [
            sys.executable,
            TRANSLATE,
            "--model",
            str(folder),
            "--input",
            str(exported["inputs"]),
            "--output",
            str(tmp_path / "out"),
            "--backend",
            "onnx",
        ]
    )
    assert res.returncode == 2 and "was made from other weights" in res.stderr
    assert not (tmp_path / "out").exists()
    fresh = make_export(tmp_path / "fresh")
    with pytest.raises(OnnxLoadError, match="there is no T.onnx; write it with `enot-export"):
        OnnxMap(load_export(fresh))
