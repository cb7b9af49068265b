"""The inference export: T (and its EMA, and g) as safetensors + config.json, plus a task card.

Layout of an export folder:
    translator.json      task card: preset, image size, cost, domains, steps, full config
    T/                   the map, `save_pretrained` format (config.json + safetensors)
    T_ema/               the EMA of the map, when trained with --ema-decay > 0
    g/                   the potential
Loading needs no architecture flags: every network is rebuilt from its own config.json.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from enot.atomic_folder import atomic_folder
from enot.config import Config, ConfigError
from models import ModelLoadError, UNet, load_model

CARD = "translator.json"


class ExportError(ValueError):
    """A folder is not a usable inference export."""


def write_export(folder: Path, T: nn.Module, g: nn.Module, T_ema: nn.Module | None,
                 cfg: Config, step: int, metrics: dict[str, float] | None = None) -> Path:
    """Write atomically: build under a temporary name, then swap it in.

    ``metrics`` (e.g. the FID that made this the best export) goes into the task card.
    """
    with atomic_folder(folder) as tmp:
        T.save_pretrained(tmp / "T")
        g.save_pretrained(tmp / "g")
        if T_ema is not None:
            T_ema.save_pretrained(tmp / "T_ema")
        card = {
            "preset": cfg.preset, "step": step, "image_size": cfg.data.image_size,
            "channels": int(T.config["out_channels"]), "cost": cfg.method.cost_name(),
            "dataset": cfg.data.dataset,
            "source": cfg.data.source, "target": cfg.data.target, "ema": T_ema is not None,
            "metrics": metrics or {},
            "config": cfg.to_dict(),
        }
        (tmp / CARD).write_text(json.dumps(card, indent=2) + "\n")
    return Path(folder)


@dataclass
class Translator:
    """A loaded export: the map T in eval mode and its task card."""

    T: nn.Module
    card: dict[str, Any]
    path: Path

    @property
    def image_size(self) -> int:
        return int(self.card["image_size"])

    @property
    def config(self) -> Config:
        return Config.from_dict(self.card["config"])


def load_translator(path: str | Path, use_ema: bool = True) -> Translator:
    path = Path(path)
    if not path.is_dir():
        raise ExportError(f"{path}: no such export folder")
    card_file = path / CARD
    if not card_file.is_file():
        present = sorted(p.name for p in path.iterdir())[:8]
        raise ExportError(f"{path} is not an inference export: it has no {CARD} (found: "
                          f"{', '.join(present) or 'nothing'}); exports are written to "
                          f"<run>/export by scripts/train.py")
    try:
        card = json.loads(card_file.read_text())
        Config.from_dict(card["config"])
    except (json.JSONDecodeError, KeyError, ConfigError) as e:
        raise ExportError(f"{card_file} is not a valid task card: {e}") from None
    sub = "T_ema" if use_ema and (path / "T_ema").is_dir() else "T"
    try:
        T = load_model(path / sub, expected=UNet)
    except ModelLoadError as e:
        raise ExportError(str(e)) from None
    return Translator(T=T, card=card, path=path)

