"""app.uploads.decode_upload on real files: bad uploads refused clearly, odd modes to RGB,
decompression bombs refused from the header without allocating their pixels."""

import subprocess
import sys

import numpy as np
import pytest
from app_fixtures import bad_and_odd_files
from helpers import ROOT
from PIL import Image

from app.uploads import MAX_PIXELS, UploadError, decode_upload, inside


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return bad_and_odd_files(tmp_path_factory.mktemp("uploads"))


@pytest.mark.parametrize(
    "case, message",
    [
        ("not_an_image", "is not an image"),
        ("empty", "is empty (0 bytes)"),
        ("truncated_jpeg", "truncated or corrupt"),
        ("huge_header", "refused without decoding"),
        ("bomb", "refused without decoding"),
    ],
)
def test_bad_uploads_are_refused_with_the_file_named(files, case, message):
    with pytest.raises(UploadError) as err:
        decode_upload(files[case])
    assert message in str(err.value)
    assert files[case].name in str(err.value)


def test_bomb_message_gives_the_declared_size_and_the_limit(files):
    with pytest.raises(UploadError, match=f"8000 x 8000 = 64,000,000 pixels.*{MAX_PIXELS:,}"):
        decode_upload(files["bomb"])


@pytest.mark.parametrize("case", ["png16", "rgba", "gray", "cmyk_jpeg"])
def test_odd_modes_become_8bit_rgb_or_keep_their_alpha(files, case):
    with Image.open(files[case]) as raw:
        size = raw.size
    img = decode_upload(files[case])
    # Transparency waits for the export's background (app.pipeline.preprocess).
    assert img.mode == ("RGBA" if case == "rgba" else "RGB") and img.size == size


def test_16bit_png_is_scaled_not_clipped(files):
    raw = np.asarray(Image.open(files["png16"])).astype(np.float64)
    assert raw.max() > 255  # really 16-bit content
    rgb = np.asarray(decode_upload(files["png16"]))
    np.testing.assert_array_equal(rgb[..., 0], np.rint(raw * 255 / 65535).astype(np.uint8))


def test_cmyk_jpeg_colours_survive(files):
    # CMYK (10, 200, 30, 5) is a magenta-ish colour: strong red and blue, weak green.
    r, g, b = np.asarray(decode_upload(files["cmyk_jpeg"])).reshape(-1, 3).mean(0)
    assert r > 150 and b > 150 and g < 100


def test_bytes_and_paths_decode_alike(files):
    a = decode_upload(files["rgba"])
    b = decode_upload(files["rgba"].read_bytes())
    assert np.array_equal(np.asarray(a), np.asarray(b))


def test_inside_resolves_symlinks(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside.txt"
    root.mkdir()
    outside.write_text("x")
    (root / "link.txt").symlink_to(outside)
    assert inside(root / "x.png", [root])
    assert not inside(root / "link.txt", [root])
    assert not inside(root / ".." / "outside.txt", [root])


PEAK = """
import sys
from PIL import Image
from app.uploads import UploadError, decode_upload

def peak_kib():
    # VmHWM is this process's own peak; ru_maxrss would carry the parent's over exec.
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])

before = peak_kib()
if sys.argv[2] == "plain":
    Image.open(sys.argv[1]).convert("RGB")
    print("decoded")
else:
    try:
        decode_upload(sys.argv[1])
        print("decoded")
    except UploadError:
        print("refused")
print((peak_kib() - before) // 1024)
"""


def _peak_growth_mb(path, how):
    done = subprocess.run(
        [sys.executable, "-c", PEAK, str(path), how],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    outcome, grown = done.stdout.split()
    return outcome, int(grown)


def test_bomb_is_refused_without_allocating(files):
    # Control: PIL alone decodes the 64-megapixel bomb (below its own 89 MP limit) and the
    # process peak grows by the pixels (64 MB gray + 192 MB RGB).
    outcome, grown = _peak_growth_mb(files["bomb"], "plain")
    assert outcome == "decoded" and grown > 60, grown
    outcome, grown = _peak_growth_mb(files["bomb"], "demo")
    assert outcome == "refused" and grown < 10, grown
