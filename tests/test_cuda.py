"""The cuda tier (``pytest -m cuda``): what only a GPU can show, each against a reference.

Skipped, with the reason, where CUDA is absent (conftest). ``ENOT_CUDA_TIER_ON_CPU=1`` runs the
same bodies on the CPU, to check the tests themselves; their figures then say nothing of CUDA.
Float32 checks run with TF32 off (cuDNN convolutions default to TF32 on CUDA), against a
float64 CPU reference where one is named. docs/gpu.md runs this tier on a lent GPU.
"""

from __future__ import annotations

import copy
import json
import os

import pytest
import torch
from helpers import CUDA_TIER_ON_CPU, TRAIN, accelerate_launch, run

from benchmarks.common import fp32_mode

# The project's modules are imported in the tests: where the tier is skipped, collecting it
# costs no more than torch.
pytestmark = pytest.mark.cuda

DEVICE = "cpu" if os.environ.get(CUDA_TIER_ON_CPU) else "cuda"
LOGGED = ("g_loss", "t_loss", "w_dist", "transport_cost")
# Float32 against float64 on the same weights and batch: float32 keeps 24 bits (6e-8 per
# value). Measured on the CPU: the losses agree to 3e-7, T's gradient to 5e-5 of its norm (it
# flows back through g's large expectile term), g's to 1e-5. So 1e-4 of each loss and 1e-3 of
# each gradient's norm bound what reordered float32 sums do; a wrong kernel misses by far more.
REL_FP32, REL_GRAD = 1e-4, 1e-3


def _tiny(size: int = 32, batch: int = 8):
    from enot.config import get_preset

    cfg = get_preset("colored_mnist")
    cfg.data.image_size, cfg.train.batch_size = size, batch
    return cfg


def _batch(cfg, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    shape = (cfg.train.batch_size, 3, cfg.data.image_size, cfg.data.image_size)
    return tuple(torch.rand(shape, generator=gen, dtype=torch.float64) * 2 - 1 for _ in "xy")


def _step(T, g, x, y, cfg, autocast: bool = False):
    from enot.step import enot_gradients
    from enot.training.networks import cost_from, objective_from

    device = next(T.parameters()).device
    with torch.autocast(device.type, torch.bfloat16, enabled=autocast):
        objective = objective_from(cfg, cost_from(cfg))
        losses = enot_gradients(T, g, x.to(device), y.to(device), objective)
    return {k: getattr(losses, k).item() for k in LOGGED}


def _grads(module) -> torch.Tensor:
    return torch.cat([p.grad.detach().double().flatten().cpu() for p in module.parameters()])


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).norm() / b.norm()).item()


def _close(got: dict, want: dict, rel: float) -> None:
    scale = max(abs(v) for v in want.values())
    for k in LOGGED:
        assert abs(got[k] - want[k]) <= rel * max(abs(want[k]), 1e-3 * scale), (k, got, want)


def test_enot_step_on_the_device_matches_the_cpu_float64_step():
    from enot.training.networks import build_networks

    cfg = _tiny()
    torch.manual_seed(0)
    T, g = build_networks(cfg)
    x, y = _batch(cfg, 1)
    T64, g64 = copy.deepcopy(T).double(), copy.deepcopy(g).double()
    Td, gd = copy.deepcopy(T).to(DEVICE), copy.deepcopy(g).to(DEVICE)
    want = _step(T64, g64, x, y, cfg)
    with fp32_mode("ieee"):
        got = _step(Td, gd, x.float(), y.float(), cfg)
    _close(got, want, REL_FP32)
    for dev, ref in ((Td, T64), (gd, g64)):
        assert _rel(_grads(dev), _grads(ref)) <= REL_GRAD


def test_bf16_autocast_on_the_device_stays_within_the_cpu_measured_tolerance():
    from test_mixed_precision import REL_SAME_WEIGHTS

    from enot.config import get_preset
    from enot.training.networks import build_networks

    cfg = get_preset("celeba2anime_64")  # the paper's 64 px networks
    cfg.train.batch_size = 4
    torch.manual_seed(0)
    T, g = build_networks(cfg)
    x, y = (t.float() for t in _batch(cfg, 2))
    nets = [(copy.deepcopy(T).to(DEVICE), copy.deepcopy(g).to(DEVICE)) for _ in range(2)]
    with fp32_mode("ieee"):
        want = _step(*nets[0], x, y, cfg)
        got = _step(*nets[1], x, y, cfg, autocast=True)
    assert all(torch.isfinite(torch.tensor(v)) for v in got.values()), got
    assert got != want, "bf16 gave float32's losses bit for bit: autocast did not run"
    _close(got, want, REL_SAME_WEIGHTS)


def test_compiled_step_equals_the_eager_step():
    from test_compile import REL_FIRST

    from enot.training.networks import build_networks

    cfg = _tiny()
    torch.manual_seed(0)
    T, g = (m.to(DEVICE) for m in build_networks(cfg))
    x, y = (t.float() for t in _batch(cfg, 3))
    eager = (copy.deepcopy(T), copy.deepcopy(g))
    compiled = tuple(torch.compile(copy.deepcopy(m), dynamic=False) for m in (T, g))
    with fp32_mode("ieee"):
        want = _step(*eager, x, y, cfg)
        got = _step(*compiled, x, y, cfg)
    _close(got, want, REL_FIRST)
    for c, e in zip(compiled, eager):
        assert _rel(_grads(c), _grads(e)) <= REL_GRAD
    torch._dynamo.reset()


