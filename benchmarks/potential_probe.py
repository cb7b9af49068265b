"""What potential ENOT's loss learns at a frozen map, and whether its slope could hold T there.

    python scripts/train.py --preset emoji_32 --init ot_plan --init-seconds 420 --steps 1 \
        --eval-every 0 --output-dir runs/warm_only
    python -m benchmarks.potential_probe --map runs/warm_only/checkpoints/step_00000000 \
        --pairs random --seconds 900

T is frozen at the map of a checkpoint (here the exact-OT warm start, before ENOT's first step)
and g, from scratch, takes the ENOT potential's updates alone (``enot.step.enot_forward``, L_g
into g only), with the checkpoint's own settings (its config.json), on batches of the train
split: independent batches, or the exact OT matching's pairs (``--pairs ot_plan``); ``--jensen
ALPHA`` adds not_convex's convexity penalty on psi = k ||y||^2 - g along the batch's segments
[x_i, y_i]. At the end, on fixed train images and their exact-OT partners y_sigma(x), it reports:

- the dual estimate against the frozen map's transport cost and the exact OT of the samples;
- the stationarity T's loss needs, grad g = grad_y c(x, .), at T(x) and at the partner y_sigma(x)
  (cosine and median norm ratio), and at x the cosine of grad g with the way to the partner;
- g along the segment from x to y_sigma(x): its dip below the chord at the midpoint, against the
  most a c-concave g can dip there, k ||y - x||^2 / 4.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file

from benchmarks.common import machine
from enot.config import load_config
from enot.costs import quadratic_coefficient
from enot.not_losses import convex_psi, jensen_penalty
from enot.step import enot_forward, stationarity, trainable_params
from enot.training.artifacts import CONFIG
from enot.training.networks import build_networks, cost_from, objective_from, optimisers_from
from enot.training.plan_pairs import plan_pairs


def _slope(g, points, x, partner, cost) -> dict[str, float]:
    s = stationarity(g, x, points, cost)
    y = points.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(g(y).sum(), y)
    toward = torch.nn.functional.cosine_similarity(
        grad.flatten(1), (partner - points).flatten(1), dim=1, eps=1e-12
    )
    return {"cosine": s.cosine, "ratio": s.ratio, "cosine_toward_partner": toward.mean().item()}


def probe(g, T, x, partner, cost, k) -> dict:
    with torch.no_grad():
        tx = T(x)
        along = [g(x + t * (partner - x)).flatten().mean().item() for t in (0.0, 0.5, 1.0)]
        bound = (k * (partner - x).flatten(1).square().sum(1) / 4).mean().item()
    return {
        "at_T(x)": _slope(g, tx, x, partner, cost),
        "at_partner": _slope(g, partner, x, partner, cost),
        "at_x": {
            "cosine_toward_partner": _slope(g, x.clone(), x, partner, cost)["cosine_toward_partner"]
        },
        "g_along_x_to_partner": along,
        "midpoint_dip": (along[0] + along[2]) / 2 - along[1],
        "c_concave_dip_bound": bound,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--map", required=True, help="a checkpoint folder whose T is frozen")
    parser.add_argument("--pairs", choices=("random", "ot_plan"), default="random")
    parser.add_argument("--jensen", type=float, default=0.0, help="convexity penalty weight")
    parser.add_argument("--g-nfilter", type=int, default=None, help="g's width (preset's)")
    parser.add_argument("--lr-g", type=float, default=None, help="g's lr (preset's)")
    parser.add_argument("--seconds", type=float, default=900.0)
    parser.add_argument("--log-every", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default="", help="write the log and the probe here")
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)
    cfg = load_config(Path(args.map) / CONFIG)
    cfg.data.flip = False  # the probe's pairs stay exact-OT partners, never mirrored apart
    if args.g_nfilter:
        cfg.g_net.nfilter = args.g_nfilter
    T, g = build_networks(cfg)
    T.load_state_dict(load_file(Path(args.map) / "model.safetensors"))
    T.requires_grad_(False)
    if args.lr_g:
        cfg.optim.lr_g = args.lr_g
    cost = cost_from(cfg)
    objective = objective_from(cfg, cost)
    _, _, opt, _ = optimisers_from(cfg, T, g, 1)  # g's AdamW as training builds it
    pairs = plan_pairs(cfg, Path(args.map).parent.parent, print)
    n, b = len(pairs), cfg.train.batch_size
    # Every matched pair in memory once: a random target is a random partner, since the
    # partners are a permutation of the matched targets.
    xs = torch.stack([pairs[i][0] for i in range(n)])
    partners = torch.stack([pairs[i][1] for i in range(n)])
    fixed = torch.arange(0, n, max(1, n // 256))[:256]
    x_fixed, partner_fixed = xs[fixed], partners[fixed]
    k = quadratic_coefficient(cfg.method.cost, x_fixed.shape)
    psi = convex_psi(lambda z: g(z).flatten(), k)
    log, step, start = [], 0, time.perf_counter()
    while time.perf_counter() - start < args.seconds:
        i = torch.randint(0, n, (b,))
        x = xs[i]
        y = partners[i] if args.pairs == "ot_plan" else partners[torch.randint(0, n, (b,))]
        opt.zero_grad(set_to_none=True)
        losses = enot_forward(T, g, x, y, objective)
        loss = losses.g_loss
        if args.jensen:
            loss = loss + args.jensen * jensen_penalty(psi, x, y, torch.rand(b))
        loss.backward(inputs=trainable_params(g))
        opt.step()
        step += 1
        if step % args.log_every == 0:
            row = {"step": step, "seconds": time.perf_counter() - start, **losses.floats()}
            log.append(row)
            print({k: round(v, 4) for k, v in row.items()}, flush=True)
    T.train()  # T's batch statistics, as training computes T(x)
    result = {
        "machine": machine(),
        "args": vars(args),
        "steps": step,
        "dual_end": statistics_tail(log, "w_dist"),
        "transport_end": statistics_tail(log, "transport_cost"),
        "probe": probe(g, T, x_fixed, partner_fixed, cost, k),
        "log": log,
    }
    print(json.dumps({k: v for k, v in result.items() if k != "log"}, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


def statistics_tail(log: list[dict], key: str) -> float | None:
    """The mean of ``key`` over the last fifth of the log."""
    tail = log[-max(1, len(log) // 5) :]
    return float(np.mean([r[key] for r in tail])) if tail else None


if __name__ == "__main__":
    sys.exit(main())
