"""Hours of a preset's full run on one GPU: the slower of compute and data per step, times the
preset's steps. Compute is the step's counted FLOPs over an assumed fraction (MFU) of the card's
dense bf16 peak; data is both domains' batch over the loaders' rate (``benchmarks.data_feed``).

    python -m benchmarks.predict_hours --preset handbags2shoes_128 --gpu h100 [--mfu 0.35]
"""

from __future__ import annotations

import argparse

from benchmarks.common import GPU_NAMES, GPU_PEAK_BF16
from benchmarks.data_feed import DEFAULT_MFU, default_data_rate
from benchmarks.step_memory import PAPER_PRESETS
from benchmarks.step_timing import step_flops
from data import resolve_kind
from enot.config import get_preset


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", required=True, choices=PAPER_PRESETS)
    p.add_argument("--gpu", required=True, choices=sorted(GPU_PEAK_BF16))
    p.add_argument("--mfu", type=float, default=DEFAULT_MFU, help="of the bf16 peak (assumed)")
    p.add_argument(
        "--data-rate",
        type=float,
        help="images/s of both domains' loaders (default: benchmarks.data_feed's figure)",
    )
    args = p.parse_args(argv)
    cfg = get_preset(args.preset)
    steps, batch, px = cfg.train.steps, cfg.train.batch_size, cfg.data.image_size
    flops, peak = step_flops(cfg), GPU_PEAK_BF16[args.gpu]
    data_rate, source = args.data_rate, "--data-rate"
    if data_rate is None:
        roles = ("source", "target")
        kinds = [resolve_kind(cfg.data.dataset, getattr(cfg.data, r))[0] for r in roles]
        data_rate, source = default_data_rate(kinds, px)
    compute_s, data_s = flops / (args.mfu * peak), 2 * batch / data_rate
    hours = steps * max(compute_s, data_s) / 3600
    print(f"preset {args.preset}: {steps:,} steps, batch {batch} per domain, {px} px")
    print(
        f"FLOPs per step: {flops} ({flops / 1e9:,.1f} GFLOP, counted by "
        f"torch.utils.flop_counter on one ENOT step)"
    )
    print(
        f"GPU: {GPU_NAMES[args.gpu]}, dense bf16 peak {peak / 1e12:g} TFLOP/s "
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


if __name__ == "__main__":
    main()
