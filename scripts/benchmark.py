"""Benchmarks, each with its own command. Figures in README and issue notes come from here.

python scripts/benchmark.py step            # ENOT step time, GFLOP/s, lean vs naive passes
python scripts/benchmark.py step --settings cpu_preset --repeats 20
python scripts/benchmark.py step --settings paper128 --variants lean --repeats 1
python scripts/benchmark.py latency         # demo: one image end to end, 128 px U-Net 48
python scripts/benchmark.py features        # FID features: clean-fid vs ours, images/s
python scripts/benchmark.py compare         # ENOT vs NOT: s/outer iteration, FID vs time
python scripts/benchmark.py compile         # --compile: speed-up and compile time
python scripts/benchmark.py translate       # enot-translate on 1,000 files, one corrupt
python scripts/benchmark.py translate --backend torch onnx --threads 2
python scripts/benchmark.py onnx            # enot-export: seconds, file size, parity
python scripts/benchmark.py memory          # peak memory of one paper step, fp32 and bf16
python scripts/benchmark.py --compare --budget 120 --parts quality   # the same, shorter
python scripts/benchmark.py data            # images/s of each data format vs a GPU step's need
python scripts/benchmark.py data --quick    # a smoke run: 200 images, 64 px
python scripts/benchmark.py predict --preset handbags2shoes_128 --gpu h100 [--mfu 0.35]
python scripts/benchmark.py gpu             # the GPU check: correctness, speed, memory, data,
python scripts/benchmark.py gpu --quick     #   a short training (docs/gpu.md); --quick: CPU
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

if __name__ == "__main__" and sys.argv[1:2] == ["gpu"]:
    # Before the other benchmarks' imports: a GPU machine may lack the project's dependencies,
    # and the check must still run there and name them (benchmarks.gpu_check).
    from benchmarks.gpu_check import main as gpu_main

    sys.exit(gpu_main(sys.argv[2:]))

import torch

from benchmarks.feature_throughput import compare_feature_paths
from benchmarks.gpu_scale import (
    PAPER_PRESETS,
    SETTING_OF_SIZE,
    bench_compile,
    bench_data,
    bench_memory,
    bench_predict,
    bench_translate,
)
from benchmarks.step_timing import SETTINGS, VARIANTS, count_flops, cpu_description, time_steps
from enot.config import Config, get_preset
from enot.training.networks import build_networks


def bench_step(args: argparse.Namespace) -> None:
    print(f"torch {torch.__version__}, device cpu: {cpu_description()}")
    print(
        f"{'setting':<11} {'px':>4} {'batch':>5} {'T base':>6} {'g nf':>5} {'layout':<13} "
        f"{'variant':<6} {'s/step':>8} {'GFLOP/step':>10} {'GFLOP/s':>8}"
    )
    for name, layout in ((n, lay) for n in args.settings for lay in args.layouts):
        cfg = SETTINGS[name]()
        cfg.train.channels_last = layout == "channels_last"
        torch.manual_seed(0)
        T, g = build_networks(cfg)
        T.train()
        g.train()
        repeats = args.repeats if args.repeats else (20 if cfg.data.image_size <= 32 else 3)
        results = {}
        for variant, fn in ((v, VARIANTS[v]) for v in args.variants):
            flops = count_flops(fn, T, g, cfg)
            sec = time_steps(fn, T, g, cfg, repeats)
            results[variant] = sec
            print(
                f"{name:<11} {cfg.data.image_size:>4} {cfg.train.batch_size:>5} "
                f"{cfg.t_net.t_base_channels:>6} {cfg.g_net.g_nfilter:>5} {layout:<13} "
                f"{variant:<6} {sec:>8.3f} {flops / 1e9:>10.1f} {flops / 1e9 / sec:>8.1f}",
                flush=True,
            )
        if len(results) == 2:
            print(
                f"{name:<11} lean/naive time ratio {results['lean'] / results['naive']:.3f} "
                f"(speed-up {results['naive'] / results['lean']:.2f}x), median of {repeats}"
            )
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
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, device cpu; input "
        f"PNG {args.input_size}x{args.input_size} ({len(png) / 1024:.0f} KB), model "
        f"{cfg.data.image_size} px, U-Net base {cfg.t_net.t_base_channels}"
    )
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
        print(
            f"{name:<6} end to end: median {p50 * 1e3:7.1f} ms  p95 {p95 * 1e3:7.1f} ms  "
            f"({args.repeats} runs)",
            flush=True,
        )
    diff = (outputs["eager"] - outputs["fast"]).abs().max().item()
    print(f"max |T_eager(x) - T_fast(x)| = {diff:.2e} (BatchNorm folded, channels-last)")


def _eager(T, x: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return T(x)


def bench_compare(args: argparse.Namespace) -> None:
    """ENOT vs NOT (K = --t-iters) on identical networks: paired time per outer iteration at
    each setting (benchmarks.comparison), then the judged map against training wall time, each
    method at the best of the same learning-rate search (benchmarks.time_to_quality)."""
    from dataclasses import asdict

    from benchmarks.comparison import time_outer_iterations, write_report
    from benchmarks.time_to_quality import plot_curves, report_lines, search_lr, train_for_budget
    from enot.evaluation.held_out import data_from_config
    from enot.evaluation.map_judge import MapJudge

    command = "python scripts/benchmark.py " + " ".join(sys.argv[1:])
    print(
        f"{cpu_description()}; torch {torch.__version__}, {torch.get_num_threads()} threads",
        flush=True,
    )
    timings = []
    for name in args.settings if "timing" in args.parts else ():
        cfg = SETTINGS[name]()
        repeats = args.repeats or (10 if cfg.data.image_size <= 32 else 1)
        t = time_outer_iterations(name, cfg, args.t_iters, repeats)
        timings.append(t)
        print(
            f"{name}: ENOT {t.seconds['enot']:.3f} s, NOT (K={t.t_iters}) "
            f"{t.seconds['not']:.3f} s per outer iteration: NOT/ENOT = {t.ratio:.2f}x "
            f"(median of {repeats}, paired); FLOPs per outer iteration "
            f"{t.flops['enot'] / 1e9:.1f} vs {t.flops['not'] / 1e9:.1f} GFLOP = "
            f"{t.flop_ratio:.2f}x",
            flush=True,
        )
    out = Path(args.out)
    quality, lines = None, []
    if "quality" in args.parts:
        cfg = get_preset(args.preset)
        judge = MapJudge(data_from_config(cfg), fid_images=10**9)
        if not judge.has_classifier:
            raise SystemExit(f"--preset {args.preset}: its task has no classifier to judge by")
        curves, searches = [], {}
        for method in ("enot", "not"):
            scale, searches[method] = (
                (args.lr_scales[0], [])
                if len(args.lr_scales) == 1
                else search_lr(cfg, method, args.t_iters, args.lr_scales, args.search_budget, judge)
            )
            print(f"{method}: learning-rate scale {scale:g}", flush=True)
            curves.append(
                train_for_budget(
                    cfg, method, args.t_iters, scale, args.budget, args.eval_every, judge
                )
            )
        out.mkdir(parents=True, exist_ok=True)
        png = plot_curves(
            curves,
            f"{args.preset}: {args.budget:.0f} s each (NOT K={args.t_iters})",
            out / "quality_vs_time.png",
        )
        print(f"plot: {png}")
        quality = {
            "preset": args.preset,
            "budget_s": args.budget,
            "search_s": args.search_budget,
            "lr_scales": args.lr_scales,
            "curves": [asdict(c) for c in curves],
            "searches": {m: [asdict(c) for c in runs] for m, runs in searches.items()},
        }
        lines = report_lines(curves, searches, args.budget, args.search_budget)
    json_path, md_path = write_report(out, command, timings, quality, lines)
    print(md_path.read_text())
    print(f"written: {json_path}, {md_path}")


def bench_features(args: argparse.Namespace) -> None:
    r = compare_feature_paths(
        args.folder, args.n, args.batch_size, args.workers, args.chunk, args.inception_weights
    )
    print(
        f"images: {r.images}  batch: {args.batch_size}  torch threads: "
        f"{torch.get_num_threads()}  load avg (1 min): {os.getloadavg()[0]:.2f}"
    )
    print(
        f"clean-fid get_folder_features:     {r.cleanfid_rate:6.2f} images/s "
        f"({r.cleanfid_seconds:.1f} s)"
    )
    print(
        f"enot.evaluation.metrics features_from_folder: {r.ours_rate:6.2f} images/s "
        f"({r.ours_seconds:.1f} s)"
    )
    print(
        f"speed-up: {r.cleanfid_seconds / r.ours_seconds:.2f}x; max |feature difference|: "
        f"{r.max_abs_difference:.3g}"
    )


def bench_onnx(args: argparse.Namespace) -> None:
    from benchmarks.translate_speed import onnx_figures

    print(f"{cpu_description()}; torch {torch.__version__}")
    for size in args.sizes:
        r = onnx_figures(Path(args.root), size)
        print(
            f"{size} px: exported in {r['seconds']:.1f} s; T.onnx {r['bytes'] / 2**20:.2f} MiB "
            f"(safetensors {r['weights_bytes'] / 2**20:.2f} MiB); max |onnxruntime - PyTorch| "
            f"{r['parity']:.2e} on {r['inputs']}",
            flush=True,
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("step", help="ENOT step time and achieved GFLOP/s, lean vs naive")
    s.add_argument(
        "--settings", nargs="+", choices=sorted(SETTINGS), default=["cpu_preset", "paper64"]
    )
    s.add_argument(
        "--repeats",
        type=int,
        default=0,
        help="timed steps per variant (default: 20 at 32 px, 3 at 64 px)",
    )
    s.add_argument(
        "--variants",
        nargs="+",
        choices=tuple(VARIANTS),
        default=list(VARIANTS),
        help="step implementations to time",
    )
    s.add_argument(
        "--layouts",
        nargs="+",
        choices=("channels_last", "contiguous"),
        default=["channels_last"],
        help="memory format of the networks' weights (--channels-last in training)",
    )
    s.set_defaults(func=bench_step)
    cp = sub.add_parser(
        "compile",
        help="the ENOT step eager and under torch.compile: speed-up, "
        "one-off compile time, first-step loss difference",
    )
    cp.add_argument(
        "--settings", nargs="+", choices=sorted(SETTINGS), default=["cpu_preset", "paper64"]
    )
    cp.add_argument(
        "--repeats", type=int, default=0, help="timed steps each (default: 20 at 32 px, 3 at 64 px)"
    )
    cp.set_defaults(func=bench_compile)
    lat = sub.add_parser(
        "latency",
        help="demo: one image end to end (decode, preprocess, T, encode), median and p95 ms",
    )
    lat.add_argument("--image-size", type=int, default=128, help="model side in pixels")
    lat.add_argument("--input-size", type=int, default=512, help="side of the uploaded PNG")
    lat.add_argument("--threads", type=int, default=2, help="torch intra-op threads (cores)")
    lat.add_argument("--repeats", type=int, default=50)
    lat.add_argument("--warmup", type=int, default=5)
    lat.set_defaults(func=bench_latency)
    f = sub.add_parser(
        "features",
        help="FID feature extraction: clean-fid's path vs ours, "
        "images/s side by side, and their largest difference",
    )
    f.add_argument("--n", type=int, default=128, help="digit PNGs to write when no --folder")
    f.add_argument("--folder", type=Path, help="an existing image folder instead")
    f.add_argument("--batch-size", type=int, default=32)
    f.add_argument("--workers", type=int, default=2, help="our resize threads")
    f.add_argument("--chunk", type=int, default=8, help="our images per forward pass")
    f.add_argument("--inception-weights", help="default_1.pt (default: auto-located)")
    f.set_defaults(func=bench_features)
    c = sub.add_parser(
        "compare",
        help="ENOT vs NOT on identical networks: time per outer "
        "iteration, and the judged map against wall time",
    )
    c.add_argument(
        "--parts", nargs="+", choices=("timing", "quality"), default=["timing", "quality"]
    )
    c.add_argument(
        "--settings",
        nargs="+",
        choices=sorted(SETTINGS),
        default=["cpu_preset", "paper64"],
        help="networks and batch for the timing",
    )
    c.add_argument(
        "--repeats",
        type=int,
        default=0,
        help="timed outer iterations per method (default: 10 at 32 px, 1 at 64 px)",
    )
    c.add_argument("--t-iters", type=int, default=10, help="NOT's T updates per g update (K)")
    c.add_argument(
        "--preset",
        choices=("colored_mnist", "fashion_bags2shoes", "emoji_32"),
        default="colored_mnist",
        help="task, networks and optimiser of the quality "
        "runs (a task with a classifier, or emoji_32 with its style judge)",
    )
    c.add_argument(
        "--budget",
        type=float,
        default=1200.0,
        help="seconds of training per method for the time-to-quality curves",
    )
    c.add_argument(
        "--eval-every",
        type=float,
        default=60.0,
        help="seconds of training between judgements (the clock stops meanwhile)",
    )
    c.add_argument(
        "--lr-scales",
        type=float,
        nargs="+",
        default=[0.3, 1.0, 3.0],
        help="learning-rate search: multiples of the preset's lr_T and lr_g, the "
        "same for both methods; one value skips the search",
    )
    c.add_argument(
        "--search-budget",
        type=float,
        default=150.0,
        help="seconds of training per scale in the search",
    )
    c.add_argument("--out", default="runs/compare", help="folder for the plot and the tables")
    c.set_defaults(func=bench_compare)
    m = sub.add_parser(
        "memory",
        help="peak memory of one training step of each paper preset: "
        "weights, gradients, AdamW state, activations",
    )
    m.add_argument("--presets", nargs="+", choices=PAPER_PRESETS, default=list(PAPER_PRESETS))
    m.add_argument(
        "--precisions",
        nargs="+",
        choices=("no", "bf16"),
        default=["no", "bf16"],
        help="'no' is fp32",
    )
    m.add_argument(
        "--batch-size", type=int, default=0, help="batch per domain (default: the preset's, 64)"
    )
    m.add_argument(
        "--check-real",
        action="store_true",
        help="also run paper64 on real CPU tensors and check the bytes agree",
    )
    m.set_defaults(func=bench_memory)
    from benchmarks.data_feed import DEFAULT_MFU, FORMAT_NAMES, GPU_PEAK_BF16

    d = sub.add_parser(
        "data",
        help="images/s of each data format through the trainer's "
        "loaders, against what an A100/H100 step needs",
    )
    d.add_argument(
        "--root",
        default="runs/datafeed_data",
        help="folder for the generated datasets, reused by later runs",
    )
    d.add_argument(
        "--images",
        type=int,
        default=0,
        help="images written per format (default 4000; 200 with --quick)",
    )
    d.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        choices=sorted(SETTING_OF_SIZE),
        default=sorted(SETTING_OF_SIZE),
        help="task sizes in px",
    )
    d.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[0, 1, 2],
        help="DataLoader worker processes (per domain) to try",
    )
    d.add_argument("--formats", nargs="+", choices=FORMAT_NAMES, default=list(FORMAT_NAMES))
    d.add_argument(
        "--ffhq-side",
        type=int,
        default=256,
        help="side of the FFHQ-like JPEGs (FFHQ: 1024 originals, 256/128 downscales)",
    )
    d.add_argument("--min-batches", type=int, default=30, help="timed batches at least")
    d.add_argument("--min-seconds", type=float, default=10.0, help="timed seconds at least")
    d.add_argument(
        "--mfu",
        type=float,
        default=DEFAULT_MFU,
        help="achieved fraction of the GPU's dense bf16 peak (an assumption)",
    )
    d.add_argument(
        "--quick", action="store_true", help="smoke run: 200 images, 64 px, 3 timed batches"
    )
    d.set_defaults(func=bench_data)
    pr = sub.add_parser("predict", help="expected hours of a preset's full run on one GPU")
    pr.add_argument("--preset", required=True, choices=PAPER_PRESETS)
    pr.add_argument("--gpu", required=True, choices=sorted(GPU_PEAK_BF16))
    pr.add_argument(
        "--mfu",
        type=float,
        default=DEFAULT_MFU,
        help="achieved fraction of the dense bf16 peak (an assumption)",
    )
    pr.add_argument(
        "--data-rate",
        type=float,
        default=None,
        help="images/s the loaders supply, both domains together (default: the "
        "figure measured by `benchmark.py data` for the preset's formats)",
    )
    pr.set_defaults(func=bench_predict)
    tr = sub.add_parser(
        "translate",
        help="scripts/translate.py on a folder of images with one "
        "corrupt file: outputs, exit status, images/s",
    )
    tr.add_argument("--sizes", type=int, nargs="+", choices=(32, 128), default=[32, 128])
    tr.add_argument("--images", type=int, default=1000, help="files in the folder, one corrupt")
    tr.add_argument("--batch-size", type=int, default=32)
    tr.add_argument("--root", default="runs/translate_bench", help="folder for inputs and outputs")
    tr.add_argument(
        "--backend",
        nargs="+",
        choices=("torch", "onnx"),
        default=["torch"],
        help="what runs T; onnx writes the export's T.onnx first, untimed",
    )
    tr.add_argument("--threads", type=int, default=2, help="threads of either backend")
    tr.set_defaults(func=bench_translate)
    sub.add_parser(
        "gpu", add_help=False, help="the GPU check (benchmarks.gpu_check; its own --help)"
    )
    ox = sub.add_parser(
        "onnx", help="enot-export of the 32 and 128 px preset networks: seconds, file size, parity"
    )
    ox.add_argument("--sizes", type=int, nargs="+", choices=(32, 128), default=[32, 128])
    ox.add_argument("--root", default="runs/onnx_bench", help="folder for the exports")
    ox.set_defaults(func=bench_onnx)
    argv = sys.argv[1:]
    if "--compare" in argv:  # `benchmark.py --compare [flags]` is the compare subcommand
        argv = ["compare"] + [a for a in argv if a != "--compare"]
    args = p.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
