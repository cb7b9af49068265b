"""The real demo server (`python -m app`) through gradio_client and plain HTTP: outputs, the
slider's end points, batch zip, bad uploads with the server still serving, what it refuses to
read, and 50 concurrent requests."""

import json
import statistics
import time
import urllib.error
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
from app_fixtures import bad_and_odd_files, make_export, rgb_array, running_demo, write_metrics
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from data import center_crop_resize, from_model, to_model
from enot.export import load_export

MODEL = "digits/export"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    models = root / "models"
    make_export(models / "digits" / "export", image_size=32)
    make_export(models / "bigger" / "export", image_size=64, seed=1)
    make_export(models / "on_gray" / "export", image_size=32, seed=2, background="#808080")
    write_metrics(models / "digits", fid=123.45, mse=0.0678)
    (root / "uploads").mkdir()
    with running_demo(models, root / "uploads") as url:
        yield {
            "url": url,
            "models": models,
            "root": root,
            "client": Client(url, verbose=False, download_files=str(root / "downloads")),
        }


@pytest.fixture(scope="module")
def inputs(demo):
    folder = demo["root"] / "inputs"
    folder.mkdir()
    Image.fromarray(rgb_array(50, 40, 7)).save(folder / "photo.png")
    return {"photo": folder / "photo.png", **bad_and_odd_files(folder)}


