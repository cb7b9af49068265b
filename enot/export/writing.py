"""Write an export, and rewrite its cards when it is evaluated or exported to ONNX.

``write_export`` builds the folder under a temporary name and swaps it in; ``update_card``,
``rewrite_card`` and ``record_test_split`` store what was measured on the export in its export card
or beside it, and render its model card anew.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

from torch import nn

from data.atomic import atomic_folder
from data.attribution import attribution
from enot.config import Config
from enot.export.card import ExportCard, SplitJudgement
from enot.export.loading import LoadedExport
from enot.export.model_card import SAMPLES, write_card

EVALUATION = "evaluation.json"  # what scripts/evaluate.py measured, beside the export


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

    ``metrics`` (e.g. the FID that made this the best export) goes into the export card;
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


def read_evaluations(folder: Path) -> dict[str, dict[str, Any]]:
    """What scripts/evaluate.py stored beside the export, keyed by FID protocol."""
    path = Path(folder) / EVALUATION
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except json.JSONDecodeError:
        return {}


def rewrite_card(folder: Path, card: ExportCard) -> Path:
    """Write ``card`` as the export's export card and render its model card anew, with the
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
    """Write how the training run judged this export on its held-out split into its export card
    and model card."""
    card = ExportCard.read(folder)
    return rewrite_card(folder, replace(card, test_split=judgement))
