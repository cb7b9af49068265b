"""The OT reference of a task: up to N images of each domain of one split, as the data package
reads them without flips, and the exact OT between them in the task's cost
(``scripts/ot_reference.py``, and ``scripts/train.py`` before a run)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import torch
from torch import Tensor

from data import build_domain, paired_by_name, spread_indices
from enot.config import Config
from enot.evaluation.held_out import EvalData, EvaluationError, data_from_config
from enot.evaluation.ot_reference import OTReference, ot_reference


@dataclass(frozen=True)
class DomainSample:
    images: Tensor  # [k, 3, S, S] in [-1, 1]
    names: list[str] | None  # the items' names where the dataset has them (image folders)
    split_size: int  # images in the whole split


def load_domain(data: EvalData, role: str, split: str, max_samples: int) -> DomainSample:
    """Up to ``max_samples`` images of one domain's split, evenly spaced, none flipped."""
    spec = data.source if role == "source" else data.target
    dataset = build_domain(
        data.kind,
        spec,
        data.image_size,
        split,
        seed=data.seed,
        background=data.background,
        tints=data.tints,
    )
    if getattr(dataset, "flip", False):
        dataset.flip = False  # comics flip their train split whatever build_domain is told
    picked = spread_indices(len(dataset), max_samples)
    names = getattr(dataset, "names", None)
    return DomainSample(
        images=torch.stack([dataset[i] for i in picked]),
        names=[names[i] for i in picked] if names is not None else None,
        split_size=len(dataset),
    )


def pairing(data: EvalData, source: DomainSample, target: DomainSample) -> tuple[bool, str]:
    """Whether index i of both samples is the same item: only for folders that correspond by
    name (``paired_folder``), and only where the names of index i agree for every i."""
    if not paired_by_name(data.kind, data.source, data.target):
        return False, "unpaired"
    if source.names is not None and source.names == target.names:
        return True, "paired by name"
    return False, "unpaired: the two paired_folder domains do not hold the same names"


@dataclass(frozen=True)
class TaskReference:
    reference: OTReference
    split: str
    source: str
    target: str
    split_sizes: tuple[int, int]
    pairing: str
    load_seconds: float

    def lines(self) -> list[str]:
        r = self.reference
        return [
            f"{self.split} split: {r.samples} of {self.split_sizes[0]} source images "
            f"({self.source}), {r.target_samples} of {self.split_sizes[1]} target images "
            f"({self.target}); {self.pairing}; read in {self.load_seconds:.1f} s",
            *r.lines(),
        ]

    def to_dict(self) -> dict:
        own = asdict(self)
        return {**own.pop("reference"), **own, "split_sizes": list(self.split_sizes)}


def task_reference(cfg: Config, split: str, max_samples: int) -> TaskReference:
    """The OT reference of ``cfg``'s two domains on ``split``, in the cost its method trains by."""
    if cfg.method.method == "not_ae":
        raise EvaluationError(
            "--method not_ae transports the source domain to itself: its OT reference is 0"
        )
    if max_samples < 1:
        raise EvaluationError(f"the OT reference needs at least 1 image a side, not {max_samples}")
    data, start = data_from_config(cfg), time.perf_counter()
    x, y = (load_domain(data, role, split, max_samples) for role in ("source", "target"))
    paired, how = pairing(data, x, y)
    load_seconds = time.perf_counter() - start
    return TaskReference(
        reference=ot_reference(x.images, y.images, cfg.method.cost, paired=paired),
        split=split,
        source=f"{data.kind} {data.source}",
        target=f"{data.kind} {data.target}",
        split_sizes=(x.split_size, y.split_size),
        pairing=how,
        load_seconds=load_seconds,
    )
