"""Unpaired data as two independent, resumable, endless streams of batches.

Each domain has its own prepared DataLoader. Its shuffle order is a function of (stream seed,
epoch) only, so the position (epoch, batch) is all a checkpoint needs to continue the stream
exactly; `accelerator.register_for_checkpointing` stores it.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from accelerate import Accelerator
from accelerate.data_loader import SeedableRandomSampler
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from data import DatasetError, build_domain
from enot.config import Config


def _seedable_sampler(loader: Any) -> SeedableRandomSampler:
    """Find the sampler Accelerate put under its batch-sampler wrappers."""
    node, seen = loader, 0
    while node is not None and seen < 6:
        if isinstance(node, SeedableRandomSampler):
            return node
        node = getattr(node, "batch_sampler", None) or getattr(node, "sampler", None)
        seen += 1
    raise TypeError("the loader was not prepared with use_seedable_sampler=True and shuffle=True")


class InfiniteStream:
    """Endless batches from one prepared loader; `seed` makes its order independent of others'."""

    def __init__(self, loader: DataLoader, accelerator: Accelerator, seed: int):
        if len(loader) == 0:
            raise ValueError(
                "the loader yields no batch: the domain has fewer images than one batch"
            )
        self.loader = loader
        self.accelerator = accelerator
        self.sampler = _seedable_sampler(loader)
        # Accelerate seeds every loader's shuffle from the global seed; without this the two
        # domains would be shuffled identically and x_i would always meet the same y_i.
        self.sampler.initial_seed = seed
        self.epoch = 0
        self.batch = 0
        self._it = None

    def __iter__(self) -> "InfiniteStream":
        return self

    def __next__(self) -> Tensor:
        while True:
            if self._it is None:
                loader = self.loader
                if self.batch:
                    loader = self.accelerator.skip_first_batches(self.loader, self.batch)
                loader.set_epoch(self.epoch)
                self.sampler.set_epoch(self.epoch)
                self._it = iter(loader)
            try:
                item = next(self._it)
            except StopIteration:
                self.epoch, self.batch, self._it = self.epoch + 1, 0, None
                continue
            self.batch += 1
            return item

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "batch": self.batch}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch, self.batch, self._it = int(state["epoch"]), int(state["batch"]), None


def train_domains(cfg: Config, flip: bool) -> list[Dataset]:
    """The training split of both domains (source, target) as ``cfg`` trains on them; ``flip``
    mirrors items at random (training draws) or not (the OT plan's fixed samples)."""
    d = cfg.data
    return [
        build_domain(
            d.dataset,
            spec,
            d.image_size,
            "train",
            seed=cfg.train.seed,
            flip=flip,
            background=d.background,
            tints=d.tints,
        )
        for spec in (d.source, d.target)
    ]


def domain_loaders(cfg: Config, num_processes: int) -> list[DataLoader]:
    """One shuffled DataLoader per domain (source, target) of the training split, for
    ``accelerator.prepare``; a domain smaller than one global batch is refused by name."""
    d = cfg.data
    domains = train_domains(cfg, flip=d.flip)
    for name, ds in zip(("source", "target"), domains):
        need = cfg.train.batch_size * num_processes
        if len(ds) < need:
            raise DatasetError(
                f"{name} domain {getattr(d, name)!r} has {len(ds)} training "
                f"images, fewer than one global batch ({need})"
            )
    return shuffled_loaders(domains, cfg.train.batch_size, d.num_workers)


def shuffled_loaders(
    domains: Sequence[Dataset], batch_size: int, num_workers: int
) -> list[DataLoader]:
    """One shuffled DataLoader per domain, as the training loop feeds them (before
    Accelerate's prepare).

    Full batches only; ``num_workers`` processes per domain, kept alive across epochs; pinned
    memory only when CUDA is there to copy to. `python -m benchmarks.data_feed` times these loaders.
    """
    return [
        DataLoader(
            ds,
            batch_size=batch_size,
            shuffle=True,
            drop_last=True,
            num_workers=num_workers,
            persistent_workers=num_workers > 0,
            pin_memory=torch.cuda.is_available(),
        )
        for ds in domains
    ]
