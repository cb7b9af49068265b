"""Peak memory of one ENOT training step, counted on fake tensors: no data, any machine.

The step is the training loop's own update (``enot.training.updates.enot_update``: both
networks' forward, backward and AdamW steps, under autocast when asked), twice over so that the
optimiser state exists, on the networks, objective and optimisers the loop builds. Under
``FakeTensorMode`` every tensor has its shape, dtype and storage but no data, so a 128 px batch
of 64 costs seconds and no RAM; the same code on real tensors gives the same bytes
(``--check-real``, which on CUDA also reads the allocator's peak, rounding and cuDNN's
workspaces included). The CUDA context,
fragmentation and DDP's gradient bucket come on top.

    python -m benchmarks.step_memory                     # each paper preset, fp32 and bf16
    python -m benchmarks.step_memory --presets emoji_64 --check-real --device cuda
"""

from __future__ import annotations

import argparse
import weakref
from dataclasses import dataclass
from typing import Any

import torch
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from enot.config import Config, get_preset
from enot.training.networks import build_networks, cost_from, objective_from, optimisers_from
from enot.training.updates import enot_update

MiB = 2**20
PAPER_PRESETS = (
    "celeba2anime_64",
    "celeba2anime_128",
    "handbags2shoes_128",
    "ffhq2comics_128",
    "emoji_64",
)


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
        mib = " | ".join(f"{c / MiB:,.0f}" for c in cells)
        return f"| {name} | {self.image_size} | {self.batch} | {self.precision} | {mib} |"


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
        opt_t, _, opt_g, _ = optimisers_from(cfg, T, g, 1)
        opts = (opt_t, opt_g)
        x, y = (torch.randn(batch, 3, size, size) for _ in "xy")
        objective = objective_from(cfg, cost_from(cfg))
        live = LiveBytes()
        with live:
            for _ in range(2):  # the first step creates AdamW's state
                saved = SavedBytes([*T.parameters(), *g.parameters()])  # this step's
                with (
                    torch.autograd.graph.saved_tensors_hooks(saved.pack, lambda t: t),
                    torch.autocast(device_type, torch.bfloat16, enabled=precision == "bf16"),
                ):
                    # No finite check: fake tensors hold no values to check.
                    enot_update(T, g, opt_t, opt_g, x, y, objective, check=None)
        params = sum(p.nbytes for m in (T, g) for p in m.parameters())
        grads = sum(p.grad.nbytes for m in (T, g) for p in m.parameters() if p.grad is not None)
        state = [v for opt in opts for s in opt.state.values() for v in s.values()]
        state = sum(v.nbytes for v in state if torch.is_tensor(v))
        inputs = x.nbytes + y.nbytes
    return StepMemory(
        size, batch, precision, params, grads, state, saved.total, live.peak + params + inputs
    )


def check_real(cfg: Config, device: str) -> None:
    """The fake count beside the same step on real tensors on ``device``; they must agree."""
    fake = measure_step(cfg)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    real = measure_step(cfg, fake=False, device=device)
    same = "identical in every column" if fake == real else "DIFFERENT"
    print(
        f"batch {cfg.train.batch_size}: fake {fake.peak / MiB:,.1f} MiB, real {device} tensors "
        f"{real.peak / MiB:,.1f} MiB: {same}"
    )
    if device == "cuda":
        allocated = torch.cuda.max_memory_allocated() - base
        print(f"torch.cuda.max_memory_allocated: {allocated / MiB:,.1f} MiB")
    if fake != real:
        raise SystemExit(f"fake and real counts differ: {fake} vs {real}")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--presets", nargs="+", choices=PAPER_PRESETS, default=list(PAPER_PRESETS))
    p.add_argument("--precisions", nargs="+", choices=("no", "bf16"), default=["no", "bf16"])
    p.add_argument("--batch-size", type=int, default=0, help="per domain (default: the preset's)")
    p.add_argument("--check-real", action="store_true", help="paper64 on real tensors too")
    p.add_argument("--device", default="cpu", help="of --check-real's real tensors")
    args = p.parse_args(argv)
    print(f"torch {torch.__version__}; bytes counted on fake tensors (no data, any machine)")
    print(
        "| setting | px | batch | precision | weights MiB | gradients MiB | AdamW state MiB | "
        "activations MiB | peak MiB |"
    )
    for name in args.presets:
        for precision in args.precisions:
            cfg = get_preset(name)
            cfg.train.mixed_precision = precision
            cfg.train.batch_size = args.batch_size or cfg.train.batch_size
            print(measure_step(cfg).row(name), flush=True)
    if args.check_real:
        cfg = Config()
        cfg.train.batch_size = args.batch_size or 8
        check_real(cfg, args.device)


if __name__ == "__main__":
    main()
