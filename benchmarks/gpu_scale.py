"""The commands that size a paper run before a GPU is rented (`scripts/benchmark.py memory`,
`data`, `predict` and `compile`): what one step allocates, what the loaders deliver against
what a GPU step needs, the hours a run should take, and what torch.compile changes.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch

from benchmarks.step_timing import SETTINGS, cpu_description, step_flops, time_steps
from enot.config import Config, get_preset
from enot.costs import get_cost
from enot.step import enot_step
from enot.training.networks import build_networks


def bench_compile(args: argparse.Namespace) -> None:
    """The lean ENOT step eager and under torch.compile (inductor, static shapes, as --compile
    trains): the one-off compile time, the step time of each, and the first step's losses.

    The compile time is the first compiled call less a compiled step, with inductor's on-disk
    caches off, so it is what a first run on a fresh machine pays.
    """
    import copy

    os.environ["TORCHINDUCTOR_FORCE_DISABLE_CACHES"] = "1"

    print(f"torch {torch.__version__}, device cpu: {cpu_description()}")
    print(
        f"{'setting':<11} {'px':>4} {'batch':>5} {'eager s/step':>12} {'compiled s/step':>15} "
        f"{'speed-up':>8} {'compile s':>9} {'max rel. loss diff':>18}"
    )
    for name in args.settings:
        cfg = SETTINGS[name]()
        torch.manual_seed(0)
        T, g = build_networks(cfg)
        T.train()
        g.train()
        Tc, gc = (torch.compile(copy.deepcopy(m), dynamic=False) for m in (T, g))
        size, batch = cfg.data.image_size, cfg.train.batch_size
        gen = torch.Generator().manual_seed(0)
        x, y = (torch.rand(batch, 3, size, size, generator=gen) * 2 - 1 for _ in range(2))
        cost = get_cost(cfg.method.cost)
        eager_first = enot_step(
            copy.deepcopy(T), copy.deepcopy(g), x, y, cost, cfg.enot.tau, cfg.enot.lam
        )
        t0 = time.perf_counter()
        compiled_first = enot_step(Tc, gc, x, y, cost, cfg.enot.tau, cfg.enot.lam)
        first_call = time.perf_counter() - t0
        diff = max(
            abs(getattr(eager_first, k).item() - getattr(compiled_first, k).item())
            / max(abs(getattr(eager_first, k).item()), 1e-12)
            for k in ("g_loss", "t_loss", "w_dist")
        )
        repeats = args.repeats or (20 if size <= 32 else 3)
        eager = time_steps(enot_step, T, g, cfg, repeats)
        compiled = time_steps(enot_step, Tc, gc, cfg, repeats)
        compile_s = first_call - compiled
        print(
            f"{name:<11} {size:>4} {batch:>5} {eager:>12.3f} {compiled:>15.3f} "
            f"{eager / compiled:>7.2f}x {compile_s:>9.1f} {diff:>18.1e}",
            flush=True,
        )


def bench_memory(args: argparse.Namespace) -> None:
    """Peak memory of one training step of each paper preset at batch 64, fp32 and bf16,
    counted on fake tensors (benchmarks.step_memory): what the step allocates, not the RSS."""
    from benchmarks.step_memory import HEADER, measure_step

    print(f"torch {torch.__version__}; bytes counted on fake tensors (no data, any machine)")
    print(HEADER)
    for name in args.presets:
        for precision in args.precisions:
            cfg = get_preset(name)
            cfg.train.mixed_precision = precision
            if args.batch_size:
                cfg.train.batch_size = args.batch_size
            print(measure_step(cfg).row(name), flush=True)
    if args.check_real:
        cfg = Config()
        cfg.train.batch_size = args.batch_size or 8
        fake, real = measure_step(cfg), measure_step(cfg, fake=False)
        same = fake == real
        print(
            f"paper64 at batch {cfg.train.batch_size}, fp32: fake {fake.peak / 2**20:,.1f} MiB, "
            f"real CPU tensors {real.peak / 2**20:,.1f} MiB: "
            f"{'identical in every column' if same else 'DIFFERENT'}"
        )
        if not same:
            raise SystemExit(f"fake and real counts differ: {fake} vs {real}")


PAPER_PRESETS = (
    "celeba2anime_64",
    "celeba2anime_128",
    "handbags2shoes_128",
    "ffhq2comics_128",
    "emoji_64",
)
SETTING_OF_SIZE = {64: "paper64", 128: "paper128"}


def bench_data(args: argparse.Namespace) -> None:
    """Images/s of each format through the trainer's loaders, against what a GPU step needs."""
    from benchmarks import data_feed as feed
    from data import resolve_kind

    if args.quick:
        args.images = args.images or 200
        args.sizes, args.min_batches, args.min_seconds = [64], 3, 0.0
    images = args.images or 4000
    print(
        f"{cpu_description()}; {os.cpu_count()} cores seen; torch {torch.__version__}; "
        f"load avg (1 min) {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    specs = feed.prepare(
        Path(args.root), images, tuple(args.sizes), args.ffhq_side, formats=tuple(args.formats)
    )
    gpus = ("a100", "h100")
    flops = {px: step_flops(SETTINGS[SETTING_OF_SIZE[px]]()) for px in args.sizes}
    need = {
        (px, gpu): feed.needed_rate(flops[px], gpu, args.mfu) for px in args.sizes for gpu in gpus
    }
    print(
        f"\nA GPU step (both domains, batch {feed.BATCH} each) needs 2 x {feed.BATCH} / "
        f"(FLOPs per step / (mfu x dense bf16 peak)) images/s; mfu {args.mfu} (assumed):"
    )
    for px in args.sizes:
        for gpu in gpus:
            step_s = feed.step_seconds(flops[px], gpu, args.mfu)
            print(
                f"  {px:>3} px ({SETTING_OF_SIZE[px]}, {flops[px] / 1e9:,.0f} GFLOP/step) on "
                f"{feed.GPU_NAMES[gpu]} ({feed.GPU_PEAK_BF16[gpu] / 1e12:.0f} TFLOP/s): "
                f"{step_s * 1e3:.1f} ms/step -> {need[px, gpu]:,.0f} images/s "
                f"({need[px, gpu] / 2:,.0f} per domain)"
            )
    print(
        f"\nOne domain's loader (batch {feed.BATCH}, shuffle, drop_last, persistent workers), "
        f"timed >= {args.min_batches} batches and >= {args.min_seconds:g} s after start-up. "
        f"Fed: with workers, yes when its rate >= the per-domain need; with 0 workers the "
        f"training process loads between steps, so the mark is the time both domains' "
        f"loading adds to a step:"
    )
    header = (
        f"{'format':<13} {'px':>4} {'workers':>7} {'build s':>7} {'1st batch s':>11} "
        f"{'images/s':>9} {'A100 fed':>8} {'H100 fed':>8}"
    )
    print(header + "\n" + "-" * len(header), flush=True)
    results = {}
    for fmt in args.formats:
        for px in args.sizes:
            for workers in args.workers:
                kind, spec = specs[fmt, px]
                r = feed.measure(
                    fmt,
                    kind,
                    spec,
                    px,
                    workers,
                    min_batches=args.min_batches,
                    min_seconds=args.min_seconds,
                )
                results[fmt, px, workers] = r.rate
                fed = [
                    feed.fed_mark(r, feed.step_seconds(flops[px], gpu, args.mfu)) for gpu in gpus
                ]
                print(
                    f"{fmt:<13} {px:>4} {workers:>7} {r.build_s:>7.2f} {r.first_batch_s:>11.2f} "
                    f"{r.rate:>9,.0f} {fed[0]:>8} {fed[1]:>8}",
                    flush=True,
                )
    print(
        "\nWhich loaders keep each paper preset fed (each domain has its own loader, so a run "
        "uses 2 x workers worker processes besides the training process):"
    )
    for name in PAPER_PRESETS:
        cfg = get_preset(name)
        px = cfg.data.image_size
        if px not in args.sizes:
            continue
        kinds = [
            resolve_kind(cfg.data.dataset, getattr(cfg.data, role))[0]
            for role in ("source", "target")
        ]
        formats = [feed.KIND_FORMAT[k] for k in kinds]
        for gpu in gpus:
            per_domain = need[px, gpu] / 2
            said = []
            for fmt in dict.fromkeys([*formats, "packed"]):
                if fmt not in args.formats:
                    continue
                tried = [w for w in args.workers if w > 0]
                if not tried:
                    continue
                enough = [w for w in tried if results[fmt, px, w] >= per_domain]
                best = max(results[fmt, px, w] for w in tried)
                said.append(
                    f"{fmt} with {min(enough)} worker(s)"
                    if enough
                    else f"{fmt} not with <= {max(tried)} workers (best {best:,.0f}/s)"
                )
            print(
                f"  {name} ({' -> '.join(formats)}) on {feed.GPU_NAMES[gpu]}, "
                f"{per_domain:,.0f} images/s per domain: {'; '.join(said)}"
            )


