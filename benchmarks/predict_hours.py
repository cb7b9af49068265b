"""Hours of a preset's full run on one GPU: the slower of compute and data per step, times the
preset's steps. Compute is the step's counted FLOPs over an assumed fraction (MFU, the PaLM
paper's model FLOPs utilisation) of the card's dense bf16 peak; data is both domains' batch
over the rate their loaders supply, measured with ``benchmarks.data_feed``.

    python -m benchmarks.predict_hours --preset handbags2shoes_128 --gpu h100 --data-rate 10772
"""

from __future__ import annotations

import argparse

from benchmarks.common import peak_of
from benchmarks.step_memory import PAPER_PRESETS
from benchmarks.step_timing import step_flops
from enot.config import get_preset

GPUS = {"a100": "A100 SXM", "h100": "H100 SXM"}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", required=True, choices=PAPER_PRESETS)
    p.add_argument("--gpu", required=True, choices=sorted(GPUS))
    p.add_argument("--mfu", type=float, default=0.35, help="of the bf16 peak (an assumption)")
    p.add_argument(
        "--data-rate",
        type=float,
        required=True,
        help="images/s both domains' loaders supply: 2 x the slower loader's data_feed rate",
    )
    args = p.parse_args(argv)
    cfg = get_preset(args.preset)
    steps, batch, px = cfg.train.steps, cfg.train.batch_size, cfg.data.image_size
    flops, peak = step_flops(cfg), peak_of(GPUS[args.gpu])["bf16"]
    compute_s, data_s = flops / (args.mfu * peak), 2 * batch / args.data_rate
    hours = steps * max(compute_s, data_s) / 3600
    print(f"preset {args.preset}: {steps:,} steps, batch {batch} per domain, {px} px")
    print(
        f"FLOPs per step: {flops} ({flops / 1e9:,.1f} GFLOP, counted by "
        f"torch.utils.flop_counter on one ENOT step)"
    )
    print(
        f"GPU: {GPUS[args.gpu]}, dense bf16 peak {peak / 1e12:g} TFLOP/s "
        f"(datasheet); mfu {args.mfu:g} (assumed; --mfu)"
    )
    print(f"data rate: {args.data_rate:,.1f} images/s, both domains (--data-rate)")
    print("hours = steps * max(FLOPs / (mfu * peak), 2 * batch / data_rate) / 3600")
    print(
        f"      = {steps} * max({flops} / ({args.mfu:g} * {peak:g}), 2 * {batch} / "
        f"{args.data_rate:g}) / 3600"
    )
    print(
        f"      = {steps} * max({compute_s:.6g} s, {data_s:.6g} s) / 3600 "
        f"({'compute' if compute_s >= data_s else 'data'}-bound)"
    )
    print(f"hours: {hours:.6g}")


if __name__ == "__main__":
    main()
