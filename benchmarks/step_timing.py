"""Time one ENOT training step (forward, backward, both AdamW updates), as nanoGPT's bench.py
does: warm up, synchronise, median ms per step. Per row: images/s, FLOPs per step
(``torch.utils.flop_counter``), TFLOP/s and, on a GPU ``benchmarks.common`` knows, MFU against
its datasheet's dense peak of the mode. A compiled mode also gives its first call's seconds.

    python -m benchmarks.step_timing                  # CPU: cpu_preset and paper64, lean/naive
    python -m benchmarks.step_timing --device cuda --settings paper64 paper128 \\
        --modes fp32 tf32 bf16 bf16_cl bf16_compile --variants lean --json gpu_timing.json
"""

from __future__ import annotations

import argparse
import copy
import gc
import itertools
import resource
import sys
from dataclasses import dataclass

import torch
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.common import fp32_mode, machine, median_seconds, peak_of, write_json
from enot.config import Config, get_preset
from enot.inductor_cache import cache_per_cpu_capability
from enot.step import enot_gradients, enot_joint_losses
from enot.training.networks import build_networks, cost_from, objective_from, optimisers_from
from enot.training.updates import enot_update

SETTINGS = {
    "cpu_preset": lambda: get_preset("colored_mnist"),
    "paper64": Config,  # the dataclass defaults are the paper's 64 px setting: U-Net 48, batch 64
    # The 128 px paper tasks share these networks and batch; timed in the mode asked, whatever
    # precision the preset trains in.
    "paper128": lambda: get_preset("celeba2anime_128"),
    "fashion_preset": lambda: get_preset("fashion_bags2shoes"),
}
# The loop's step (enot.training.updates.enot_update); g three times and one backward of
# L_g + L_T (enot.step.enot_joint_losses), the reference it is tested against.
VARIANTS = ("lean", "naive")


@dataclass(frozen=True)
class Mode:
    fp32: str  # "ieee" or "tf32": how what stays float32 is computed on CUDA
    bf16: bool  # autocast, as the trainer runs --mixed-precision bf16
    channels_last: bool
    compile: bool  # torch.compile, inductor, static shapes (as --compile trains)

    @property
    def peak(self) -> str:
        return "bf16" if self.bf16 else self.fp32.replace("ieee", "fp32")


MODES = {
    "fp32": Mode("ieee", False, False, False),
    "fp32_cl": Mode("ieee", False, True, False),  # the CPU default: the trainer's layout
    "fp32_cl_compile": Mode("ieee", False, True, True),
    "tf32": Mode("tf32", False, False, False),
    "bf16": Mode("tf32", True, False, False),
    "bf16_cl": Mode("tf32", True, True, False),  # the trainer's default on a GPU
    "bf16_compile": Mode("tf32", True, True, True),
}


def method_step(variant: str, nets: tuple, x: torch.Tensor, y: torch.Tensor, cfg: Config) -> None:
    """One ENOT step on (T, g, opt_t, opt_g): forward, backward and both AdamW updates; the lean
    variant is the training loop's own update."""
    T, g, opt_t, opt_g = nets
    objective = objective_from(cfg, cost_from(cfg))
    if variant == "lean":
        enot_update(T, g, opt_t, opt_g, x, y, objective)
        return
    for opt in (opt_t, opt_g):
        opt.zero_grad(set_to_none=True)
    losses = enot_joint_losses(T, g, x, y, objective)
    (losses.g_loss + losses.t_loss).backward()
    opt_g.step()
    opt_t.step()


def count_flops(variant: str, T, g, cfg: Config, device: str = "cpu") -> int:
    """FLOPs of one step's forward and backward (AdamW's updates count none), on ``device``
    ("meta": shapes only)."""
    size, batch = cfg.data.image_size, cfg.train.batch_size
    x = torch.zeros(batch, 3, size, size, device=device)
    y = x.clone()
    objective = objective_from(cfg, cost_from(cfg))
    with FlopCounterMode(display=False) as counter:
        if variant == "lean":
            enot_gradients(T, g, x, y, objective)
        else:
            losses = enot_joint_losses(T, g, x, y, objective)
            (losses.g_loss + losses.t_loss).backward()
    return counter.get_total_flops()


def step_flops(cfg: Config) -> int:
    """FLOPs of one lean ENOT step at cfg's networks, batch and size, counted on the meta device
    (shapes flow, no arithmetic runs): 128 px takes a second, and the count equals a real
    step's (tests/test_data_feed.py)."""
    torch.manual_seed(0)
    T, g = build_networks(cfg)
    return count_flops("lean", T.train().to("meta"), g.train().to("meta"), cfg, device="meta")


