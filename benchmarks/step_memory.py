"""Peak memory of one ENOT training step, measured without the memory: on fake tensors.

The step is the trainer's: ``enot.step.enot_step`` on a source and a target batch under
autocast when asked, then both AdamW steps, with ``zero_grad(set_to_none=True)`` before, twice
over so that the optimiser state exists. Run under ``FakeTensorMode`` every tensor has its
shape, dtype and storage but no data, so a 128 px batch of 64 costs seconds and no RAM; the
same code on real tensors gives the same bytes (``--check-real``).

Two counters:

* ``LiveBytes`` (a dispatch mode) adds every new storage an operator returns and subtracts it
  when the storage is freed: the peak of everything allocated during the step. Parameters
  exist before the step, so they are added separately.
* ``saved_tensors_hooks`` sums the distinct storages autograd saves for the backward: the
  activations.

What CUDA would add on top (not measured here): the CUDA context (~0.3-0.6 GiB outside
PyTorch's allocator), cuDNN workspaces, the caching allocator's rounding (512-byte blocks,
larger segments) and fragmentation, and under DDP one gradient-sized bucket copy.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import torch
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.optim import AdamW
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from enot.config import Config
from enot.costs import get_cost
from enot.step import enot_step
from enot.training.networks import build_networks

MiB = 2**20


class LiveBytes(TorchDispatchMode):
    """Bytes of the storages created under this mode and still alive; and their peak."""

    def __init__(self) -> None:
        super().__init__()
        self.live: dict[int, weakref.ref] = {}
        self.current = self.peak = 0

    def _freed(self, key: int, nbytes: int) -> None:
        if self.live.pop(key, None) is not None:
            self.current -= nbytes

    def __torch_dispatch__(self, func, types, args=(), kwargs=None) -> Any:
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor):
                storage = t.untyped_storage()
                key = id(storage)
                if key not in self.live:
                    n = storage.nbytes()
                    self.live[key] = weakref.ref(storage, lambda _, k=key, n=n: self._freed(k, n))
                    self.current += n
                    self.peak = max(self.peak, self.current)
        return out


class SavedBytes:
    """Distinct storages autograd saves for the backward pass, summed: the activations.

    The weights a layer saves are counted once already, as weights, so they are skipped.
    """

    def __init__(self, weights: list[torch.Tensor]) -> None:
        self.weights = {id(w.untyped_storage()) for w in weights}
        self.seen: set[int] = set()
        self.total = 0

    def pack(self, t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if id(storage) not in self.seen and id(storage) not in self.weights:
            self.seen.add(id(storage))
            self.total += storage.nbytes()
        return t


@dataclass(frozen=True)
class StepMemory:
    image_size: int
    batch: int
    precision: str
    params: int  # bytes of T's and g's weights
    grads: int
    optimizer_state: int  # AdamW's two moments (and its step counters)
    activations: int  # saved for the backward in one step
    peak: int  # everything alive at the worst moment of a step, weights included

    def row(self, name: str) -> str:
        cells = [self.params, self.grads, self.optimizer_state, self.activations, self.peak]
        return (
            f"| {name} | {self.image_size} | {self.batch} | {self.precision} | "
            + " | ".join(f"{c / MiB:,.0f}" for c in cells)
            + " |"
        )


HEADER = (
    "| setting | px | batch | precision | weights MiB | gradients MiB | AdamW state MiB | "
    "activations MiB | peak MiB |\n| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: "
    "| ---: |"
)


def measure_step(cfg: Config, *, fake: bool = True, device: str = "cpu") -> StepMemory:
    """Peak bytes of the trainer's ENOT step for ``cfg``'s networks, batch and precision.

    ``fake=False`` runs it on real tensors on ``device``; on CUDA the allocator's own peak
    (``torch.cuda.max_memory_allocated``) can then be read beside this count.
    """
    cfg = Config.from_dict(cfg.to_dict())
    # Fake tensors cannot swap into channels-last weights; the layout moves no byte.
    cfg.train.channels_last = False
    precision = cfg.train.mixed_precision
    if precision == "fp16":
        raise ValueError("measure fp32 ('no') or bf16; fp16 takes the bytes of bf16")
    size, batch = cfg.data.image_size, cfg.train.batch_size
    if fake and device != "cpu":
        raise ValueError("fake tensors count on the CPU; pass fake=False for a real device")
    device_type = torch.device(device).type
    with FakeTensorMode() if fake else torch.device(device):
        T, g = build_networks(cfg)
        o = cfg.optim
        opts = [
            AdamW(m.parameters(), lr=lr, betas=(o.beta1, o.beta2), weight_decay=o.weight_decay)
            for m, lr in ((T, o.lr_t), (g, o.lr_g))
        ]
        x = torch.randn(batch, 3, size, size)
        y = torch.randn(batch, 3, size, size)
        cost = get_cost(cfg.method.cost)
        live, saved = LiveBytes(), SavedBytes([*T.parameters(), *g.parameters()])
        with live:
            for _ in range(2):  # the first step creates AdamW's state
                for opt in opts:
                    opt.zero_grad(set_to_none=True)
                saved.seen.clear()
                saved.total = 0
                with (
                    torch.autograd.graph.saved_tensors_hooks(saved.pack, lambda t: t),
                    torch.autocast(device_type, torch.bfloat16, enabled=precision == "bf16"),
                ):
                    enot_step(T, g, x, y, cost, cfg.enot.tau, cfg.enot.lam, gauge=cfg.enot.gauge)
                for opt in opts:
                    opt.step()
        params = sum(p.nbytes for m in (T, g) for p in m.parameters())
        grads = sum(p.grad.nbytes for m in (T, g) for p in m.parameters() if p.grad is not None)
        state = sum(
            v.nbytes
            for opt in opts
            for s in opt.state.values()
            for v in s.values()
            if torch.is_tensor(v)
        )
        inputs = x.nbytes + y.nbytes
    return StepMemory(
        size, batch, precision, params, grads, state, saved.total, live.peak + params + inputs
    )
