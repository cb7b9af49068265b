"""The demo's latency: PNG bytes -> decode -> crop/resize/normalise -> T -> PNG bytes, median
and p95 ms, with the eager module and with ``app.fast_map.FastMap`` (BatchNorm folded,
channels-last), and the largest difference of their outputs.

    python -m benchmarks.demo_latency          # 128 px, the paper's U-Net (base 48), 512 px PNG
"""

from __future__ import annotations

import argparse
import io
import time

import numpy as np
import torch
from PIL import Image

from enot.config import Config
from enot.training.networks import build_networks


def latency_image(side: int) -> bytes:
    """A smooth photo-like RGB PNG (gradients plus mild noise), as a user might upload."""
    yy, xx = np.mgrid[0:side, 0:side] / side
    rgb = np.stack([xx, yy, 0.5 + 0.5 * np.sin(6 * xx * yy)], axis=-1)
    rgb += np.random.default_rng(0).normal(0, 0.03, rgb.shape)
    buffer = io.BytesIO()
    Image.fromarray((rgb.clip(0, 1) * 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> None:
    from app.fast_map import FastMap
    from app.pipeline import encode_png, to_pil, translate
    from app.uploads import decode_upload

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--image-size", type=int, default=128, help="model side in pixels")
    p.add_argument("--input-size", type=int, default=512, help="side of the uploaded PNG")
    p.add_argument("--threads", type=int, default=2, help="torch intra-op threads (cores)")
    p.add_argument("--repeats", type=int, default=50)
    p.add_argument("--warmup", type=int, default=5)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = Config()  # the paper's networks: U-Net base 48
    cfg.data.image_size = args.image_size
    torch.manual_seed(0)
    T, _ = build_networks(cfg)
    T.eval()
    png = latency_image(args.input_size)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, device cpu; input "
        f"PNG {args.input_size}x{args.input_size} ({len(png) / 1024:.0f} KB), model "
        f"{cfg.data.image_size} px, U-Net base {cfg.t_net.base_channels}"
    )

    def eager(x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return T(x)

    outputs = {}
    for name, T_map in {"eager": eager, "fast": FastMap(T)}.items():

        def one() -> bytes:
            result = translate(T_map, decode_upload(png), cfg.data.image_size)
            outputs[name] = result.tx
            return encode_png(to_pil(result.tx))

        for _ in range(args.warmup):
            one()
        times = sorted(timed(one) for _ in range(args.repeats))
        p50, p95 = times[len(times) // 2], times[min(len(times) - 1, int(0.95 * len(times)))]
        print(
            f"{name:<6} end to end: median {p50 * 1e3:7.1f} ms  p95 {p95 * 1e3:7.1f} ms  "
            f"({args.repeats} runs)",
            flush=True,
        )
    diff = (outputs["eager"] - outputs["fast"]).abs().max().item()
    print(f"max |T_eager(x) - T_fast(x)| = {diff:.2e} (BatchNorm folded, channels-last)")


if __name__ == "__main__":
    main()
