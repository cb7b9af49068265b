"""Builders the Train tab's tests share (no tests here): zips of real PNG images, good and bad;
a demo server with training allowed, that a test may kill; polling the run's state."""

from __future__ import annotations

import json
import os
import signal
import tempfile
import time
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from app_fixtures import demo_process
from PIL import Image, ImageDraw

# Tiny networks, a log line and a checkpoint often, no judge during training: a run of a few
# hundred steps takes about half a minute on 2 CPU cores.
TINY = "--t-base-channels 4 --g-nfilter 4 --log-every 1 --sample-every 20 --eval-every 0"


def shapes(folder: Path, kind: str, n: int = 30, seed: int = 0) -> list[Path]:
    """``n`` 40 x 40 PNGs: a coloured square (kind "square") or disc on a coloured ground."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        img = Image.new("RGB", (40, 40), tuple(int(v) for v in rng.integers(0, 256, 3)))
        x, y = (int(v) for v in rng.integers(4, 20, 2))
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        draw = ImageDraw.Draw(img)
        (draw.rectangle if kind == "square" else draw.ellipse)([x, y, x + 16, y + 16], fill=fill)
        paths.append(folder / f"{kind}_{i:03d}.png")
        img.save(paths[-1])
    return paths


def image_zip(path: Path, kind: str, n: int = 30, seed: int = 0) -> Path:
    """A zip of real PNGs in a subfolder, with a hidden macOS file that must be skipped."""
    images = shapes(path.parent / f"{path.stem}_images", kind, n, seed)
    with zipfile.ZipFile(path, "w") as zf:
        for p in images:
            zf.write(p, f"{kind}s/{p.name}")
        zf.writestr("__MACOSX/._x.png", b"not an image")
    return path


def slip_zip(path: Path) -> Path:
    """Real images, and one member whose path climbs out of the folder (zip-slip)."""
    images = shapes(path.parent / "slip_images", "square", 4)
    with zipfile.ZipFile(path, "w") as zf:
        for p in images:
            zf.write(p, p.name)
        zf.write(images[0], "../../escaped.png")
    return path


def odd_member_zip(path: Path, how: str) -> Path:
    """Real images and one bad member: an absolute path, a symbolic link, or a corrupt PNG."""
    images = shapes(path.parent / f"{how}_images", "square", 4)
    with zipfile.ZipFile(path, "w") as zf:
        for p in images:
            zf.write(p, p.name)
        if how == "absolute":
            zf.writestr(zipfile.ZipInfo("/tmp/absolute.png"), images[0].read_bytes())
        elif how == "link":
            link = zipfile.ZipInfo("link.png")
            link.external_attr = 0o120777 << 16
            zf.writestr(link, "/etc/passwd")
        else:
            zf.writestr("corrupt.png", images[0].read_bytes()[:60])
    return path


def big_zip(path: Path, megabytes: float) -> Path:
    """A zip of one real PNG of noise larger than ``megabytes`` (stored, not compressed)."""
    side = int((megabytes * 2**20 / 3) ** 0.5) + 64
    noise = np.random.default_rng(1).integers(0, 256, (side, side, 3), dtype=np.uint8)
    Image.fromarray(noise).save(path.with_suffix(".png"))
    with zipfile.ZipFile(path, "w") as zf:
        zf.write(path.with_suffix(".png"), "noise.png")
    return path


def text_zip(path: Path) -> Path:
    """A zip with files in it, none of them an image."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "no images here\n")
        zf.writestr("data/values.csv", "1,2,3\n")
    return path


@contextmanager
def train_server(models: Path, work: Path, *args: str, timeout: float = 120.0):
    """``python -m app --models MODELS --allow-training ARGS`` on a free port, with its own
    upload folder under ``work``; yields (url, process), stops it at the end if it runs."""
    work.mkdir(parents=True, exist_ok=True)
    uploads = Path(tempfile.mkdtemp(prefix="uploads_", dir=work))
    env = {"OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    log = work / "server_{port}.log"
    with demo_process(models, uploads, log, ("--allow-training", *args), env, timeout) as served:
        yield served


def status(client, name: str = "") -> dict:
    return json.loads(client.predict(name, api_name="/train_status"))


def wait_for(client, test, timeout: float = 240.0, name: str = "", every: float = 0.5) -> dict:
    """Poll /train_status until ``test(state)`` holds; the state, or AssertionError."""
    deadline, state = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        state = status(client, name)
        if test(state):
            return state
        if state.get("state") == "failed":  # it will not get better: say so now
            raise AssertionError(f"the run failed: {state}")
        time.sleep(every)
    raise AssertionError(f"not reached in {timeout} s; last state {state}")


def start_args(kind: str, zips=(None, None), folders=("", ""), steps: int = 300, **over):
    """The /train_start inputs: the data, and the settings (colored MNIST's networks, tiny)."""
    from gradio_client import handle_file

    values = dict(
        kind=kind,
        zip_a=handle_file(str(zips[0])) if zips[0] else None,
        zip_b=handle_file(str(zips[1])) if zips[1] else None,
        folder_a=folders[0],
        folder_b=folders[1],
        processes=1,
        preset="colored_mnist",
        budget="steps",
        steps=steps,
        seconds=None,
        method="enot",
        image_size=32,
        batch_size=8,
        lr_t=6e-3,
        lr_g=9e-4,
        extra=TINY,
    )
    values.update(over)
    return values


def kill_group(pid: int) -> None:
    """SIGKILL a trainer and its children (it leads its own session)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