def time_step(cfg: Config, mode: Mode, variant: str, device: str, repeats: int) -> dict:
    """Median seconds of one step with both AdamW updates, and the first call's seconds."""
    cfg = copy.deepcopy(cfg)
    cfg.train.channels_last = mode.channels_last
    torch.manual_seed(0)
    T, g = (m.to(device).train() for m in build_networks(cfg))
    flops = count_flops(
        variant, copy.deepcopy(T).to("meta"), copy.deepcopy(g).to("meta"), cfg, "meta"
    )
    if mode.compile:
        cache_per_cpu_capability()
        T, g = (torch.compile(m, dynamic=False) for m in (T, g))
    size, batch = cfg.data.image_size, cfg.train.batch_size
    gen = torch.Generator().manual_seed(0)
    x, y = ((torch.rand(batch, 3, size, size, generator=gen) * 2 - 1).to(device) for _ in "xy")
    opt_t, _, opt_g, _ = optimisers_from(cfg, T, g, 1)
    device_type = torch.device(device).type

    def one() -> None:
        with torch.autocast(device_type, torch.bfloat16, enabled=mode.bf16):
            method_step(variant, (T, g, opt_t, opt_g), x, y, cfg)

    with fp32_mode(mode.fp32):
        first = median_seconds(one, 1, 0, device)
        seconds = median_seconds(one, repeats, 3 if mode.compile else 1, device)
    return {"seconds": seconds, "first_call_s": first, "flops": flops}


def row(name: str, mode_name: str, variant: str, args: argparse.Namespace) -> dict:
    cfg, mode = SETTINGS[name](), MODES[mode_name]
    cfg.train.batch_size = args.batch_size or cfg.train.batch_size
    r = {"setting": name, "px": cfg.data.image_size, "batch": cfg.train.batch_size}
    r |= {"mode": mode_name, "variant": variant}
    if args.device == "cpu" and mode.fp32 == "tf32" and not mode.bf16:
        return {**r, "status": "skipped: TF32 is CUDA's"}
    repeats = args.repeats or (20 if cfg.data.image_size <= 32 or args.device != "cpu" else 3)
    try:
        t = time_step(cfg, mode, variant, args.device, repeats)
    except Exception as e:  # one mode failing (a compile, say) must not hide the others
        return {**r, "status": f"failed: {type(e).__name__}: {e}"[:300]}
    finally:  # the networks and their compiled graphs go before the next row
        torch._dynamo.reset()
        gc.collect()
        if args.device == "cuda":
            torch.cuda.empty_cache()
    peak = peak_of(torch.cuda.get_device_name(0)) if args.device == "cuda" else None
    achieved = t["flops"] / t["seconds"]
    r |= {"status": "ok", "repeats": repeats, "ms_per_step": t["seconds"] * 1e3}
    r |= {"images_per_s": 2 * cfg.train.batch_size / t["seconds"], "tflops": achieved / 1e12}
    r |= {"gflop_per_step": t["flops"] / 1e9, "first_call_s": t["first_call_s"]}
    return r | {"mfu": achieved / peak[mode.peak] if peak else None}


def main(argv: list[str] | None = None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--settings", nargs="+", choices=sorted(SETTINGS), default=["cpu_preset", "paper64"]
    )
    p.add_argument("--modes", nargs="+", choices=tuple(MODES), default=["fp32_cl"])
    p.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--repeats", type=int, default=0, help="default: 20 (CPU: 3 above 32 px)")
    p.add_argument("--batch-size", type=int, default=0, help="default: the setting's")
    p.add_argument("--json", help="write the machine and the rows here")
    args = p.parse_args(argv)
    print(machine(), flush=True)
    head = ("ms/step", "images/s", "GFLOP", "TFLOP/s", "MFU", "1st call s")
    print(
        f"{'setting':<11} {'px':>4} {'batch':>5} {'mode':<15} {'variant':<7}",
        *(f"{h:>9}" for h in head),
    )
    rows = []
    for name, mode_name, variant in itertools.product(args.settings, args.modes, args.variants):
        r = row(name, mode_name, variant, args)
        rows.append(r)
        cells = f"{name:<11} {r['px']:>4} {r['batch']:>5} {mode_name:<15} {variant:<7}"
        if r["status"] != "ok":
            print(cells, r["status"], flush=True)
            continue
        mfu = f"{r['mfu']:.1%}" if r["mfu"] is not None else "-"
        print(
            cells
            + f"{r['ms_per_step']:>10.1f} {r['images_per_s']:>9.1f} {r['gflop_per_step']:>9.1f} "
            f"{r['tflops']:>9.3f} {mfu:>9} {r['first_call_s']:>9.2f}",
            flush=True,
        )
    # ru_maxrss is in KiB on Linux: the peak of the whole process so far.
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak_rss:,.0f} MiB")
    write_json(args.json, {"command": sys.argv, "machine": machine(), "rows": rows})
    return rows


if __name__ == "__main__":
    main()
