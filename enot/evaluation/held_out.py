"""What an evaluation runs on: the two domains of a task and their held-out splits."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from torch.utils.data import Dataset, Subset

from data import build_domain
from data.errors import UserError
from enot.config import Config, get_preset
from enot.export import LoadedExport

CHANNELS = 3


class EvaluationError(UserError, ValueError):
    """The export and the evaluation data do not fit, or a split is unusable."""


@dataclass(frozen=True)
class EvalData:
    """The two domains, as ``data.build_domain`` takes them. ``task`` is the preset name, for the
    paper comparison; ``seed`` picks colored_mnist's colours."""

    kind: str
    source: str
    target: str
    image_size: int
    seed: int = 0
    task: str | None = None
    background: str = "white"  # under transparent pixels, as the map was trained
    # Colours per colored_mnist train digit, as the map was trained: the OT reference samples
    # them; the judges read each digit once, in its own colour (``eval_split``).
    tints: int = 1


def data_from_config(cfg: Config) -> EvalData:
    """The two domains a run's config trains on."""
    d = cfg.data
    return EvalData(
        kind=d.dataset,
        source=d.source,
        target=d.target,
        image_size=d.image_size,
        seed=cfg.train.seed,
        task=cfg.preset,
        background=d.background,
        tints=d.tints,
    )


def data_from_card(export: LoadedExport) -> EvalData:
    """The domains recorded in the export's card (the data it was trained on)."""
    cfg = export.config
    d = cfg.data
    if d.image_size != export.image_size:
        raise EvaluationError(
            f"{export.path}: the export card says image size {export.image_size} but its "
            f"config says {d.image_size}; the export is inconsistent"
        )
    return data_from_config(cfg)


def data_from_preset(name: str, export: LoadedExport) -> EvalData:
    """The domains of preset ``name``; its image size must be the export's."""
    cfg = get_preset(name)  # ConfigError names the known presets
    d = cfg.data
    if d.image_size != export.image_size:
        raise EvaluationError(
            f"preset {name} uses {d.image_size}x{d.image_size} images but the export "
            f"{export.path} was trained at {export.image_size}x{export.image_size}: "
            f"evaluate it with a preset of image size {export.image_size}, or without "
            f"--preset to use the data recorded in the export"
        )
    return data_from_config(cfg)


def data_from_folders(
    source: str | os.PathLike, target: str | os.PathLike, export: LoadedExport
) -> EvalData:
    """Two image folders, resized to the export's image size, flattened on its background."""
    return EvalData(
        kind="folder",
        source=str(Path(source).resolve()),
        target=str(Path(target).resolve()),
        image_size=export.image_size,
        background=export.config.data.background,
    )


def check_channels(export: LoadedExport) -> None:
    """The export must map RGB to RGB, as every dataset here yields RGB."""
    card_channels = export.card.channels
    cfg = getattr(export.T, "config", None) or {}
    t_in, t_out = cfg.get("in_channels", CHANNELS), cfg.get("out_channels", CHANNELS)
    if (card_channels, t_in, t_out) != (CHANNELS, CHANNELS, CHANNELS):
        raise EvaluationError(
            f"the export {export.path} works on {card_channels}-channel images (T: "
            f"{t_in} -> {t_out} channels) but the evaluation data is {CHANNELS}-channel RGB"
        )


def describe_split(data: EvalData, role: str, split: str) -> str:
    spec = data.source if role == "source" else data.target
    return f"{role} {split} split ({data.kind} {spec})"


def eval_split(
    data: EvalData, role: str, split: str, max_images: int | None, min_images: int = 2
) -> Dataset:
    """The first ``max_images`` of a split, checked; FID needs ``min_images`` = 2 (a covariance),
    the classifier judge and MSE need 1."""
    spec = data.source if role == "source" else data.target
    full = build_domain(
        data.kind, spec, data.image_size, split, seed=data.seed, background=data.background
    )
    n = len(full) if max_images is None else min(len(full), max_images)
    if n == 0:
        raise EvaluationError(f"the {describe_split(data, role, split)} is empty")
    if n < min_images:
        hint = (
            "raise --max-images"
            if max_images is not None and len(full) > n
            else "add images (the test split is the last 10% of each domain)"
        )
        raise EvaluationError(
            f"the {describe_split(data, role, split)} has {n} image: fewer than 2 images cannot "
            f"give a covariance, so FID needs at least 2; {hint}"
        )
    dataset = Subset(full, range(n))
    shape = tuple(dataset[0].shape)
    want = (CHANNELS, data.image_size, data.image_size)
    if shape != want:
        raise EvaluationError(
            f"the {describe_split(data, role, split)} yields images {shape}, but "
            f"the export expects {want}"
        )
    return dataset
