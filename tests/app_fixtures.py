"""Builders shared by the demo's tests (no tests here): tiny exports, image files, the server.

Exports are written by ``enot.export.write_export`` from tiny untrained networks whose
BatchNorm statistics are randomised, so the folded-BatchNorm inference path is exercised.
"""

from __future__ import annotations

import io
import os
import signal
import struct
import subprocess
import sys
import time
import urllib.request
import zlib
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from helpers import ROOT, free_port
from PIL import Image
from torch import nn

from enot.config import get_preset
from enot.evaluation.result import EvaluationResult, write_reports
from enot.export import write_export
from enot.training.networks import build_networks


def make_export(
    folder: Path,
    image_size: int = 32,
    base: int = 4,
    seed: int = 0,
    step: int = 7,
    background: str = "white",
) -> Path:
    cfg = get_preset("colored_mnist")
    cfg.t_net.base_channels, cfg.g_net.nfilter = base, 4
    cfg.data.image_size = image_size
    cfg.data.background = background
    torch.manual_seed(seed)
    T, g = build_networks(cfg)
    randomise_batchnorm(T)
    return write_export(folder, T, g, None, cfg, step=step)


def randomise_batchnorm(model: nn.Module) -> None:
    """Running statistics and affine parameters away from their identity initialisation."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)


def write_metrics(run_dir: Path, fid: float, mse: float) -> Path:
    """metrics.json as scripts/evaluate.py writes it (through its own writer)."""
    result = EvaluationResult(
        model=str(run_dir / "export"),
        task="colored_mnist",
        dataset="colored_mnist",
        source="2",
        target="3",
        image_size=32,
        split="test",
        images=50,
        target_images=50,
        fid=fid,
        kid=0.01,
        mse=mse,
        lpips=None,
        identity_fid=fid * 2,
        identity_kid=0.02,
        seconds=1.0,
    )
    json_path, _ = write_reports(result, run_dir)
    return json_path


def rgb_array(width: int, height: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def save(img: Image.Image, path: Path, **kwargs) -> Path:
    img.save(path, **kwargs)
    return path


def png_bytes(width: int, height: int, idat: bytes, color_type: int = 0) -> bytes:
    """A PNG with the given header and IDAT payload (8-bit; colour type 0 gray, 2 RGB)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def zero_bomb(path: Path, side: int) -> Path:
    """A real decompression bomb: a side x side gray PNG of zeros, ~1000x smaller than its
    pixels (8000 x 8000 is 64 MB of pixels in ~60 KB)."""
    deflate = zlib.compressobj(9)
    row = bytes(side + 1)  # filter byte 0, then the pixels
    idat = b"".join(deflate.compress(row) for _ in range(side)) + deflate.flush()
    path.write_bytes(png_bytes(side, side, idat))
    return path


def bad_and_odd_files(folder: Path) -> dict[str, Path]:
    """Every upload case of issue 5, written to real files."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    files["not_an_image"] = folder / "notes.txt"
    files["not_an_image"].write_text("this is not an image\n")
    files["empty"] = folder / "empty.png"
    files["empty"].write_bytes(b"")
    buffer = io.BytesIO()
    Image.fromarray(rgb_array(64, 48, 1)).save(buffer, format="JPEG", quality=90)
    files["truncated_jpeg"] = folder / "truncated.jpg"
    files["truncated_jpeg"].write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    files["huge_header"] = folder / "huge_header.png"
    files["huge_header"].write_bytes(png_bytes(100_000, 100_000, zlib.compress(b"\x00" * 16)))
    files["bomb"] = zero_bomb(folder / "bomb.png", 8000)
    gray16 = (np.arange(40 * 56).reshape(40, 56) * 29) % 65536  # spans 0..65535
    files["png16"] = save(Image.fromarray(gray16.astype(np.uint16)), folder / "gray16.png")
    rgba = np.dstack([rgb_array(50, 40, 2), np.full((40, 50), 128, np.uint8)])
    files["rgba"] = save(Image.fromarray(rgba, "RGBA"), folder / "rgba.png")
    files["gray"] = save(Image.fromarray(rgb_array(36, 36, 3)[..., 0]), folder / "gray.png")
    files["cmyk_jpeg"] = save(Image.new("CMYK", (48, 40), (10, 200, 30, 5)), folder / "cmyk.jpg")
    return files


def _signals_as_a_shell_leaves_them() -> None:
    """In the server's child before exec: SIGINT unblocked and at its default, as a terminal
    starts a program. A test worker can carry SIGINT blocked or ignored from something it ran
    before (both pass to children), and a server that never sees SIGINT cannot test Ctrl-C."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextmanager
def demo_process(
    models: Path,
    upload_dir: Path,
    log: Path,
    args: tuple = (),
    env: dict | None = None,
    timeout: float = 120.0,
):
    """Start ``python -m app --models MODELS [ARGS]`` on a free loopback port, its output in
    ``log`` and ``env`` added to its environment; yield (URL, process) once it answers, and
    stop it at the end if it still runs."""
    port = free_port()
    env = dict(
        os.environ,
        GRADIO_TEMP_DIR=str(upload_dir),
        GRADIO_ANALYTICS_ENABLED="False",
        # The log is read while the server runs and after it is killed: unbuffered, and with
        # every thread's traceback on a fatal signal (SIGABRT), for a server that hangs.
        PYTHONUNBUFFERED="1",
        PYTHONFAULTHANDLER="1",
        PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        **(env or {}),
    )
    log = Path(str(log).format(port=port))
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app", "--models", str(models), "--port", str(port), *args],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_signals_as_a_shell_leaves_them,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"demo exited with {proc.returncode}:\n{log.read_text()}")
            try:
                urllib.request.urlopen(url + "config", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"demo not up after {timeout} s:\n{log.read_text()}")
                time.sleep(0.5)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextmanager
def running_demo(models: Path, upload_dir: Path, timeout: float = 120.0, args: tuple = ()):
    """Start ``python -m app --models MODELS [ARGS]`` on a free loopback port; yield its URL."""
    log = upload_dir.parent / "demo_{port}.log"
    with demo_process(models, upload_dir, log, args, timeout=timeout) as (url, _):
        yield url
