"""The inference export: T (and its EMA, and g) as safetensors + config.json, plus a task card.

Layout of an export folder:
    translator.json      task card (enot.export_card.ExportCard): preset, image size, cost,
                         domains, steps, full config, test-split figures, the ONNX file's facts
    T/                   the map, `save_pretrained` format (config.json + safetensors)
    T_ema/               the EMA of the map, when trained with --ema-decay > 0
    g/                   the potential
    README.md            the model card (enot.training.model_card), with YAML front matter
    samples.png          the last sample grid of training, when there is one
    evaluation.json      what scripts/evaluate.py measured on the export's own data, if run
    T.onnx               the map for onnxruntime, when ``enot-export --format onnx`` made it
Loading needs no architecture flags: every network is rebuilt from its own config.json.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from torch import nn

from data.atomic import atomic_folder
from data.attribution import attribution
from enot.config import Config, ConfigError
from enot.export_card import CARD_FILE, CardError, ExportCard, SplitJudgement
from enot.training.model_card import SAMPLES, write_card
from models import ModelLoadError, UNet, load_model

HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")  # "owner/name", as the Hub spells repo ids


class ExportError(ValueError):
    """A folder is not a usable inference export."""


def write_export(
    folder: Path,
    T: nn.Module,
    g: nn.Module,
    T_ema: nn.Module | None,
    cfg: Config,
    step: int,
    metrics: dict[str, float] | None = None,
    samples: Path | None = None,
    provenance: dict[str, Any] | None = None,
) -> Path:
    """Write atomically: build under a temporary name, then swap it in.

    ``metrics`` (e.g. the FID that made this the best export) goes into the task card;
    ``samples`` (a sample grid PNG) is copied beside the model card; ``provenance`` (command,
    hardware, processes, seconds) is how the run was made.
    """
    has_samples = samples is not None and Path(samples).is_file()
    card = ExportCard(
        preset=cfg.preset,
        step=step,
        image_size=cfg.data.image_size,
        channels=int(T.config["out_channels"]),
        cost=cfg.method.cost_name(),
        dataset=cfg.data.dataset,
        background=cfg.data.background,
        attribution={role: attribution(getattr(cfg.data, role)) for role in ("source", "target")},
        source=cfg.data.source,
        target=cfg.data.target,
        ema=T_ema is not None,
        metrics=metrics or {},
        samples=has_samples,
        provenance=provenance or {},
        config=cfg.to_dict(),
    )
    with atomic_folder(folder) as tmp:
        T.save_pretrained(tmp / "T")
        g.save_pretrained(tmp / "g")
        if T_ema is not None:
            T_ema.save_pretrained(tmp / "T_ema")
        if has_samples:
            shutil.copyfile(samples, tmp / SAMPLES)
        card.write(tmp)
        write_card(tmp, card)
    return Path(folder)


@dataclass
class LoadedExport:
    """An export read back from its folder: the map T in eval mode and its task card.

    Named for what it is; it does not translate by itself (``app.pipeline`` does, with T)."""

    T: nn.Module
    card: ExportCard
    path: Path
    weights: str = "T"  # the sub-folder T was loaded from: "T_ema" or "T"

    @property
    def image_size(self) -> int:
        return self.card.image_size

    @property
    def config(self) -> Config:
        return Config.from_dict(self.card.config)


def resolve_export(name: str | Path) -> Path:
    """An export folder, or a Hugging Face Hub repo id ("owner/name") fetched into the Hub cache
    by ``snapshot_download``, which honours HF_HUB_OFFLINE, HF_HOME and the cache."""
    path = Path(name)
    if path.is_dir() or not HUB_ID.fullmatch(str(name)):
        if not path.is_dir():
            raise ExportError(f"{path}: no such export folder")
        return path
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, HFValidationError, LocalEntryNotFoundError

    try:
        return Path(snapshot_download(str(name)))
    except (LocalEntryNotFoundError, HfHubHTTPError, HFValidationError, OSError) as e:
        offline = " (HF_HUB_OFFLINE is set)" if constants.HF_HUB_OFFLINE else ""
        raise ExportError(
            f"{name}: no such export folder, and the Hugging Face Hub repo "
            f"{name} could not be loaded{offline}; cache {constants.HF_HUB_CACHE}: "
            f"{type(e).__name__}"
        ) from None


def load_export(path: str | Path, use_ema: bool = True) -> LoadedExport:
    """Load an export folder, or a Hub repo id (``resolve_export``)."""
    path = resolve_export(path)
    if not (path / CARD_FILE).is_file():
        present = sorted(p.name for p in path.iterdir())[:8]
        raise ExportError(
            f"{path} is not an inference export: it has no {CARD_FILE} (found: "
            f"{', '.join(present) or 'nothing'}); exports are written to "
            f"<run>/export by scripts/train.py"
        )
    try:
        card = ExportCard.read(path)
        Config.from_dict(card.config)
    except (CardError, ConfigError) as e:
        raise ExportError(f"{path / CARD_FILE} is not a valid task card: {e}") from None
    sub = "T_ema" if use_ema and (path / "T_ema").is_dir() else "T"
    try:
        T = load_model(path / sub, expected=UNet)
    except ModelLoadError as e:
        raise ExportError(str(e)) from None
    return LoadedExport(T=T, card=card, path=path, weights=sub)


EVALUATION = "evaluation.json"


def read_evaluations(folder: Path) -> dict[str, dict[str, Any]]:
    """What scripts/evaluate.py stored beside the export, keyed by FID protocol."""
    path = Path(folder) / EVALUATION
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except json.JSONDecodeError:
        return {}


def rewrite_card(folder: Path, card: ExportCard) -> Path:
    """Write ``card`` as the export's task card and render its model card anew, with the
    evaluations stored beside it."""
    card.write(folder)
    return write_card(folder, card, read_evaluations(folder) or None)


def update_card(export: LoadedExport, metrics: dict[str, Any]) -> Path:
    """Store an evaluation of the export on its own test split beside it, one per FID protocol,
    and rewrite its model card with the figures."""
    evaluations = read_evaluations(export.path)
    evaluations[metrics.get("fid_protocol", "clean")] = metrics
    (export.path / EVALUATION).write_text(json.dumps(evaluations, indent=2, default=str) + "\n")
    return write_card(export.path, export.card, evaluations)


def record_test_split(folder: Path, judgement: SplitJudgement) -> Path:
    """Write how the training run judged this export on its held-out split into its task card
    and model card."""
    card = ExportCard.read(folder)
    return rewrite_card(folder, replace(card, test_split=judgement))
