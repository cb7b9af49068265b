"""The map T run from T.onnx by onnxruntime, and the choice of backend for translate and the demo.

``OnnxMap(export)(x)`` takes and returns what ``FastMap`` does, [B, 3, S, S] float tensors in
[-1, 1], so the preprocessing before it and the PNG after it are the PyTorch path's
(``app.pipeline``, ``data.normalization``). It loads only a T.onnx that its export card vouches
for: the file's SHA-256, the source weights' SHA-256 and the input shape must be the card's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from enot.export import LoadedExport
from models.io import WEIGHTS_NAME

from .fast_map import FastMap
from .onnx_export import INSTALL, ONNX_FILE, OnnxExportError, require_onnx, sha256

BACKENDS = ("torch", "onnx")


class OnnxLoadError(ValueError):
    """T.onnx is missing, or does not match the export it sits in."""


class OnnxMap:
    """Callable: ``OnnxMap(export)(x)`` is T(x) by onnxruntime on the CPU, ``threads`` threads
    (default: torch's, so both backends use the same cores)."""

    def __init__(self, export: LoadedExport, threads: int | None = None):
        try:
            _, onnxruntime = require_onnx()
        except OnnxExportError as err:
            raise OnnxLoadError(str(err)) from None
        record = export.card.onnx
        path = export.path / ONNX_FILE
        how = f"write it with `enot-export {export.path} --format onnx` ({INSTALL})"
        if record is None or not path.is_file():
            what = (
                "the export card records no ONNX export"
                if path.is_file()
                else f"there is no {path.name}"
            )
            raise OnnxLoadError(f"{export.path}: {what}; {how}")
        if record.file != ONNX_FILE:
            raise OnnxLoadError(
                f"{export.path}: the export card names {record.file!r}; an "
                f"export's ONNX file is {ONNX_FILE}"
            )
        if sha256(path) != record.sha256:
            raise OnnxLoadError(
                f"{path} is not the file its export card records (SHA-256 "
                f"differs): it was replaced or changed after export; {how}"
            )
        if record.weights != export.weights:
            raise OnnxLoadError(
                f"{path} holds {record.weights} but {export.weights} was asked "
                f"for; export again with the same choice (--no-ema)"
            )
        weights = export.path / record.weights / WEIGHTS_NAME
        if not weights.is_file() or sha256(weights) != record.weights_sha256:
            raise OnnxLoadError(
                f"{path} was made from other weights than {weights.parent}'s; {how}"
            )
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        shape = self.session.get_inputs()[0].shape
        size, channels = export.image_size, export.card.channels
        if list(shape[1:]) != [channels, size, size]:
            raise OnnxLoadError(
                f"{path} takes inputs {shape}; its export card says "
                f"[batch, {channels}, {size}, {size}]"
            )
        self.input, self.output = record.input_name, record.output_name
        self.path = path

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f"OnnxMap expects a batch [B, C, H, W], got shape {tuple(x.shape)}")
        array = x.detach().cpu().numpy().astype(np.float32, copy=False)
        return torch.from_numpy(self.session.run([self.output], {self.input: array})[0])


def build_map(
    export: LoadedExport, backend: str, device: torch.device | str = "cpu"
) -> FastMap | OnnxMap:
    """The callable that runs T for ``backend``: "torch" (FastMap, on ``device``) or "onnx"
    (OnnxMap, on the CPU)."""
    if backend == "torch":
        return FastMap(export.T.to(device))
    if backend == "onnx":
        if torch.device(device).type != "cpu":
            raise OnnxLoadError(f"the onnx backend runs on the CPU; got --device {device}")
        return OnnxMap(export)
    raise OnnxLoadError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")


def describe(runner: FastMap | OnnxMap) -> str:
    """One line for the demo's card: what runs T."""
    if isinstance(runner, OnnxMap):
        return f"onnxruntime ({Path(runner.path).name})"
    return "PyTorch (BatchNorm folded, channels-last)"
