"""Read an export back: the map T, in eval mode, and its export card, from a folder or a Hub id.

Loading needs no architecture flags: every network is rebuilt from its own config.json.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from data.errors import UserError
from enot.config import Config, ConfigError
from enot.export.card import CARD_FILE, CardError, ExportCard
from models import ModelLoadError, UNet, load_model

HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")  # "owner/name", as the Hub spells repo ids


class ExportError(UserError, ValueError):
    """A folder is not a usable inference export."""


@dataclass
class LoadedExport:
    """An export read back from its folder: the map T in eval mode and its export card.

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
        raise ExportError(f"{path / CARD_FILE} is not a valid export card: {e}") from None
    sub = "T_ema" if use_ema and (path / "T_ema").is_dir() else "T"
    try:
        T = load_model(path / sub, expected=UNet)
    except ModelLoadError as e:
        raise ExportError(str(e)) from None
    return LoadedExport(T=T, card=card, path=path, weights=sub)
