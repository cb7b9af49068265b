"""The Train tab in headless Chromium, against a real server and a real trainer: upload two zips
of real images, check them, start a short run, watch the progress and the curves change, Stop,
Resume, see it finish, then translate an image with the new export in the Translate tab.
Skipped, with the reason printed, when chromium or Playwright is missing."""

from __future__ import annotations

import re
import time

import pytest
from app_fixtures import make_export, rgb_array
from PIL import Image
from test_app_browser import _skip_reason, loopback_page
from test_app_train_helpers import TINY, image_zip, train_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    reason = _skip_reason()
    if reason:
        print(f"\nskipping the browser test: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    root = tmp_path_factory.mktemp("train_browser")
    make_export(root / "models" / "digits" / "export", image_size=32)
    args = ("--train-dir", str(root / "runs"))
    with train_server(root / "models", root, *args) as (url, _), sync_playwright() as pw:
        with loopback_page(pw, url) as (page, browser):
            yield page, root, browser, url


def _text(page, selector: str) -> str:
    return page.locator(selector).first.inner_text()


def _wait_text(page, selector: str, pattern: str, timeout: float = 120.0) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = _text(page, selector)
        if re.search(pattern, text):
            return text
        time.sleep(0.5)
    raise AssertionError(f"{selector} never matched {pattern!r}; last: {text!r}")


def _type_settings(page, steps: int, batch: int) -> str:
    """Type steps, batch and the extra flags, each shown in the command before the next is
    typed, as a person sees one change land before making another; the command shown last."""
    page.locator("#steps input").fill(str(steps))
    _wait_text(page, "#train-command", rf"--steps {steps}\b")
    page.locator("#batch input").fill(str(batch))
    _wait_text(page, "#train-command", rf"--batch-size {batch}\b")
    page.locator("#extra-flags textarea").fill(TINY)
    page.locator("#extra-flags textarea").press("Tab")
    return _wait_text(page, "#train-command", r"--t-base-channels 4")


def _step(text: str) -> int:
    return int(re.search(r"step ([\d,]+) of", text).group(1).replace(",", ""))


def test_train_from_two_zips_stop_resume_and_translate(page):
    page, root, browser, url = page
    zips = (
        image_zip(root / "squares.zip", "square"),
        image_zip(root / "discs.zip", "disc", seed=1),
    )
    page.get_by_role("tab", name="Train").click()
    page.get_by_label("two zips").check()
    page.locator("#zip-source input[type=file]").set_input_files(str(zips[0]))
    page.locator("#zip-target input[type=file]").set_input_files(str(zips[1]))
    _type_settings(page, steps=400, batch=8)
    command = _text(page, "#train-command")
    assert "scripts/train.py" in command and "--steps 400" in command, command

    page.click("#check-data")
    preview = _wait_text(page, "#data-preview", r"target")
    assert "30 images, 27 train / 3 test" in preview and "32 × 32" in preview, preview

    page.click("#train-start")
    _wait_text(page, "#train-said", r"started")
    # Live: the step moves and the curves picture is redrawn, without a reload.
    steps, curves = set(), set()
    deadline = time.monotonic() + 180
    while (len(steps) < 3 or len(curves) < 2) and time.monotonic() < deadline:
        status = _text(page, "#train-status")
        if "running" in status:
            steps.add(_step(status))
        img = page.locator("#train-curves img")
        if img.count():
            curves.add(img.first.get_attribute("src"))
        time.sleep(0.7)
    assert len(steps) >= 3 and len(curves) >= 2, (steps, curves)
    page.locator("#train-grid img").first.wait_for(timeout=60_000)
    shot = root / "train_tab.png"  # docs/train_tab.png is one of these
    page.locator("#train-tab").screenshot(path=str(shot))
    print(f"\nscreenshot of the Train tab: {shot}")

    # A second browser (and so a reload) finds the running job.
    other = browser.new_page(viewport={"width": 1400, "height": 1100})
    other.route("**/*", lambda r: r.continue_() if "127.0.0.1" in r.request.url else r.abort())
    other.goto(url)
    other.get_by_role("tab", name="Train").click()
    name_now = re.search(r"(\d{8}-\d{6}-colored_mnist-[0-9a-f]{6})", _text(page, "#train-status"))
    _wait_text(other, "#train-status", rf"{name_now.group(1)}: running; step", timeout=60)
    other.close()

    page.click("#train-stop")
    stopped = _wait_text(page, "#train-status", r": stopped;")
    assert 0 < _step(stopped) < 400
    page.click("#train-resume")
    _wait_text(page, "#train-said", r"resumed")
    finished = _wait_text(page, "#train-status", r": finished;", timeout=300)
    assert _step(finished) == 400
    name = re.search(r"\*?\*?(\d{8}-\d{6}-colored_mnist-[0-9a-f]{6})", finished).group(1)

    # The new export, in the Translate tab, translates an uploaded image.
    page.get_by_role("tab", name="Translate").click()
    page.locator("#translator input").click()
    page.get_by_role("option", name=f"runs/{name}/export").click()
    _wait_text(page, "#model-card", rf"{name}/export")
    assert "judged at the end of training" in _text(page, "#model-card")
    photo = root / "photo.png"
    Image.fromarray(rgb_array(60, 60, 4)).save(photo)
    page.locator("#input-image input[type=file]").set_input_files(str(photo))
    page.locator("#input-image img").first.wait_for(timeout=30_000)
    page.click("#translate-button")
    page.wait_for_function(
        "() => { const i = document.querySelector('#output-image img');"
        " return i && i.complete && i.naturalWidth === 32; }",
        timeout=60_000,
    )


def test_settings_typed_while_a_zip_uploads_are_shown(page):
    # The browser drops an event whose inputs are still uploading, so the command's preview
    # must read no upload: here the zip's upload is held at the network until the settings
    # typed meanwhile are shown, then let through.
    page, root, browser, url = page
    page.goto(url)
    held, upload = [], re.compile(r"/upload\b")

    def hold(route):
        held.append(route)

    page.route(upload, hold)
    page.get_by_role("tab", name="Train").click()
    page.get_by_label("two zips").check()
    page.locator("#zip-source input[type=file]").set_input_files(
        str(image_zip(root / "held.zip", "square", seed=2))
    )
    command = _type_settings(page, steps=300, batch=16)
    assert "--steps 300" in command and "--batch-size 16" in command, command
    assert held, "the zip's upload never reached the network"
    for route in held:
        route.continue_()
    page.unroute(upload, hold)
    _wait_text(page, "#zip-source", r"held\s*\.zip", timeout=60)  # the name may wrap
