"""Benchmarks, each with its own command. Figures in README and issue notes come from here.

    python scripts/benchmark.py step            # ENOT step time, GFLOP/s, lean vs naive passes
    python scripts/benchmark.py step --settings cpu_preset --repeats 20
    python scripts/benchmark.py step --settings paper128 --variants lean --repeats 1
    python scripts/benchmark.py latency         # demo: one image end to end, 128 px U-Net 48
    python scripts/benchmark.py features        # FID features: clean-fid vs ours, images/s
    python scripts/benchmark.py compare         # ENOT vs NOT: s/outer iteration, FID vs time
    python scripts/benchmark.py compile         # --compile: speed-up and compile time
    python scripts/benchmark.py memory          # peak memory of one paper step, fp32 and bf16
    python scripts/benchmark.py --compare --budget 120 --parts quality   # the same, shorter
    python scripts/benchmark.py data            # images/s of each data format vs a GPU step's need
    python scripts/benchmark.py data --quick    # a smoke run: 200 images, 64 px
    python scripts/benchmark.py predict --preset handbags2shoes_128 --gpu h100 [--mfu 0.35]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path


import torch
from torch.utils.flop_counter import FlopCounterMode

from enot.config import Config, get_preset
from enot.costs import get_cost
from benchmarks.feature_throughput import compare_feature_paths
from enot.training.networks import build_networks
from enot.step import enot_step, enot_step_loss

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


def _time_steps(step_fn, T, g, cfg: Config, repeats: int) -> float:
    size, batch = cfg.data.image_size, cfg.train.batch_size
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(batch, 3, size, size, generator=gen) * 2 - 1
    y = torch.rand(batch, 3, size, size, generator=gen) * 2 - 1
    cost = get_cost(cfg.method.cost)
    opts = [torch.optim.AdamW(m.parameters(), lr=1e-5) for m in (T, g)]

    def one():
        for o in opts:
            o.zero_grad(set_to_none=True)
        step_fn(T, g, x, y, cost, cfg.enot.tau, cfg.enot.lam)
        for o in opts:
            o.step()

    one()  # warm-up: allocator and oneDNN primitive caches
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        one()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


def _flops(step_fn, T, g, cfg: Config, device: str = "cpu") -> int:
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
    return _flops(enot_step, T.to("meta"), g.to("meta"), cfg, device="meta")


def cpu_description() -> str:
    """The CPU model, whether it has AVX-512, and the kernels torch picked: speed figures need it."""
    model, flags = "unknown CPU", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model == "unknown CPU":
                model = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    except OSError:
        pass
    isa = "AVX-512" if "avx512f" in flags else "AVX2 only" if "avx2" in flags else "no AVX2"
    return (f"{model} ({isa}; torch kernels {torch.backends.cpu.get_cpu_capability()}), "
            f"{torch.get_num_threads()} threads")


def bench_step(args: argparse.Namespace) -> None:
    print(f"torch {torch.__version__}, device cpu: {cpu_description()}")
    print(f"{'setting':<11} {'px':>4} {'batch':>5} {'T base':>6} {'g nf':>5} {'layout':<13} "
          f"{'variant':<6} {'s/step':>8} {'GFLOP/step':>10} {'GFLOP/s':>8}")
    for name, layout in ((n, l) for n in args.settings for l in args.layouts):
        cfg = SETTINGS[name]()
        cfg.train.channels_last = layout == "channels_last"
        torch.manual_seed(0)
        T, g = build_networks(cfg)
        T.train()
        g.train()
        repeats = args.repeats if args.repeats else (20 if cfg.data.image_size <= 32 else 3)
        results = {}
        for variant, fn in ((v, VARIANTS[v]) for v in args.variants):
            flops = _flops(fn, T, g, cfg)
            sec = _time_steps(fn, T, g, cfg, repeats)
            results[variant] = sec
            print(f"{name:<11} {cfg.data.image_size:>4} {cfg.train.batch_size:>5} "
                  f"{cfg.t_net.t_base_channels:>6} {cfg.g_net.g_nfilter:>5} {layout:<13} "
                  f"{variant:<6} {sec:>8.3f} {flops / 1e9:>10.1f} {flops / 1e9 / sec:>8.1f}",
                  flush=True)
        if len(results) == 2:
            print(f"{name:<11} lean/naive time ratio {results['lean'] / results['naive']:.3f} "
                  f"(speed-up {results['naive'] / results['lean']:.2f}x), median of {repeats}")
        # ru_maxrss is in KiB on Linux; it is the peak of the whole process so far.
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{name:<11} peak resident memory of this process so far: {peak:,.0f} MiB")


def bench_compile(args: argparse.Namespace) -> None:
    """The lean ENOT step eager and under torch.compile (inductor, static shapes, as --compile
    trains): the one-off compile time, the step time of each, and the first step's losses.

    The compile time is the first compiled call less a compiled step, with inductor's on-disk
    caches off, so it is what a first run on a fresh machine pays.
    """
    import copy

    os.environ["TORCHINDUCTOR_FORCE_DISABLE_CACHES"] = "1"

    print(f"torch {torch.__version__}, device cpu: {cpu_description()}")
    print(f"{'setting':<11} {'px':>4} {'batch':>5} {'eager s/step':>12} {'compiled s/step':>15} "
          f"{'speed-up':>8} {'compile s':>9} {'max rel. loss diff':>18}")
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
        eager_first = enot_step(copy.deepcopy(T), copy.deepcopy(g), x, y, cost, cfg.enot.tau,
                                cfg.enot.lam)
        t0 = time.perf_counter()
        compiled_first = enot_step(Tc, gc, x, y, cost, cfg.enot.tau, cfg.enot.lam)
        first_call = time.perf_counter() - t0
        diff = max(abs(getattr(eager_first, k).item() - getattr(compiled_first, k).item())
                   / max(abs(getattr(eager_first, k).item()), 1e-12)
                   for k in ("g_loss", "t_loss", "w_dist"))
        repeats = args.repeats or (20 if size <= 32 else 3)
        eager = _time_steps(enot_step, T, g, cfg, repeats)
        compiled = _time_steps(enot_step, Tc, gc, cfg, repeats)
        compile_s = first_call - compiled
        print(f"{name:<11} {size:>4} {batch:>5} {eager:>12.3f} {compiled:>15.3f} "
              f"{eager / compiled:>7.2f}x {compile_s:>9.1f} {diff:>18.1e}", flush=True)


def _latency_image(side: int) -> bytes:
    """A smooth photo-like RGB PNG (gradients plus mild noise), as a user might upload."""
    import io

    import numpy as np
    from PIL import Image

    yy, xx = np.mgrid[0:side, 0:side] / side
    rgb = np.stack([xx, yy, 0.5 + 0.5 * np.sin(6 * xx * yy)], axis=-1)
    rgb += np.random.default_rng(0).normal(0, 0.03, rgb.shape)
    buffer = io.BytesIO()
    Image.fromarray((rgb.clip(0, 1) * 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def bench_latency(args: argparse.Namespace) -> None:
    """Demo latency: PNG bytes -> decode -> crop/resize/normalise -> T -> PNG bytes."""
    from app.fast_map import FastMap
    from app.pipeline import encode_png, to_pil, translate
    from app.uploads import decode_upload

    torch.set_num_threads(args.threads)
    cfg = Config()  # the paper's networks: U-Net base 48
    cfg.data.image_size = args.image_size
    torch.manual_seed(0)
    T, _ = build_networks(cfg)
    T.eval()
    png = _latency_image(args.input_size)
    maps = {"eager": lambda x: _eager(T, x), "fast": FastMap(T)}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device cpu; input "
          f"PNG {args.input_size}x{args.input_size} ({len(png) / 1024:.0f} KB), model "
          f"{cfg.data.image_size} px, U-Net base {cfg.t_net.t_base_channels}")
    outputs = {}
    for name, T_map in maps.items():
        def one() -> bytes:
            result = translate(T_map, decode_upload(png), cfg.data.image_size)
            outputs[name] = result.tx
            return encode_png(to_pil(result.tx))

        for _ in range(args.warmup):
            one()
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            one()
            times.append(time.perf_counter() - t0)
        times.sort()
        p50, p95 = times[len(times) // 2], times[min(len(times) - 1, int(0.95 * len(times)))]
        print(f"{name:<6} end to end: median {p50 * 1e3:7.1f} ms  p95 {p95 * 1e3:7.1f} ms  "
              f"({args.repeats} runs)", flush=True)
    diff = (outputs["eager"] - outputs["fast"]).abs().max().item()
    print(f"max |T_eager(x) - T_fast(x)| = {diff:.2e} (BatchNorm folded, channels-last)")


def _eager(T, x: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return T(x)


def bench_compare(args: argparse.Namespace) -> None:
    """ENOT vs NOT (K = --t-iters) on identical networks: paired time per outer iteration at
    each setting (benchmarks.comparison), then the judged map against training wall time, each method
    at the best of the same learning-rate search (benchmarks.time_to_quality)."""
    from dataclasses import asdict

    from benchmarks.comparison import time_outer_iterations, write_report
    from enot.evaluation.held_out import data_from_config
    from enot.evaluation.map_judge import MapJudge
    from benchmarks.time_to_quality import plot_curves, report_lines, search_lr, train_for_budget

    command = "python scripts/benchmark.py " + " ".join(sys.argv[1:])
    print(f"{cpu_description()}; torch {torch.__version__}, {torch.get_num_threads()} threads",
          flush=True)
    timings = []
    for name in args.settings if "timing" in args.parts else ():
        cfg = SETTINGS[name]()
        repeats = args.repeats or (10 if cfg.data.image_size <= 32 else 1)
        t = time_outer_iterations(name, cfg, args.t_iters, repeats)
        timings.append(t)
        print(f"{name}: ENOT {t.seconds['enot']:.3f} s, NOT (K={t.t_iters}) "
              f"{t.seconds['not']:.3f} s per outer iteration: NOT/ENOT = {t.ratio:.2f}x "
              f"(median of {repeats}, paired); FLOPs per outer iteration "
              f"{t.flops['enot'] / 1e9:.1f} vs {t.flops['not'] / 1e9:.1f} GFLOP = "
              f"{t.flop_ratio:.2f}x", flush=True)
    out = Path(args.out)
    quality, lines = None, []
    if "quality" in args.parts:
        cfg = get_preset(args.preset)
        judge = MapJudge(data_from_config(cfg), fid_images=10**9)
        if not judge.has_classifier:
            raise SystemExit(f"--preset {args.preset}: its task has no classifier to judge by")
        curves, searches = [], {}
        for method in ("enot", "not"):
            scale, searches[method] = (args.lr_scales[0], []) if len(args.lr_scales) == 1 else \
                search_lr(cfg, method, args.t_iters, args.lr_scales, args.search_budget, judge)
            print(f"{method}: learning-rate scale {scale:g}", flush=True)
            curves.append(train_for_budget(cfg, method, args.t_iters, scale, args.budget,
                                           args.eval_every, judge))
        out.mkdir(parents=True, exist_ok=True)
        png = plot_curves(curves, f"{args.preset}: {args.budget:.0f} s each (NOT K={args.t_iters})",
                          out / "quality_vs_time.png")
        print(f"plot: {png}")
        quality = {"preset": args.preset, "budget_s": args.budget,
                   "search_s": args.search_budget, "lr_scales": args.lr_scales,
                   "curves": [asdict(c) for c in curves],
                   "searches": {m: [asdict(c) for c in runs] for m, runs in searches.items()}}
        lines = report_lines(curves, searches, args.budget, args.search_budget)
    json_path, md_path = write_report(out, command, timings, quality, lines)
    print(md_path.read_text())
    print(f"written: {json_path}, {md_path}")


def bench_features(args: argparse.Namespace) -> None:
    r = compare_feature_paths(args.folder, args.n, args.batch_size, args.workers, args.chunk,
                              args.inception_weights)
    print(f"images: {r.images}  batch: {args.batch_size}  torch threads: "
          f"{torch.get_num_threads()}  load avg (1 min): {os.getloadavg()[0]:.2f}")
    print(f"clean-fid get_folder_features:     {r.cleanfid_rate:6.2f} images/s "
          f"({r.cleanfid_seconds:.1f} s)")
    print(f"enot.evaluation.metrics features_from_folder: {r.ours_rate:6.2f} images/s "
          f"({r.ours_seconds:.1f} s)")
    print(f"speed-up: {r.cleanfid_seconds / r.ours_seconds:.2f}x; max |feature difference|: "
          f"{r.max_abs_difference:.3g}")


MEMORY_SETTINGS = ("celeba2anime_64", "handbags2shoes_128", "ffhq2comics_128", "celeba2anime_128")


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
        print(f"paper64 at batch {cfg.train.batch_size}, fp32: fake {fake.peak / 2**20:,.1f} MiB, "
              f"real CPU tensors {real.peak / 2**20:,.1f} MiB: "
              f"{'identical in every column' if same else 'DIFFERENT'}")
        if not same:
            raise SystemExit(f"fake and real counts differ: {fake} vs {real}")


PAPER_PRESETS = ("celeba2anime_64", "celeba2anime_128", "handbags2shoes_128", "ffhq2comics_128")
SETTING_OF_SIZE = {64: "paper64", 128: "paper128"}


def bench_data(args: argparse.Namespace) -> None:
    """Images/s of each format through the trainer's loaders, against what a GPU step needs."""
    from benchmarks import data_feed as feed
    from data import resolve_kind

    if args.quick:
        args.images = args.images or 200
        args.sizes, args.min_batches, args.min_seconds = [64], 3, 0.0
    images = args.images or 4000
    print(f"{cpu_description()}; {os.cpu_count()} cores seen; torch {torch.__version__}; "
          f"load avg (1 min) {os.getloadavg()[0]:.2f}", flush=True)
    specs = feed.prepare(Path(args.root), images, tuple(args.sizes), args.ffhq_side)
    gpus = ("a100", "h100")
    flops = {px: step_flops(SETTINGS[SETTING_OF_SIZE[px]]()) for px in args.sizes}
    need = {(px, gpu): feed.needed_rate(flops[px], gpu, args.mfu) for px in args.sizes
            for gpu in gpus}
    print(f"\nA GPU step (both domains, batch {feed.BATCH} each) needs 2 x {feed.BATCH} / "
          f"(FLOPs per step / (mfu x dense bf16 peak)) images/s; mfu {args.mfu} (assumed):")
    for px in args.sizes:
        for gpu in gpus:
            step_s = feed.step_seconds(flops[px], gpu, args.mfu)
            print(f"  {px:>3} px ({SETTING_OF_SIZE[px]}, {flops[px] / 1e9:,.0f} GFLOP/step) on "
                  f"{feed.GPU_NAMES[gpu]} ({feed.GPU_PEAK_BF16[gpu] / 1e12:.0f} TFLOP/s): "
                  f"{step_s * 1e3:.1f} ms/step -> {need[px, gpu]:,.0f} images/s "
                  f"({need[px, gpu] / 2:,.0f} per domain)")
    print(f"\nOne domain's loader (batch {feed.BATCH}, shuffle, drop_last, persistent workers), "
          f"timed >= {args.min_batches} batches and >= {args.min_seconds:g} s after start-up. "
          f"Fed: with workers, yes when its rate >= the per-domain need; with 0 workers the "
          f"training process loads between steps, so the mark is the time both domains' "
          f"loading adds to a step:")
    header = (f"{'format':<13} {'px':>4} {'workers':>7} {'build s':>7} {'1st batch s':>11} "
              f"{'images/s':>9} {'A100 fed':>8} {'H100 fed':>8}")
    print(header + "\n" + "-" * len(header), flush=True)
    results = {}
    for fmt in args.formats:
        for px in args.sizes:
            for workers in args.workers:
                kind, spec = specs[fmt, px]
                r = feed.measure(fmt, kind, spec, px, workers, min_batches=args.min_batches,
                                 min_seconds=args.min_seconds)
                results[fmt, px, workers] = r.rate
                fed = [feed.fed_mark(r, feed.step_seconds(flops[px], gpu, args.mfu))
                       for gpu in gpus]
                print(f"{fmt:<13} {px:>4} {workers:>7} {r.build_s:>7.2f} {r.first_batch_s:>11.2f} "
                      f"{r.rate:>9,.0f} {fed[0]:>8} {fed[1]:>8}", flush=True)
    print("\nWhich loaders keep each paper preset fed (each domain has its own loader, so a run "
          "uses 2 x workers worker processes besides the training process):")
    for name in PAPER_PRESETS:
        cfg = get_preset(name)
        px = cfg.data.image_size
        if px not in args.sizes:
            continue
        kinds = [resolve_kind(cfg.data.dataset, getattr(cfg.data, role))[0]
                 for role in ("source", "target")]
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
                said.append(f"{fmt} with {min(enough)} worker(s)" if enough else
                            f"{fmt} not with <= {max(tried)} workers (best {best:,.0f}/s)")
            print(f"  {name} ({' -> '.join(formats)}) on {feed.GPU_NAMES[gpu]}, "
                  f"{per_domain:,.0f} images/s per domain: {'; '.join(said)}")


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
        kinds = [resolve_kind(cfg.data.dataset, getattr(cfg.data, r))[0]
                 for r in ("source", "target")]
        data_rate, source = feed.default_data_rate(kinds, px)
    compute_s = flops / (args.mfu * peak)
    data_s = 2 * batch / data_rate
    hours = steps * max(compute_s, data_s) / 3600
    print(f"preset {args.preset}: {steps:,} steps, batch {batch} per domain, {px} px")
    print(f"FLOPs per step: {flops} ({flops / 1e9:,.1f} GFLOP, counted by "
          f"torch.utils.flop_counter on one ENOT step)")
    print(f"GPU: {feed.GPU_NAMES[args.gpu]}, dense bf16 peak {peak / 1e12:g} TFLOP/s "
          f"(datasheet); mfu {args.mfu:g} (assumed; --mfu)")
    print(f"data rate: {data_rate:,.1f} images/s, both domains ({source})")
    print("hours = steps * max(FLOPs / (mfu * peak), 2 * batch / data_rate) / 3600")
    print(f"      = {steps} * max({flops} / ({args.mfu:g} * {peak:g}), 2 * {batch} / "
          f"{data_rate:g}) / 3600")
    print(f"      = {steps} * max({compute_s:.6g} s, {data_s:.6g} s) / 3600 "
          f"({'compute' if compute_s >= data_s else 'data'}-bound)")
    print(f"hours: {hours:.6g}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("step", help="ENOT step time and achieved GFLOP/s, lean vs naive")
    s.add_argument("--settings", nargs="+", choices=sorted(SETTINGS),
                   default=["cpu_preset", "paper64"])
    s.add_argument("--repeats", type=int, default=0,
                   help="timed steps per variant (default: 20 at 32 px, 3 at 64 px)")
    s.add_argument("--variants", nargs="+", choices=tuple(VARIANTS), default=list(VARIANTS),
                   help="step implementations to time")
    s.add_argument("--layouts", nargs="+", choices=("channels_last", "contiguous"),
                   default=["channels_last"],
                   help="memory format of the networks' weights (--channels-last in training)")
    s.set_defaults(func=bench_step)
    cp = sub.add_parser("compile", help="the ENOT step eager and under torch.compile: speed-up, "
                                        "one-off compile time, first-step loss difference")
    cp.add_argument("--settings", nargs="+", choices=sorted(SETTINGS),
                    default=["cpu_preset", "paper64"])
    cp.add_argument("--repeats", type=int, default=0,
                    help="timed steps each (default: 20 at 32 px, 3 at 64 px)")
    cp.set_defaults(func=bench_compile)
    lat = sub.add_parser("latency", help="demo: one image end to end (decode, preprocess, T, "
                                         "encode), median and p95 ms")
    lat.add_argument("--image-size", type=int, default=128, help="model side in pixels")
    lat.add_argument("--input-size", type=int, default=512, help="side of the uploaded PNG")
    lat.add_argument("--threads", type=int, default=2, help="torch intra-op threads (cores)")
    lat.add_argument("--repeats", type=int, default=50)
    lat.add_argument("--warmup", type=int, default=5)
    lat.set_defaults(func=bench_latency)
    f = sub.add_parser("features", help="FID feature extraction: clean-fid's path vs ours, "
                                        "images/s side by side, and their largest difference")
    f.add_argument("--n", type=int, default=128, help="digit PNGs to write when no --folder")
    f.add_argument("--folder", type=Path, help="an existing image folder instead")
    f.add_argument("--batch-size", type=int, default=32)
    f.add_argument("--workers", type=int, default=2, help="our resize threads")
    f.add_argument("--chunk", type=int, default=8, help="our images per forward pass")
    f.add_argument("--inception-weights", help="default_1.pt (default: auto-located)")
    f.set_defaults(func=bench_features)
    c = sub.add_parser("compare", help="ENOT vs NOT on identical networks: time per outer "
                                       "iteration, and the judged map against wall time")
    c.add_argument("--parts", nargs="+", choices=("timing", "quality"),
                   default=["timing", "quality"])
    c.add_argument("--settings", nargs="+", choices=sorted(SETTINGS),
                   default=["cpu_preset", "paper64"], help="networks and batch for the timing")
    c.add_argument("--repeats", type=int, default=0,
                   help="timed outer iterations per method (default: 10 at 32 px, 1 at 64 px)")
    c.add_argument("--t-iters", type=int, default=10, help="NOT's T updates per g update (K)")
    c.add_argument("--preset", choices=("colored_mnist", "fashion_bags2shoes"),
                   default="colored_mnist", help="task, networks and optimiser of the quality "
                   "runs (a task with a classifier)")
    c.add_argument("--budget", type=float, default=1200.0,
                   help="seconds of training per method for the time-to-quality curves")
    c.add_argument("--eval-every", type=float, default=60.0,
                   help="seconds of training between judgements (the clock stops meanwhile)")
    c.add_argument("--lr-scales", type=float, nargs="+", default=[0.3, 1.0, 3.0],
                   help="learning-rate search: multiples of the preset's lr_T and lr_g, the "
                   "same for both methods; one value skips the search")
    c.add_argument("--search-budget", type=float, default=150.0,
                   help="seconds of training per scale in the search")
    c.add_argument("--out", default="runs/compare", help="folder for the plot and the tables")
    c.set_defaults(func=bench_compare)
    m = sub.add_parser("memory", help="peak memory of one training step of each paper preset: "
                                      "weights, gradients, AdamW state, activations")
    m.add_argument("--presets", nargs="+", choices=MEMORY_SETTINGS, default=list(MEMORY_SETTINGS))
    m.add_argument("--precisions", nargs="+", choices=("no", "bf16"), default=["no", "bf16"],
                   help="'no' is fp32")
    m.add_argument("--batch-size", type=int, default=0,
                   help="batch per domain (default: the preset's, 64)")
    m.add_argument("--check-real", action="store_true",
                   help="also run paper64 on real CPU tensors and check the bytes agree")
    m.set_defaults(func=bench_memory)
    from benchmarks.data_feed import DEFAULT_MFU, FORMAT_NAMES, GPU_PEAK_BF16

    d = sub.add_parser("data", help="images/s of each data format through the trainer's "
                                    "loaders, against what an A100/H100 step needs")
    d.add_argument("--root", default="runs/datafeed_data",
                   help="folder for the generated datasets, reused by later runs")
    d.add_argument("--images", type=int, default=0,
                   help="images written per format (default 4000; 200 with --quick)")
    d.add_argument("--sizes", type=int, nargs="+", choices=sorted(SETTING_OF_SIZE),
                   default=sorted(SETTING_OF_SIZE), help="task sizes in px")
    d.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2],
                   help="DataLoader worker processes (per domain) to try")
    d.add_argument("--formats", nargs="+", choices=FORMAT_NAMES, default=list(FORMAT_NAMES))
    d.add_argument("--ffhq-side", type=int, default=256,
                   help="side of the FFHQ-like JPEGs (FFHQ: 1024 originals, 256/128 downscales)")
    d.add_argument("--min-batches", type=int, default=30, help="timed batches at least")
    d.add_argument("--min-seconds", type=float, default=10.0, help="timed seconds at least")
    d.add_argument("--mfu", type=float, default=DEFAULT_MFU,
                   help="achieved fraction of the GPU's dense bf16 peak (an assumption)")
    d.add_argument("--quick", action="store_true",
                   help="smoke run: 200 images, 64 px, 3 timed batches")
    d.set_defaults(func=bench_data)
    pr = sub.add_parser("predict", help="expected hours of a preset's full run on one GPU")
    pr.add_argument("--preset", required=True, choices=PAPER_PRESETS)
    pr.add_argument("--gpu", required=True, choices=sorted(GPU_PEAK_BF16))
    pr.add_argument("--mfu", type=float, default=DEFAULT_MFU,
                    help="achieved fraction of the dense bf16 peak (an assumption)")
    pr.add_argument("--data-rate", type=float, default=None,
                    help="images/s the loaders supply, both domains together (default: the "
                    "figure measured by `benchmark.py data` for the preset's formats)")
    pr.set_defaults(func=bench_predict)
    argv = sys.argv[1:]
    if "--compare" in argv:  # `benchmark.py --compare [flags]` is the compare subcommand
        argv = ["compare"] + [a for a in argv if a != "--compare"]
    args = p.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
