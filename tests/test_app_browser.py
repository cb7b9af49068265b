"""The demo in a real browser: headless Debian chromium driven by Playwright uploads an image,
runs the translation and sees the output image; a bad upload shows its message and the page
keeps working. Skipped, with the reason printed, when chromium or Playwright is missing
(.ci/run installs both)."""

import shutil
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import pytest
from app_fixtures import bad_and_odd_files, make_export, rgb_array, running_demo
from PIL import Image

CHROMIUM = Path("/usr/bin/chromium")


def _skip_reason() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install playwright)"
    if not CHROMIUM.is_file() and shutil.which("chromium") is None:
        return f"no chromium at {CHROMIUM} (apt-get install -y chromium)"
    return None


@contextmanager
def loopback_page(pw, url: str):
    """Headless chromium on the demo at ``url``, every request to another host refused (the
    test machine has no network: fail fast, and say which were tried); yields (page, browser)
    once the Translate button is there."""
    browser = pw.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=["--no-sandbox", "--disable-dev-shm-usage"],
    )
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    blocked = []

    def loopback_only(route):
        if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", loopback_only)
    page.goto(url)
    page.wait_for_selector("#translate-button", timeout=60_000)
    try:
        yield page, browser
    finally:
        if blocked:
            print(f"\nbrowser requests to other hosts were blocked: {sorted(set(blocked))}")
        browser.close()


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    reason = _skip_reason()
    if reason:
        print(f"\nskipping the browser test: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    root = tmp_path_factory.mktemp("browser")
    make_export(root / "models" / "digits" / "export", image_size=32)
    (root / "uploads").mkdir()
    with running_demo(root / "models", root / "uploads") as url, sync_playwright() as pw:
        with loopback_page(pw, url) as (page, _):
            yield page, root


def _upload_and_translate(page, path: Path) -> None:
    clear = page.locator("#input-image button[aria-label='Clear']")
    if clear.count():
        clear.first.click()
    page.locator("#input-image input[type=file]").set_input_files(str(path))
    page.locator("#input-image img").first.wait_for(timeout=30_000)
    page.click("#translate-button")


def test_upload_translate_and_see_the_output(page):
    page, root = page
    photo = root / "photo.png"
    Image.fromarray(rgb_array(120, 90, 5)).save(photo)
    _upload_and_translate(page, photo)
    output = page.locator("#output-image img")
    output.wait_for(timeout=60_000)
    page.wait_for_function(
        "() => { const i = document.querySelector('#output-image img');"
        " return i && i.complete && i.naturalWidth > 0; }",
        timeout=60_000,
    )
    size = output.evaluate("i => [i.naturalWidth, i.naturalHeight]")
    assert size == [32, 32]
    # Shown enlarged to fill its box (object-fit: contain), at a readable size.
    fit = output.evaluate("i => getComputedStyle(i).objectFit")
    box = output.bounding_box()
    assert fit == "contain" and min(box["width"], box["height"]) >= 128, (fit, box)
    assert "center crop 90 x 90" in page.locator("#preprocessing").inner_text()
    shot = root / "demo_screenshot.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"\nscreenshot: {shot}")
    assert shot.stat().st_size > 10_000


def test_bad_upload_shows_a_message_and_the_page_keeps_working(page):
    page, root = page
    files = bad_and_odd_files(root / "odd")
    _upload_and_translate(page, files["truncated_jpeg"])
    message = page.get_by_text("truncated.jpg could not be decoded")
    message.first.wait_for(timeout=60_000)
    page.screenshot(path=str(root / "demo_error.png"))  # the toast is fixed to the viewport
    print(f"\nscreenshot of the error: {root / 'demo_error.png'}")
    _upload_and_translate(page, files["cmyk_jpeg"])
    page.wait_for_function(
        "() => { const p = document.querySelector('#preprocessing');"
        " return p && p.innerText.includes('input 48 x 40'); }",
        timeout=60_000,
    )
