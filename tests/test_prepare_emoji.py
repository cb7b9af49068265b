"""`python scripts/prepare_data.py emoji` on tiny npm packages in the real layout.

The packages are folders packed by the real ``npm pack <folder>``, which runs offline; their
integrity is computed here and pinned in the packages handed to the command, so nothing is
fetched. Each failure must name its fix and leave no split.json, no domain folder under its
final name and no partial tarball in the cache.
"""

from __future__ import annotations

import io
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tarfile
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest
from helpers import ROOT, run, subprocess_env
from PIL import Image

from data import CorruptImageError, DatasetError
from data.split import in_test_by_name
from dataset_tools.emoji import (
    DigestMismatchError,
    EmojiPackage,
    default_cache_dir,
    prepare_emoji,
    sri_sha512,
)

sys.path.insert(0, str(ROOT / "scripts"))
import prepare_data  # noqa: E402

SCRIPT = str(ROOT / "scripts" / "prepare_data.py")
SHARED = [f"1f{i:03x}" for i in range(100)] + ["1f468-200d-1f469"]
EXTRA = {"google": ["1faaa"], "twitter": ["1fbbb", "1fbbc"]}  # each set lacks the other's
OPAQUE = {"google": (200, 30, 40), "twitter": (20, 180, 60)}
HALF = (0, 0, 255, 128)  # half-transparent blue at pixel (x=0, y=63)
# Runs prepare_data.main with the packages given as JSON: the CLI, with test packages pinned.
DRIVER = """
import json, runpy, sys
from dataset_tools.emoji import EmojiPackage
main = runpy.run_path(sys.argv[1], run_name="prepare_data")["main"]
packages = tuple(EmojiPackage(**p) for p in json.loads(sys.argv[2]))
sys.exit(main(sys.argv[3:], packages=packages))
"""


def _emoji_image(style: str) -> Image.Image:
    """Left half transparent with black stored under it, right half opaque, a noise patch."""
    px = np.zeros((64, 64, 4), np.uint8)  # transparent, stored colour black
    px[:, 32:] = (*OPAQUE[style], 255)
    px[40:56, 40:56, :3] = np.random.default_rng(0).integers(0, 256, (16, 16, 3))
    px[63, 0] = HALF
    return Image.fromarray(px, "RGBA")


def _write_package(folder: Path, style: str, names: list[str]) -> None:
    images = folder / "img" / style / "64"
    images.mkdir(parents=True)
    (folder / "package.json").write_text(
        json.dumps({"name": f"test-emoji-{style}", "version": "1.0.0", "license": "MIT"})
    )
    (folder / "LICENSE").write_text(f"MIT licence text of test-emoji-{style}\n")
    (folder / "README.md").write_text(
        f"# test\n\n* {style.title()} test images are available under the Test Licence 9.\n"
    )
    for name in names:
        _emoji_image(style).save(images / f"{name}.png")


