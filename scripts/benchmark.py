"""Benchmarks, each with its own command. Figures in README and issue notes come from here.

    python scripts/benchmark.py step            # ENOT step time, GFLOP/s, lean vs naive passes
    python scripts/benchmark.py step --settings cpu_preset --repeats 20
    python scripts/benchmark.py step --settings paper128 --variants lean --repeats 1
    python scripts/benchmark.py latency         # demo: one image end to end, 128 px U-Net 48
    python scripts/benchmark.py features        # FID features: clean-fid vs ours, images/s
    python scripts/benchmark.py compare         # ENOT vs NOT: s/outer iteration, FID vs time
    python scripts/benchmark.py memory          # peak memory of one paper step, fp32 and bf16
    python scripts/benchmark.py --compare --budget 120 --parts quality   # the same, shorter
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


def _flops(step_fn, T, g, cfg: Config) -> int:
    size, batch = cfg.data.image_size, cfg.train.batch_size
    x = torch.zeros(batch, 3, size, size)
    with FlopCounterMode(display=False) as counter:
        step_fn(T, g, x, x.clone(), get_cost(cfg.method.cost), cfg.enot.tau, cfg.enot.lam)
    return counter.get_total_flops()


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
    argv = sys.argv[1:]
    if "--compare" in argv:  # `benchmark.py --compare [flags]` is the compare subcommand
        argv = ["compare"] + [a for a in argv if a != "--compare"]
    args = p.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