def bench_predict(args: argparse.Namespace) -> None:
    """Hours of a preset's full run on one GPU: the slower of compute and data per step."""
    from benchmarks import data_feed as feed
    from data import resolve_kind

    cfg = get_preset(args.preset)
    steps, batch, px = cfg.train.steps, cfg.train.batch_size, cfg.data.image_size
    flops = step_flops(cfg)
    peak = feed.GPU_PEAK_BF16[args.gpu]
    data_rate, source = args.data_rate, "--data-rate"
    if data_rate is None:
        kinds = [
            resolve_kind(cfg.data.dataset, getattr(cfg.data, r))[0] for r in ("source", "target")
        ]
        data_rate, source = feed.default_data_rate(kinds, px)
    compute_s = flops / (args.mfu * peak)
    data_s = 2 * batch / data_rate
    hours = steps * max(compute_s, data_s) / 3600
    print(f"preset {args.preset}: {steps:,} steps, batch {batch} per domain, {px} px")
    print(
        f"FLOPs per step: {flops} ({flops / 1e9:,.1f} GFLOP, counted by "
        f"torch.utils.flop_counter on one ENOT step)"
    )
    print(
        f"GPU: {feed.GPU_NAMES[args.gpu]}, dense bf16 peak {peak / 1e12:g} TFLOP/s "
        f"(datasheet); mfu {args.mfu:g} (assumed; --mfu)"
    )
    print(f"data rate: {data_rate:,.1f} images/s, both domains ({source})")
    print("hours = steps * max(FLOPs / (mfu * peak), 2 * batch / data_rate) / 3600")
    print(
        f"      = {steps} * max({flops} / ({args.mfu:g} * {peak:g}), 2 * {batch} / "
        f"{data_rate:g}) / 3600"
    )
    print(
        f"      = {steps} * max({compute_s:.6g} s, {data_s:.6g} s) / 3600 "
        f"({'compute' if compute_s >= data_s else 'data'}-bound)"
    )
    print(f"hours: {hours:.6g}")


def bench_translate(args: argparse.Namespace) -> None:
    """The translate command on 1,000 files, one corrupt, with each backend: outputs, exit
    status, images/s."""
    from benchmarks.translate_speed import time_translate

    torch.set_num_threads(args.threads)
    print(f"{cpu_description()}; torch {torch.__version__}")
    for size in args.sizes:
        for backend in args.backend:
            r = time_translate(
                Path(args.root), size, args.images, args.batch_size, backend, args.threads
            )
            print(
                f"{size} px, {backend}: exit status {r['returncode']}, {r['written']} PNGs "
                f"written in {r['seconds']:.1f} s, {r['rate']:.1f} images/s end to end "
                f"(process start, model load, decode, translate, PNG)\n  stdout: "
                f"{r['stdout']}\n  stderr: {r['stderr']}",
                flush=True,
            )
