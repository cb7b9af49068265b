"""Timing and FLOP counting of one ENOT training step, for `scripts/benchmark.py`.

``SETTINGS`` names the networks and batch of each benchmark setting; ``time_steps`` is the
median wall time of a step with both AdamW updates, after a warm-up; ``step_flops`` counts one
lean step's FLOPs on the meta device (``torch.utils.flop_counter``).
"""

from __future__ import annotations

import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from enot.config import Config, get_preset
from enot.costs import get_cost
from enot.step import enot_step, enot_step_loss
from enot.training.model_card import cpu_model_and_flags
from enot.training.networks import build_networks

SETTINGS = {
    "cpu_preset": lambda: get_preset("colored_mnist"),
    "paper64": Config,  # the dataclass defaults are the paper's 64 px setting: U-Net 48, batch 64
    # The 128 px paper tasks (handbags2shoes, ffhq2comics, celeba2anime_128) share these
    # networks and batch; timed in fp32 here, whatever precision the preset trains in.
    "paper128": lambda: get_preset("celeba2anime_128"),
    "fashion_preset": lambda: get_preset("fashion_bags2shoes"),
}


def plain_step(T, g, x, y, cost, tau, lam):
    """g three times (on y, on sg(T(x)), frozen on T(x)) and one backward of L_g + L_T."""
    losses = enot_step_loss(T, g, x, y, cost, tau, lam)
    (losses.g_loss + losses.t_loss).backward()
    return losses


VARIANTS = {"naive": plain_step, "lean": enot_step}


def time_steps(
    step_fn,
    T,
    g,
    cfg: Config,
    repeats: int,
    *,
    device: str = "cpu",
    precision: str = "no",
    warmup: int = 1,
) -> float:
    """Median seconds of one step with both AdamW updates, after ``warmup`` untimed steps.

    T and g must be on ``device`` already. ``precision`` "bf16" runs the step under autocast,
    as the trainer does through Accelerate. On CUDA the clock is read after a synchronize, so
    each step's queued kernels are inside its time.
    """
    size, batch = cfg.data.image_size, cfg.train.batch_size
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(batch, 3, size, size, generator=gen) * 2 - 1).to(device)
    y = (torch.rand(batch, 3, size, size, generator=gen) * 2 - 1).to(device)
    cost = get_cost(cfg.method.cost)
    opts = [torch.optim.AdamW(m.parameters(), lr=1e-5) for m in (T, g)]
    device_type = torch.device(device).type
    sync = torch.cuda.synchronize if device_type == "cuda" else (lambda: None)

    def one():
        for o in opts:
            o.zero_grad(set_to_none=True)
        with torch.autocast(device_type, torch.bfloat16, enabled=precision == "bf16"):
            step_fn(T, g, x, y, cost, cfg.enot.tau, cfg.enot.lam)
        for o in opts:
            o.step()

    for _ in range(warmup):  # allocator, kernel caches, a compile's first calls
        one()
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        one()
        sync()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


def count_flops(step_fn, T, g, cfg: Config, device: str = "cpu") -> int:
    size, batch = cfg.data.image_size, cfg.train.batch_size
    x = torch.zeros(batch, 3, size, size, device=device)
    with FlopCounterMode(display=False) as counter:
        step_fn(T, g, x, x.clone(), get_cost(cfg.method.cost), cfg.enot.tau, cfg.enot.lam)
    return counter.get_total_flops()


def step_flops(cfg: Config) -> int:
    """FLOPs of one ENOT step (the lean pass) at cfg's networks, batch and size.

    Counted on the meta device: shapes flow, no arithmetic runs, so 128 px takes a second; the
    count equals that of a real step (tests/test_data_feed.py checks it on a small setting).
    """
    torch.manual_seed(0)
    T, g = build_networks(cfg)
    T.train()
    g.train()
    return count_flops(enot_step, T.to("meta"), g.to("meta"), cfg, device="meta")


def cpu_description() -> str:
    """The CPU model, whether it has AVX-512, and the kernels torch picked (for speed figures)."""
    model, flags = cpu_model_and_flags()
    isa = "AVX-512" if "avx512f" in flags else "AVX2 only" if "avx2" in flags else "no AVX2"
    return (
        f"{model} ({isa}; torch kernels {torch.backends.cpu.get_cpu_capability()}), "
        f"{torch.get_num_threads()} threads"
    )