def test_fast_map_on_the_device_equals_the_module():
    from app_fixtures import randomise_batchnorm

    from app.fast_map import FastMap
    from models import UNet

    torch.manual_seed(0)
    T = UNet(3, 3, 48)  # the paper's map, at 128 px as the demo serves it
    randomise_batchnorm(T)
    T = T.eval().to(DEVICE)
    x = torch.rand(2, 3, 128, 128, device=DEVICE) * 2 - 1
    with fp32_mode("ieee"), torch.inference_mode():
        expected = T(x)
        got = FastMap(T)(x)
    assert got.device == expected.device and got.shape == expected.shape
    assert (got - expected).abs().max().item() <= 1e-4  # tests/test_app_fast_map.py's bound


# --- accelerate launch on the device: 6 steps, and 3 + a resume for 3 more ----------------------

COMMON = [
    "--preset",
    "colored_mnist",
    "--dataset",
    "folder",
    "--image-size",
    "32",
    "--t-base-channels",
    "4",
    "--g-nfilter",
    "4",
    "--batch-size",
    "16",
    "--steps",
    "6",
    "--checkpoint-every",
    "3",
    "--log-every",
    "1",
    "--sample-every",
    "3",
    "--eval-every",
    "0",
]


def test_step_memory_on_the_device_holds_at_least_the_fake_count():
    """The weights, gradients and AdamW state counted on fake tensors are the device's; the
    allocator's peak over the step holds at least the counted peak (its rounding and cuDNN's
    workspaces only add)."""
    from benchmarks.step_memory import measure_step

    cfg = _tiny(32, 8)
    predicted = measure_step(cfg)
    if DEVICE == "cuda":
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    real = measure_step(cfg, fake=False, device=DEVICE)
    assert (real.params, real.grads) == (predicted.params, predicted.grads)
    assert real.optimizer_state == predicted.optimizer_state
    if DEVICE == "cuda":
        assert torch.cuda.max_memory_allocated() - base >= 0.9 * predicted.peak
    else:
        assert real == predicted


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A full run, and the same run stopped at step 3 and resumed, on the device."""
    from benchmarks.data_feed import write_jpeg_folder

    root = tmp_path_factory.mktemp("cuda_runs")
    # 90 images a domain, 81 in train: 5 batches an epoch, so the resume at step 3 is mid-epoch
    # and the run crosses an epoch boundary after it.
    data = [
        "--source",
        str(write_jpeg_folder(root / "a", 90, 32, seed=1)),
        "--target",
        str(write_jpeg_folder(root / "b", 90, 32, seed=2)),
    ]

    def launch(out, *extra):
        cmd = [
            *accelerate_launch("--num_processes", "1"),
            TRAIN,
            *COMMON,
            *data,
            "--output-dir",
            str(out),
            *extra,
        ]
        res = run(cmd, timeout=600)
        assert res.returncode == 0, res.stderr[-3000:]
        return res

    launch(root / "full")
    launch(root / "part", "--stop-at", "3")
    resumed = launch(root / "part", "--resume", "latest")
    assert "resumed from" in resumed.stdout + resumed.stderr
    return root


def test_export_of_a_device_run_loads_and_translates_on_the_cpu(runs):
    from enot.export import load_export

    tr = load_export(runs / "full/export")
    assert tr.card.step == 6
    hardware = tr.card.provenance["hardware"]
    assert ("CPU:" in hardware) if DEVICE == "cpu" else (torch.cuda.get_device_name(0) in hardware)
    assert all(p.device.type == "cpu" for p in tr.T.parameters())
    x = torch.rand(3, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        on_cpu = tr.T(x)
        with fp32_mode("ieee"):
            on_device = copy.deepcopy(tr.T).to(DEVICE)(x.to(DEVICE)).cpu()
    assert on_cpu.shape == x.shape and torch.isfinite(on_cpu).all()
    assert (on_cpu - on_device).abs().max().item() <= 1e-4


def _weights(ckpt) -> torch.Tensor:
    from safetensors.torch import load_file

    return torch.cat(
        [
            t.double().flatten()
            for name in ("model", "model_1")
            for _, t in sorted(load_file(ckpt / f"{name}.safetensors").items())
        ]
    )


def test_a_device_run_stopped_and_resumed_equals_an_uninterrupted_one(runs):
    full = _weights(runs / "full/checkpoints/step_00000006")
    resumed = _weights(runs / "part/checkpoints/step_00000006")
    mid = _weights(runs / "part/checkpoints/step_00000003")
    moved = (full - mid).norm().item()
    assert moved > 1e-4, "the last three steps did not train"
    # On the CPU the two agree to 1e-6 (tests/test_train_e2e.py). CUDA's convolution backward
    # may sum in another order from run to run, and AdamW's early steps move each weight by
    # about lr whatever its gradient's size, so a few weights may differ by rounding amplified;
    # 5% of how far steps 4-6 moved the weights bounds that, while a resume that lost the
    # optimiser state or the data order misses by the size of the movement itself.
    assert (resumed - full).norm().item() <= 0.05 * moved

    def log(p):
        lines = (p / "log.jsonl").read_text().splitlines()
        return {r["step"]: r for r in map(json.loads, lines) if "w_dist" in r}

    a, b = log(runs / "full"), log(runs / "part")
    assert sorted(a) == sorted(b) == [1, 2, 3, 4, 5, 6]
    scale = max(abs(r["w_dist"]) for r in a.values())
    for step in (4, 5, 6):
        assert abs(a[step]["w_dist"] - b[step]["w_dist"]) <= 1e-2 * scale, (step, a, b)
