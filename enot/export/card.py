"""The export card of an inference export, ``translator.json``: what the map is and how it was made.

``ExportCard`` is the one reader and writer of that file. Training writes it; evaluation, the
demo, the translate command, the ONNX exporter and the model card read it through attributes.

Versions: a card carries ``version``, and this code reads cards of ``VERSION`` only. No release
has written another format, so there is nothing to migrate: a card of a newer version is refused
with a message that says to upgrade, rather than read with fields it would drop, and any other
version, or none, is refused by name.

This module imports nothing of the method, training, evaluation or app, so any of them may
read a card.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

CARD_FILE = "translator.json"
VERSION = 2
REQUIRED = ("preset", "step", "image_size", "cost", "dataset", "source", "target", "config")


class CardError(ValueError):
    """A export card is missing, malformed, or of a version this code cannot read."""


@dataclass(frozen=True)
class SplitJudgement:
    """How a judge scored the export on a held-out split: its figures and their sentences."""

    split: str
    judge: str  # which judge, e.g. "enot.evaluation.split_judge.SplitJudge"
    images: int
    lines: list[str]
    metrics: dict[str, Any]


@dataclass(frozen=True)
class OnnxExport:
    """``T.onnx`` beside the card: what it was made from, what it expects, how close it is.

    ``sha256`` and ``weights_sha256`` tie the file to this export: a loader refuses a T.onnx
    whose bytes, or whose source weights, are not these. ``preprocessing`` says how an image
    becomes the model's input; ``parity`` is the largest |onnxruntime - PyTorch| measured at
    export, on what images, against what tolerance.
    """

    file: str
    weights: str  # the export's sub-folder it was made from: "T_ema" or "T"
    sha256: str
    weights_sha256: str
    bytes: int
    opset: int
    onnxruntime: str
    torch: str
    input_name: str
    output_name: str
    preprocessing: dict[str, Any]
    parity: dict[str, Any]


@dataclass(frozen=True)
class ExportCard:
    """The export card: the task, the image size, the cost, the steps, the full config as a dict
    (``enot.config.Config.from_dict`` reads it), and what has been measured of the export."""

    preset: str
    step: int
    image_size: int
    cost: str
    dataset: str
    source: str
    target: str
    config: dict[str, Any]
    channels: int = 3
    background: str = "white"  # under transparent pixels, as the map was trained
    attribution: dict[str, str | None] = field(default_factory=dict)
    ema: bool = False
    metrics: dict[str, Any] = field(default_factory=dict)  # what made this the best export
    samples: bool = False
    provenance: dict[str, Any] = field(default_factory=dict)  # command, hardware, seconds
    test_split: SplitJudgement | None = None  # judged at the end of the training run
    onnx: OnnxExport | None = None
    version: int = VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any, where: str = "the export card") -> ExportCard:
        """Read a card of version ``VERSION``; CardError names what is wrong."""
        if not isinstance(data, dict):
            raise CardError(f"{where} must hold a JSON object, got {type(data).__name__}")
        missing = [name for name in REQUIRED if name not in data]
        if missing:
            raise CardError(f"{where} lacks {', '.join(missing)}")
        if "version" not in data:
            raise CardError(
                f"{where} has no version, a format no release wrote; this enot-i2i reads "
                f"version {VERSION}: export the run again"
            )
        version = data["version"]
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise CardError(f"{where}: version must be a positive integer, got {version!r}")
        if version > VERSION:
            raise CardError(
                f"{where} is a version {version} card; this enot-i2i reads cards "
                f"up to version {VERSION}: upgrade enot-i2i to load this export"
            )
        if version != VERSION:
            raise CardError(
                f"{where} is a version {version} card, a format no release wrote; "
                f"this enot-i2i reads version {VERSION}: export the run again"
            )
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise CardError(
                f"{where} has unknown field(s) {', '.join(unknown)} for a version {version} card"
            )
        values = dict(data)
        try:
            if values.get("test_split") is not None:
                values["test_split"] = SplitJudgement(**values["test_split"])
            if values.get("onnx") is not None:
                values["onnx"] = OnnxExport(**values["onnx"])
        except TypeError as err:
            raise CardError(f"{where}: {err}") from None
        card = cls(**values)
        for name, kind in (("step", int), ("image_size", int), ("channels", int), ("config", dict)):
            value = getattr(card, name)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise CardError(f"{where}: {name} must be {kind.__name__}, got {value!r}")
        return card

    @classmethod
    def read(cls, folder: str | os.PathLike) -> ExportCard:
        path = Path(folder) / CARD_FILE
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise CardError(f"{path} does not exist") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise CardError(f"{path} is not valid JSON: {err}") from None
        return cls.from_dict(data, where=str(path))

    def write(self, folder: str | os.PathLike) -> Path:
        """Write ``folder/translator.json`` whole: a temporary file, then a rename."""
        path = Path(folder) / CARD_FILE
        partial = path.with_name(f".{CARD_FILE}.partial")
        partial.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        os.replace(partial, path)
        return path