def pixels(path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB")).astype(int)


def expected_translation(models: Path, image: Path, name: str = MODEL) -> np.ndarray:
    """T(x) by the eager loaded export, not the demo's fast path."""
    tr = load_export(models / name)
    x = to_model(center_crop_resize(Image.open(image), tr.image_size)).unsqueeze(0)
    with torch.inference_mode():
        return from_model(tr.T(x))[0].permute(1, 2, 0).numpy().astype(int)


def translate(demo, path, t=1.0, name=MODEL):
    return demo["client"].predict(handle_file(str(path)), name, t, api_name="/translate")


def test_translation_has_model_size_and_matches_the_export(demo, inputs):
    x_path, tx_path, blend_path, note = translate(demo, inputs["photo"])
    x, tx = pixels(x_path), pixels(tx_path)
    assert x.shape == tx.shape == (32, 32, 3)
    assert 0 <= tx.min() and tx.max() <= 255 and tx.std() > 1  # a real image, not a constant
    expected_x = np.asarray(center_crop_resize(Image.open(inputs["photo"]), 32)).astype(int)
    assert np.array_equal(x, expected_x)
    assert np.abs(tx - expected_translation(demo["models"], inputs["photo"])).max() <= 1
    assert "center crop 40 x 40 at (5, 0)" in note and "32 x 32" in note


def test_slider_end_points_are_the_input_and_the_translation(demo, inputs):
    x0, tx0, blend0, _ = translate(demo, inputs["photo"], t=0.0)
    assert np.array_equal(pixels(blend0), pixels(x0))  # t = 0 returns the input
    small = demo["root"] / "inputs" / "exact32.png"  # already model-size: nothing resampled
    Image.fromarray(rgb_array(32, 32, 11)).save(small)
    assert np.array_equal(pixels(translate(demo, small, t=0.0)[2]), pixels(small))
    _, tx1, blend1, _ = translate(demo, inputs["photo"], t=1.0)
    assert np.array_equal(pixels(blend1), pixels(tx1))
    _, _, half, _ = translate(demo, inputs["photo"], t=0.5)
    mid = (pixels(x0) + pixels(tx1)) / 2
    assert np.abs(pixels(half) - mid).max() <= 1


def test_second_model_and_its_card(demo, inputs):
    assert pixels(translate(demo, inputs["photo"], name="bigger/export")[1]).shape == (64, 64, 3)
    card, examples = demo["client"].predict(MODEL, api_name="/model_card")
    assert "123.45" in card and "0.0678" in card and "32 × 32" in card
    assert len(examples) == 8
    card, _ = demo["client"].predict("bigger/export", api_name="/model_card")
    assert "64 × 64" in card and "not evaluated yet" in card
    with pytest.raises(AppError, match="unknown translator 'nope'; choose one of"):
        translate(demo, inputs["photo"], name="nope")


def test_batch_gives_a_gallery_and_a_zip(demo, inputs):
    paths = [inputs["photo"], inputs["rgba"], inputs["gray"]]
    gallery, zip_path = demo["client"].predict(
        [handle_file(str(p)) for p in paths], MODEL, api_name="/translate_batch"
    )
    assert [item["caption"] for item in gallery] == [p.name for p in paths]
    with zipfile.ZipFile(zip_path) as zf:
        assert zf.namelist() == ["photo_T.png", "rgba_T.png", "gray_T.png"]
        zf.extract("photo_T.png", demo["root"])
    single = pixels(translate(demo, inputs["photo"])[1])
    # One image in a batch of three against the same image alone: the CPU kernels may sum in
    # another order for another batch size (here T(x) differed by up to 6e-8, 8e-6 of a pixel
    # level, with AVX-512 and with AVX2), so a rounding to 8 bits may land one level apart.
    assert np.abs(pixels(demo["root"] / "photo_T.png") - single).max() <= 1


@pytest.mark.parametrize(
    "case, message",
    [
        ("not_an_image", "notes.txt is not an image"),
        ("truncated_jpeg", "truncated.jpg could not be decoded: it is truncated or corrupt"),
        ("empty", "is empty (0 bytes)"),
        ("bomb", "bomb.png declares 8000 x 8000"),
        ("huge_header", "huge_header.png declares too many pixels"),
    ],
)
def test_bad_upload_gets_a_clear_message_and_the_server_keeps_serving(demo, inputs, case, message):
    with pytest.raises(AppError, match=message.replace("(", r"\(").replace(")", r"\)")):
        translate(demo, inputs[case])
    assert pixels(translate(demo, inputs["photo"])[1]).shape == (32, 32, 3)


def test_bad_file_in_a_batch_is_named(demo, inputs):
    with pytest.raises(AppError, match="truncated.jpg could not be decoded"):
        demo["client"].predict(
            [handle_file(str(inputs["photo"])), handle_file(str(inputs["truncated_jpeg"]))],
            MODEL,
            api_name="/translate_batch",
        )


@pytest.mark.parametrize("case", ["png16", "rgba", "gray", "cmyk_jpeg"])
def test_odd_modes_just_work(demo, inputs, case):
    x, tx, _, _ = translate(demo, inputs[case])
    assert pixels(tx).shape == (32, 32, 3)
    assert np.abs(pixels(tx) - expected_translation(demo["models"], inputs[case])).max() <= 1


def _sse_call(url: str, endpoint: str, data: list) -> str:
    request = urllib.request.Request(
        f"{url}gradio_api/call/{endpoint}",
        data=json.dumps({"data": data}).encode(),
        headers={"Content-Type": "application/json"},
    )
    event = json.loads(urllib.request.urlopen(request, timeout=30).read())["event_id"]
    reply = urllib.request.urlopen(f"{url}gradio_api/call/{endpoint}/{event}", timeout=60)
    return reply.read().decode()


@pytest.mark.parametrize(
    "name, background", [(MODEL, (255, 255, 255)), ("on_gray/export", (128, 128, 128))]
)
def test_transparent_upload_equals_the_image_flattened_on_the_exports_background(
    demo, name, background
):
    folder = demo["root"] / f"alpha_{background[0]}"
    folder.mkdir()
    rgba = np.dstack([rgb_array(40, 40, 3), np.zeros((40, 40), np.uint8)])
    rgba[:, 20:, 3] = 255  # left half transparent over stored black, right half opaque
    rgba[:, :20, :3] = 0
    Image.fromarray(rgba, "RGBA").save(folder / "alpha.png")
    flat = Image.new("RGBA", (40, 40), (*background, 255))
    Image.alpha_composite(flat, Image.open(folder / "alpha.png")).convert("RGB").save(
        folder / "flat.png"
    )
    x_alpha, tx_alpha, _, note = translate(demo, folder / "alpha.png", name=name)
    x_flat, tx_flat, _, _ = translate(demo, folder / "flat.png", name=name)
    assert np.array_equal(pixels(x_alpha), pixels(x_flat))
    assert np.array_equal(pixels(tx_alpha), pixels(tx_flat))
    assert (pixels(x_alpha)[:, :8] == background).all()  # the background, not the stored black
    assert "transparency flattened on" in note


def test_files_outside_the_upload_folder_are_not_read(demo):
    secret = demo["models"] / "digits" / "export" / "T" / "config.json"
    for path in ("/etc/passwd", str(secret)):
        reply = _sse_call(
            demo["url"],
            "translate",
            [{"path": path, "meta": {"_type": "gradio.FileData"}}, MODEL, 1.0],
        )
        assert "event: error" in reply and "event: complete" not in reply
        assert "root:" not in reply and "UNet" not in reply


def test_model_folder_and_system_files_are_not_served(demo):
    secret = demo["models"] / "digits" / "export" / "T" / "config.json"
    for path in (secret, Path("/etc/passwd")):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"{demo['url']}gradio_api/file={path}", timeout=10)
        assert err.value.code in (403, 404)


def test_fifty_concurrent_requests_all_complete_correctly(demo):
    folder = demo["root"] / "load"
    folder.mkdir()
    for i in range(10):
        Image.fromarray(rgb_array(48, 40, 100 + i)).save(folder / f"{i}.png")
    # Five requests per image: identical outputs must not race for one cache file.
    images = [folder / f"{i % 10}.png" for i in range(50)]
    client = demo["client"]

    def one(path):
        start = time.perf_counter()
        x, tx, _, _ = client.predict(handle_file(str(path)), MODEL, 1.0, api_name="/translate")
        return time.perf_counter() - start, tx

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(one, images))
    for path, (_, tx) in zip(images, results):
        assert np.abs(pixels(tx) - expected_translation(demo["models"], path)).max() <= 1
    latency = sorted(seconds for seconds, _ in results)
    p50, p95 = statistics.median(latency), latency[int(0.95 * len(latency)) - 1]
    print(
        f"\n50 concurrent /translate requests: p50 {p50 * 1e3:.0f} ms, p95 {p95 * 1e3:.0f} ms, "
        f"max {latency[-1] * 1e3:.0f} ms"
    )