def _npm_pack(folder: Path, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        ["npm", "pack", str(folder), "--pack-destination", str(dest), "--offline"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    (tarball,) = dest.glob("*.tgz")
    return tarball


@pytest.fixture(scope="module")
def packs(tmp_path_factory):
    """Two package folders, their tarballs as npm packs them, and packages pinning them."""
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed")
    root = tmp_path_factory.mktemp("packs")
    packages, tarballs = [], {}
    for style, domain in (("google", "noto"), ("twitter", "twemoji")):
        folder = root / style
        _write_package(folder, style, SHARED + EXTRA[style])
        tarball = _npm_pack(folder, root / "reference" / style)
        pkg = EmojiPackage(
            name=f"test-emoji-{style}",
            version="1.0.0",
            integrity=sri_sha512(tarball),
            image_folder=f"package/img/{style}/64",
            domain=domain,
            license="Test Licence 9",
            attribution=f"{style} test set, Test Licence 9",
            readme_marker="test images",
            spec=str(folder),
        )
        assert tarball.name == pkg.tarball_name
        packages.append(pkg)
        tarballs[domain] = tarball
    return tuple(packages), tarballs


@pytest.fixture(scope="module")
def built(packs, tmp_path_factory):
    """The dataset built once with an empty cache (npm packs both folders, offline)."""
    packages, _ = packs
    root = tmp_path_factory.mktemp("built")
    logs: list[str] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("npm_config_offline", "true")
        prepare_emoji(root / "emoji", root / "cache", packages=packages, log=logs.append)
    return root / "emoji", root / "cache", logs


def _stems(folder: Path) -> set[str]:
    return {p.stem for p in folder.glob("*.png")}


def _no_npm_env(tmp_path: Path) -> dict:
    """The environment with a PATH holding python alone: no npm, wherever npm is installed."""
    bin_dir = tmp_path / "python-only-bin"
    bin_dir.mkdir(exist_ok=True)
    if not (bin_dir / "python").exists():
        os.symlink(sys.executable, bin_dir / "python")
    return {**subprocess_env(), "PATH": str(bin_dir), "npm_config_offline": "true"}


def _driver(packages, *args: str, env: dict, **kw) -> subprocess.CompletedProcess:
    spec = json.dumps([asdict(p) for p in packages])
    return subprocess.run(
        [sys.executable, "-c", DRIVER, SCRIPT, spec, "emoji", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=env,
        **kw,
    )


def _assert_nothing_final(out: Path, domains=("noto", "twemoji")) -> None:
    assert not (out / "split.json").exists()
    for domain in domains:
        assert not (out / domain).exists()
        assert not (out / f".{domain}.partial").exists()


def _seeded_cache(packs, dest: Path) -> Path:
    _, tarballs = packs
    dest.mkdir(parents=True)
    for t in tarballs.values():
        shutil.copy(t, dest / t.name)
    return dest


def test_same_names_in_both_domains_split_by_hash(built):
    out, _, logs = built
    split = json.loads((out / "split.json").read_text())
    want_test = sorted(n for n in SHARED if in_test_by_name(n))
    assert split["test"] == want_test and split["train"] == sorted(set(SHARED) - set(want_test))
    assert 3 <= len(want_test) <= 25  # about one name in ten
    assert split["background"] == [255, 255, 255]
    assert set(split["packages"]) == {"noto", "twemoji"}
    for domain in ("noto", "twemoji"):
        assert _stems(out / domain) == set(SHARED)  # the intersection, on disk
    assert not set(split["test"]) & set(split["train"])
    assert any("noto: dropped 1 of 102" in line for line in logs)
    assert any("twemoji: dropped 2 of 103" in line for line in logs)


def test_transparent_pixels_show_the_background_opaque_ones_keep_their_colour(built):
    out, _, _ = built
    for domain, style in (("noto", "google"), ("twemoji", "twitter")):
        with Image.open(out / domain / "1f468-200d-1f469.png") as img:
            assert img.mode == "RGB"
            assert img.getpixel((0, 0)) == (255, 255, 255)  # not the black stored under it
            assert img.getpixel((60, 5)) == OPAQUE[style]
            assert img.getpixel((0, 63)) == pytest.approx((127, 127, 255), abs=1)


def test_licence_files_name_the_licence_and_the_package(built, packs):
    out, _, _ = built
    for p in packs[0]:
        text = (out / p.domain / "LICENSE.md").read_text()
        assert text.splitlines()[0] == f"# {p.attribution}"
        assert "Test Licence 9" in text and p.integrity in text and p.name in text
        assert "test images are available under the Test Licence 9" in text  # from README
        assert f"MIT licence text of {p.name}" in text  # the package's LICENSE, appended


def test_cli_black_background_from_the_cache_without_npm(packs, tmp_path):
    cache = _seeded_cache(packs, tmp_path / "cache")
    out = tmp_path / "emoji"
    proc = _driver(
        packs[0],
        "--out",
        str(out),
        "--cache",
        str(cache),
        "--background",
        "black",
        env=_no_npm_env(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr
    n_test = sum(in_test_by_name(n) for n in SHARED)
    assert f"{len(SHARED) - n_test:,} train + {n_test:,} test" in proc.stdout
    assert "python scripts/train.py --preset emoji_32" in proc.stdout
    assert "reusing verified" in proc.stdout
    with Image.open(out / "noto" / "1f000.png") as img:
        assert img.getpixel((0, 0)) == (0, 0, 0)
        assert img.getpixel((60, 5)) == OPAQUE["google"]
    assert json.loads((out / "split.json").read_text())["background"] == [0, 0, 0]


def test_rerun_reuses_cache_and_finished_domains(packs, built, tmp_path, monkeypatch):
    src, cache_src, _ = built
    out, cache = tmp_path / "emoji", tmp_path / "cache"
    shutil.copytree(src, out)
    shutil.copytree(cache_src, cache)
    packages = tuple(replace(p, spec=str(tmp_path / "gone")) for p in packs[0])
    monkeypatch.setenv("PATH", str(tmp_path / "no-npm-here"))
    # A run that failed after noto: no split.json, no twemoji.
    (out / "split.json").unlink()
    shutil.rmtree(out / "twemoji")
    kept = (out / "noto" / "1f000.png").stat().st_mtime_ns
    logs: list[str] = []
    prepare_emoji(out, cache, packages=packages, log=logs.append)
    assert any("noto: reusing the finished folder" in line for line in logs)
    assert (out / "noto" / "1f000.png").stat().st_mtime_ns == kept
    assert _stems(out / "twemoji") == set(SHARED)
    assert (out / "split.json").read_text() == (src / "split.json").read_text()
    # Everything present and matching: nothing to do.
    logs.clear()
    prepare_emoji(out, cache, packages=packages, log=logs.append)
    assert logs == [
        f"{out} is already complete (same packages, background [255, 255, 255]); nothing to do"
    ]
    # Another background rebuilds both domains, still without npm.
    prepare_emoji(out, cache, background=(0, 0, 0), packages=packages, log=logs.append)
    with Image.open(out / "twemoji" / "1f000.png") as img:
        assert img.getpixel((0, 0)) == (0, 0, 0)
    assert json.loads((out / "noto" / ".complete.json").read_text())["background"] == [0, 0, 0]


def test_npm_missing_says_how_to_install_it(tmp_path):
    out, cache = tmp_path / "emoji", tmp_path / "cache"
    proc = run(
        [sys.executable, SCRIPT, "emoji", "--out", str(out), "--cache", str(cache)],
        timeout=300,
        env=_no_npm_env(tmp_path),
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: npm is not installed")
    assert "apt-get install npm" in proc.stderr and "https://nodejs.org" in proc.stderr
    assert str(cache / "emoji-datasource-google-16.0.0.tgz") in proc.stderr
    _assert_nothing_final(out)
    assert not cache.exists()


def test_npm_pack_failure_shows_stderr_and_the_path_to_fill(packs, tmp_path):
    packages = (replace(packs[0][0], spec=str(tmp_path / "no-such-package")), packs[0][1])
    out, cache = tmp_path / "emoji", tmp_path / "cache"
    env = {**subprocess_env(), "npm_config_offline": "true"}
    proc = _driver(packages, "--out", str(out), "--cache", str(cache), env=env)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: `npm pack ")
    assert "failed (exit status" in proc.stderr and "package.json" in proc.stderr  # npm's words
    assert "registry must be reachable" in proc.stderr
    assert f"place it by hand at {cache / packages[0].tarball_name}" in proc.stderr
    _assert_nothing_final(out)
    assert list(cache.iterdir()) == []


def test_digest_mismatch_names_both_digests_and_deletes_the_download(packs, tmp_path, monkeypatch):
    monkeypatch.setenv("npm_config_offline", "true")
    good = packs[0][0]
    bad = replace(good, integrity=packs[0][1].integrity)
    out, cache = tmp_path / "emoji", tmp_path / "cache"
    with pytest.raises(DigestMismatchError) as info:
        prepare_emoji(out, cache, packages=(bad, packs[0][1]), log=lambda _: None)
    message = str(info.value)
    assert good.tarball_name in message
    assert f"has digest {good.integrity}, not the pinned {bad.integrity}" in message
    assert "deleted it" in message
    _assert_nothing_final(out)
    assert list(cache.iterdir()) == []


def test_a_cached_tarball_with_other_bytes_is_fetched_again(packs, tmp_path, monkeypatch):
    monkeypatch.setenv("npm_config_offline", "true")
    cache = _seeded_cache(packs, tmp_path / "cache")
    first = cache / packs[0][0].tarball_name
    first.write_bytes(b"truncated")
    logs: list[str] = []
    prepare_emoji(tmp_path / "emoji", cache, packages=packs[0], log=logs.append)
    assert any("does not match its pinned digest; fetching it again" in line for line in logs)
    assert sri_sha512(first) == packs[0][0].integrity


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (128, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))


def test_disk_full_says_how_much_space_and_cleans_up(packs, tmp_path):
    cache = _seeded_cache(packs, tmp_path / "cache")
    before = sorted(p.name for p in cache.iterdir())
    out = tmp_path / "emoji"
    proc = _driver(
        packs[0],
        "--out",
        str(out),
        "--cache",
        str(cache),
        env=_no_npm_env(tmp_path),
        preexec_fn=_limit_file_size,
    )
    assert proc.returncode == 2, proc.stderr
    error = proc.stderr[proc.stderr.index("\nerror: ") + 1 :]  # after the progress bar
    assert error.startswith("error: the disk is full")
    assert f"writing {out / '.noto.partial'}" in error
    assert "60 MB" in error and "140 MB" in error
    _assert_nothing_final(out)
    assert sorted(p.name for p in cache.iterdir()) == before


def _hand_made_tarball(cache: Path, pkg: EmojiPackage, members: dict[str, bytes]) -> EmojiPackage:
    """A tarball written with tarfile in the npm layout, placed in the cache, and pinned."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / pkg.tarball_name
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return replace(pkg, integrity=sri_sha512(path), spec=None)


def _png_bytes(style: str) -> bytes:
    buf = io.BytesIO()
    _emoji_image(style).save(buf, format="PNG")
    return buf.getvalue()


def test_a_corrupt_png_is_named(packs, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "no-npm-here"))
    cache, (noto, twemoji) = tmp_path / "cache", packs[0]
    prefix = "package/img/google/64"
    noto = _hand_made_tarball(
        cache,
        noto,
        {f"{prefix}/1f000.png": _png_bytes("google"), f"{prefix}/1f001.png": b"\x89PNG not really"},
    )
    twemoji = _hand_made_tarball(
        cache,
        twemoji,
        {f"package/img/twitter/64/{n}.png": _png_bytes("twitter") for n in ("1f000", "1f001")},
    )
    out = tmp_path / "emoji"
    with pytest.raises(
        CorruptImageError, match=re.escape(f"cannot decode member {prefix}/1f001.png of {cache}")
    ):
        prepare_emoji(out, cache, packages=(noto, twemoji), log=lambda _: None)
    _assert_nothing_final(out)


def test_a_member_with_an_unsafe_path_is_refused(packs, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "no-npm-here"))
    cache, (noto, twemoji) = tmp_path / "cache", packs[0]
    noto = _hand_made_tarball(
        cache,
        noto,
        {
            "package/img/google/64/1f000.png": _png_bytes("google"),
            "package/img/google/64/../../../../evil.png": _png_bytes("google"),
        },
    )
    twemoji = _hand_made_tarball(
        cache, twemoji, {"package/img/twitter/64/1f000.png": _png_bytes("twitter")}
    )
    out = tmp_path / "emoji"
    with pytest.raises(DatasetError, match="unsafe path"):
        prepare_emoji(out, cache, packages=(noto, twemoji), log=lambda _: None)
    _assert_nothing_final(out)
    assert not (tmp_path / "evil.png").exists()


def test_a_bad_background_is_a_cli_error(tmp_path, capsys):
    assert prepare_data.main(["emoji", "--out", str(tmp_path), "--background", "grey"]) == 2
    assert "error: background 'grey' is not a colour" in capsys.readouterr().err


def test_default_cache_follows_the_project_cache_root(monkeypatch, tmp_path):
    monkeypatch.setenv("ENOT_CACHE_DIR", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c" / "npm"
    monkeypatch.delenv("ENOT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert default_cache_dir() == tmp_path / "x" / "enot" / "npm"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    assert default_cache_dir() == tmp_path / "h" / ".cache" / "enot" / "npm"
