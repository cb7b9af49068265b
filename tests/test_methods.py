"""NOT, convex NOT and NOT auto-encoders on the one trainer (enot.training.loop,
enot.not_step, enot.not_losses)."""

import copy
import json
import sys

import pytest
import torch
from helpers import run, run_in_process
from torch.optim.optimizer import register_optimizer_step_pre_hook

from data import build_domain
from enot.config import Config, ConfigError
from enot.config.cli import parse_cli
from enot.costs import quadratic_coefficient, sq_l2_per_size
from enot.evaluation.translate import per_image_mse
from enot.export import load_export
from enot.not_ae import ae_cost, pixel_l1
from enot.not_losses import convex_psi, jensen_penalty, not_map_loss, not_potential_loss
from enot.training.networks import build_networks
from models import UNet

# What each method's outer iteration returns (and the loop logs); ENOT's with T's stationarity,
# which the loop adds at each logged step.
ENOT_VALUES = {
    "g_loss",
    "t_loss",
    "expectile",
    "w_dist",
    "transport_cost",
    "grad_norm_t",
    "grad_norm_g",
    "stationarity_ratio",
    "stationarity_cosine",
}
NOT_VALUES = {"g_loss", "t_loss", "w_dist", "transport_cost", "grad_norm_t", "grad_norm_g"}


def _cfg(*flags: str) -> Config:
    cfg, _ = parse_cli(
        [
            "--preset",
            "colored_mnist",
            "--t-base-channels",
            "4",
            "--g-nfilter",
            "4",
            "--image-size",
            "16",
            *flags,
        ],
        "test",
    )
    return cfg


class _Trace:
    """The real training loop (``enot.training.loop.train``) run in this process for a few
    steps and watched from outside: every optimiser step in order, named by the network it
    moves ("T" or "g"), with a copy of g's weights just before it; the batches each domain's
    stream gave; the values the loop logged last. The watchers call the real code through."""

    def __init__(self, tmp_path, monkeypatch, steps: int, *flags: str, steep_g: bool = False):
        from enot.training import loop, networks, streams
        from enot.training import run as built_run

        cfg = _cfg(
            *flags,
            "--batch-size",
            "8",
            "--steps",
            str(steps),
            "--eval-every",
            "0",
            "--sample-every",
            str(steps),
            "--checkpoint-every",
            str(steps),
            "--ot-reference-samples",
            "0",
            "--output-dir",
            str(tmp_path / "run"),
        )
        self.steps: list[str] = []
        self.g_before: list[list[torch.Tensor]] = []
        self.draws = {"source": 0, "target": 0}
        built = []

        def build(cfg):
            T, g = networks.build_networks(cfg)
            if steep_g:  # a steep g, so that psi = k||y||^2 - g is not convex yet
                with torch.no_grad():
                    g.fc.weight.mul_(1e3)
            self.initial = [copy.deepcopy(m.state_dict()) for m in (T, g)]
            built.append((T, g))
            return T, g

        def before_step(opt, args, kwargs):
            T, g = built[0]
            moved = {id(p) for group in opt.param_groups for p in group["params"]}
            self.steps.append("T" if id(next(T.parameters())) in moved else "g")
            self.g_before.append([p.detach().clone() for p in g.parameters()])

        real_next = streams.InfiniteStream.__next__

        def counting_next(stream):
            # The source stream's seed is odd, the target's even (enot.training.run).
            self.draws["source" if stream.sampler.initial_seed % 2 else "target"] += 1
            return real_next(stream)

        monkeypatch.setattr(built_run, "build_networks", build)
        monkeypatch.setattr(streams.InfiniteStream, "__next__", counting_next)
        handle = register_optimizer_step_pre_hook(before_step)
        try:
            self.values = loop.train(cfg)["final"]
        finally:
            handle.remove()
        self.T, self.g = built[0]


def _same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.equal(u, v) for u, v in zip(a, b))


# --- the loop's updates: NOT's K T-updates per potential update, ENOT's 1:1 -----------------


@pytest.mark.parametrize("k", [1, 4])
def test_not_runs_exactly_k_t_updates_per_potential_update(k, tmp_path, monkeypatch):
    run = _Trace(tmp_path, monkeypatch, 3, "--method", "not", "--t-iters", str(k))
    # The optimisers' own steps, in order: K map updates, then one potential update.
    assert run.steps == (["T"] * k + ["g"]) * 3
    assert run.draws == {"source": 3 * (k + 1), "target": 3}
    assert set(run.values) == NOT_VALUES


def test_enot_iteration_is_one_to_one(tmp_path, monkeypatch):
    run = _Trace(tmp_path, monkeypatch, 2)
    assert run.steps == ["g", "T"] * 2
    assert run.draws == {"source": 2, "target": 2}
    assert set(run.values) == ENOT_VALUES


def test_t_updates_leave_the_potential_alone(tmp_path, monkeypatch):
    """The K T-steps must not touch g: only the potential step moves it."""
    run = _Trace(tmp_path, monkeypatch, 2, "--method", "not", "--t-iters", "2")
    assert run.steps == ["T", "T", "g"] * 2
    # At the potential step g still has its weights from before the T updates...
    assert _same(run.g_before[0], run.g_before[1]) and _same(run.g_before[0], run.g_before[2])
    # ...and the potential step moved it: the next iteration's T-steps see another g.
    assert not _same(run.g_before[2], run.g_before[3])
    assert _same(run.g_before[3], run.g_before[4]) and _same(run.g_before[3], run.g_before[5])


# --- losses on hand-made numbers --------------------------------------------------------------


def test_not_losses_on_hand_made_tensors():
    c = torch.tensor([1.0, 3.0])
    f_tx = torch.tensor([0.5, 1.5])
    f_y = torch.tensor([2.0, 0.0])
    m = not_map_loss(c, f_tx)
    assert m.t_loss.item() == pytest.approx(((1 - 0.5) + (3 - 1.5)) / 2)
    assert m.transport_cost.item() == pytest.approx(2.0)
    p = not_potential_loss(f_tx, f_y, c)
    assert p.g_loss.item() == pytest.approx(1.0 - 1.0)
    assert p.w_dist.item() == pytest.approx(2.0 - 0.0)  # mean f(y) + mean[c - f(T(x))]
    pen = not_potential_loss(f_tx, f_y, c, jensen=torch.tensor(3.0), alpha=0.5)
    assert pen.g_loss.item() == pytest.approx(1.5) and pen.jensen.item() == 3.0


def _pairs():
    gen = torch.Generator().manual_seed(0)
    y1 = torch.randn(64, 3, 4, 4, generator=gen, dtype=torch.float64)
    y2 = torch.randn(64, 3, 4, 4, generator=gen, dtype=torch.float64)
    t = torch.rand(64, generator=gen, dtype=torch.float64)
    return y1, y2, t


def test_jensen_penalty_is_zero_for_convex_psi():
    y1, y2, t = _pairs()
    w = torch.randn(48, dtype=torch.float64)
    convex = {
        "squared norm": lambda y: y.flatten(1).square().sum(1),
        "log-sum-exp": lambda y: torch.logsumexp(y.flatten(1), dim=1),
        "abs": lambda y: y.flatten(1).abs().sum(1),
    }
    for name, psi in convex.items():
        assert jensen_penalty(psi, y1, y2, t).item() == 0.0, name
    # Affine: Jensen holds with equality, so only rounding can show.
    assert jensen_penalty(lambda y: y.flatten(1) @ w + 1.0, y1, y2, t).item() < 1e-12


def test_jensen_penalty_is_positive_for_non_convex_psi():
    y1, y2, t = _pairs()
    concave = jensen_penalty(lambda y: -y.flatten(1).square().sum(1), y1, y2, t)
    # For psi = -||y||^2 the Jensen gap is exactly t (1 - t) ||y1 - y2||^2.
    exact = (t * (1 - t) * (y1 - y2).flatten(1).square().sum(1)).mean()
    assert concave.item() == pytest.approx(exact.item(), rel=1e-10) and concave.item() > 1
    wavy = jensen_penalty(lambda y: torch.sin(3 * y.flatten(1)).sum(1), y1, y2, t)
    assert wavy.item() > 0


def test_psi_is_scaled_by_the_cost():
    """psi = k||y||^2 - f: f = 0 is c-concave (psi convex, no penalty); f = 2k||y||^2 is not."""
    y1, y2, t = _pairs()
    k = quadratic_coefficient("sq_l2_per_size", y1.shape)
    assert k == pytest.approx(1 / (3 * 4))
    # c(x, y) = k ||x - y||^2 for the named cost.
    assert sq_l2_per_size(y1, y2).double() == pytest.approx(
        k * (y1 - y2).flatten(1).square().sum(1)
    )
    zero = convex_psi(lambda y: torch.zeros(len(y), dtype=y.dtype), k)
    assert jensen_penalty(zero, y1, y2, t).item() == 0.0
    steep = convex_psi(lambda y: 2 * k * y.flatten(1).square().sum(1), k)
    gap = jensen_penalty(steep, y1, y2, t)
    assert gap.item() == pytest.approx(
        (k * t * (1 - t) * (y1 - y2).flatten(1).square().sum(1)).mean().item(), rel=1e-10
    )
    with pytest.raises(ValueError, match="quadratic cost"):
        quadratic_coefficient("lpips", y1.shape)


def test_convex_not_logs_and_applies_the_penalty(tmp_path, monkeypatch):
    """Same networks, same batches: alpha > 0 must change g's update, alpha 0 must be NOT."""

    def g_after(method: str, alpha: str):
        flags = ("--method", method, "--t-iters", "1", "--convex-alpha", alpha)
        run = _Trace(tmp_path / f"{method}_{alpha}", monkeypatch, 1, *flags, steep_g=True)
        return run.values, [p.detach().clone() for p in run.g.parameters()]

    penalised, g_pen = g_after("not_convex", "0.5")
    free, g_free = g_after("not_convex", "0.0")
    plain, g_plain = g_after("not", "0.5")
    assert penalised["jensen"] > 0
    assert any(not torch.equal(a, b) for a, b in zip(g_pen, g_free))
    assert all(torch.equal(a, b) for a, b in zip(g_free, g_plain))


# --- NOT-AE ----------------------------------------------------------------------------------


def test_bottleneck_limits_the_rank_of_the_map():
    """Without skips every output depends on the input through `dim` numbers: rank J <= dim."""
    torch.manual_seed(0)
    x = torch.randn(1, 3, 16, 16, dtype=torch.float64)

    def rank(model):
        model = model.double().eval()
        jac = torch.autograd.functional.jacobian(lambda z: model(z).flatten(), x)
        return torch.linalg.matrix_rank(jac.reshape(768, 768)).item()

    squeezed = UNet(3, 3, 4, skips=False, bottleneck_dim=5, image_size=16)
    assert rank(squeezed) <= 5
    leaky = UNet(3, 3, 4, skips=True, bottleneck_dim=5, image_size=16)  # skips bypass it
    assert rank(leaky) > 50


def test_not_ae_config_builds_a_bottleneck_t_and_maps_source_to_itself():
    cfg = _cfg("--method", "not_ae", "--no-t-residual", "--ae-bottleneck", "7")
    assert cfg.data.target == cfg.data.source == "2"
    T, _ = build_networks(cfg)
    assert T.config.skips is False and T.config.bottleneck_dim == 7
    assert cfg.architecture()["t_bottleneck"] == 7
    assert _cfg().architecture()["t_bottleneck"] == 0  # enot: a checkpoint of other networks


def test_not_ae_potential_weights_change_after_a_step(tmp_path, monkeypatch):
    """The NOT-AE source never trains its potential; here both networks move in one iteration."""
    loop = _Trace(
        tmp_path, monkeypatch, 1, "--method", "not_ae", "--no-t-residual", "--t-iters", "2"
    )
    assert loop.steps == ["T", "T", "g"]
    for old, model in zip(loop.initial, (loop.T, loop.g)):
        moved = [
            k
            for k, v in model.state_dict().items()
            if v.is_floating_point() and not torch.equal(old[k], v)
        ]
        assert len(moved) > 5, type(model).__name__
    # Every weight got a gradient (the head's bias gets exactly 0: it cancels in L_f).
    assert all(p.grad is not None for p in loop.g.parameters())


def test_ae_costs():
    x, y = torch.rand(3, 3, 16, 16) * 2 - 1, torch.rand(3, 3, 16, 16) * 2 - 1
    assert torch.allclose(ae_cost("l2")(x, y), (x - y).square().mean(dim=(1, 2, 3)))
    assert torch.allclose(ae_cost("l1")(x, y), (x - y).abs().mean(dim=(1, 2, 3)))
    assert pixel_l1(x, x).abs().max() == 0


def test_lpips_cost_with_local_alexnet_weights(tmp_path):
    """Real lpips on a real (randomly initialised) torchvision AlexNet file: no download."""
    from torchvision.models import alexnet

    torch.manual_seed(0)
    path = tmp_path / "alexnet.pth"
    torch.save(alexnet().state_dict(), path)
    cost = ae_cost("lpips", str(path))
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    y = (torch.rand(2, 3, 32, 32) * 2 - 1).requires_grad_(True)
    d = cost(x, y)
    assert d.shape == (2,) and (d > 0).all()
    d.sum().backward()
    assert y.grad.abs().sum() > 0
    assert cost(x, x).abs().max() < 1e-6


# --- the CLI boundary -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "flags,message",
    [
        (["--method", "nope"], "'nope' is not one of enot, not, not_convex, not_ae"),
        (["--t-iters", "0"], "--t-iters: 0 is outside [1, 10000]"),
        (["--convex-alpha", "-1"], "--convex-alpha: -1.0 is outside"),
        (["--ae-cost", "l3"], "'l3' is not one of l2, l1, lpips"),
        (["--method", "not_ae"], "--method not_ae needs --no-t-residual"),
        (
            ["--method", "not_ae", "--no-t-residual", "--target", "5"],
            "maps the source domain to itself",
        ),
    ],
)
def test_cli_rejects_bad_method_settings(train_cmd, flags, message):
    res = run_in_process(train_cmd(*flags, "--dry-run"))
    assert res.returncode == 2
    assert message in res.stderr and "Traceback" not in res.stderr


def test_dry_run_prints_the_method_section(train_cmd):
    res = run_in_process(train_cmd("--method", "not_convex", "--t-iters", "5", "--dry-run"))
    assert res.returncode == 0, res.stderr
    method = json.loads(res.stdout)["method"]
    assert method["method"] == "not_convex" and method["t_iters"] == 5
    assert method["convex_alpha"] == 0.01


def test_a_config_without_the_method_section_is_refused_by_name():
    # No release wrote a config without it: nothing to migrate, and nothing is guessed.
    d = Config().to_dict()
    del d["method"]
    with pytest.raises(ConfigError, match="does not match this version of the code: 'method'"):
        Config.from_dict(d)
    assert Config.from_dict(Config().to_dict()).method.method == "enot"


def test_missing_lpips_weights_stop_the_run_with_the_fix(tmp_path, train_cmd):
    missing = tmp_path / "alexnet.pth"
    res = run(
        train_cmd(
            "--method",
            "not_ae",
            "--no-t-residual",
            "--ae-cost",
            "lpips",
            "--lpips-weights",
            str(missing),
            "--output-dir",
            str(tmp_path / "r"),
        )
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert str(missing) in res.stderr and "--lpips-weights" in res.stderr


# --- end to end -------------------------------------------------------------------------------


@pytest.mark.slow
def test_not_trains_exports_and_loads(tmp_path, train_cmd):
    out = tmp_path / "not"
    res = run(
        train_cmd(
            "--method",
            "not",
            "--t-iters",
            "3",
            "--steps",
            "4",
            "--checkpoint-every",
            "4",
            "--output-dir",
            str(out),
        )
    )
    assert res.returncode == 0, res.stderr[-3000:]
    ckpt = out / "checkpoints/step_00000004"
    opt_t = torch.load(ckpt / "optimizer.bin", weights_only=False)
    opt_g = torch.load(ckpt / "optimizer_1.bin", weights_only=False)
    assert {int(s["step"]) for s in opt_t["state"].values()} == {12}  # 4 outer x K = 3
    assert {int(s["step"]) for s in opt_g["state"].values()} == {4}
    log = [json.loads(s) for s in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3, 4]
    assert NOT_VALUES <= set(log[-1])
    tr = load_export(out / "export")
    assert tr.config.method.method == "not" and tr.card.step == 4
    with torch.no_grad():
        assert tr.T(torch.zeros(2, 3, 32, 32)).shape == (2, 3, 32, 32)


@pytest.mark.slow
def test_not_ae_reconstructs_digits_not_noise_and_evaluates(tmp_path, train_cmd):
    """After a short NOT-AE run, digits come back much better than noise (after one step it is
    the other way round): the bottleneck (16 numbers for 3072) leaves no room for an image it
    was not trained on. scripts/evaluate.py
    scores the export against the source test split (target = source)."""
    out = tmp_path / "ae"
    res = run(
        train_cmd(
            "--method",
            "not_ae",
            "--no-t-residual",
            "--ae-bottleneck",
            "16",
            "--t-base-channels",
            "8",
            "--batch-size",
            "32",
            "--t-iters",
            "3",
            "--lr-t",
            "1e-3",
            "--lr-g",
            "1e-3",
            "--steps",
            "60",
            "--log-every",
            "20",
            "--sample-every",
            "60",
            "--checkpoint-every",
            "60",
            "--ema-decay",
            "0",
            "--output-dir",
            str(out),
        )
    )
    assert res.returncode == 0, res.stderr[-3000:]
    tr = load_export(out / "export")
    assert tr.card.source == tr.card.target == "2"
    assert tr.card.cost == "l2"  # the card names the cost NOT-AE ran with, not --cost's
    test = build_domain("colored_mnist", "2", 32, "test", seed=0)
    x = torch.stack([test[i] for i in range(len(test))])
    noise = torch.rand_like(x) * 2 - 1
    with torch.no_grad():
        digits_err = per_image_mse(x, tr.T(x)).mean().item()
        noise_err = per_image_mse(noise, tr.T(noise)).mean().item()
    assert noise_err > 2 * digits_err, (digits_err, noise_err)

    ev = run(
        [
            sys.executable,
            "scripts/evaluate.py",
            "--model",
            str(out / "export"),
            "--max-images",
            "20",
            "--out",
            str(tmp_path / "eval"),
        ]
    )
    assert ev.returncode == 0, ev.stderr[-3000:]
    metrics = json.loads((tmp_path / "eval/metrics.json").read_text())
    assert metrics["source"] == metrics["target"] == "2"
    assert metrics["mse"] == pytest.approx(
        per_image_mse(x[:20], tr.T(x[:20]).detach()).mean().item(), rel=1e-4
    )
    assert metrics["fid"] > 0 and abs(metrics["identity_fid"]) < 1e-3  # a split against itself


def test_comparison_counts_the_flops_of_each_outer_iteration():
    from benchmarks.comparison import time_outer_iterations

    cfg = Config()
    cfg.data.image_size, cfg.train.batch_size = 16, 4
    cfg.t_net.base_channels, cfg.g_net.nfilter = 4, 4
    flops = {k: time_outer_iterations("tiny", cfg, k, repeats=1)["flops"] for k in (1, 2, 4)}
    # ENOT's iteration does not depend on K; each extra NOT T-update adds the same FLOPs.
    assert flops[1]["enot"] == flops[2]["enot"] == flops[4]["enot"] > 0
    per_t_update = flops[2]["not"] - flops[1]["not"]
    assert per_t_update > 0 and flops[4]["not"] - flops[1]["not"] == 3 * per_t_update
    timing = time_outer_iterations("tiny", cfg, 10, repeats=1)
    assert timing["flop_ratio"] == timing["flops"]["not"] / timing["flops"]["enot"] > 1


def _curve(method, seconds, rates, ratios):
    from benchmarks.time_to_quality import QualityCurve

    c = QualityCurve(method, 1 if method == "enot" else 10, 1.0, guard=0.75)
    c.seconds, c.iterations = list(seconds), list(range(len(seconds)))
    c.metrics = [
        {"class_rate": r, "content_ratio": q, "fid": 100.0 - 50 * r} for r, q in zip(rates, ratios)
    ]
    return c


def test_time_to_quality_verdict_scores_only_maps_that_keep_their_content():
    from benchmarks.time_to_quality import verdict

    # NOT's 0.9 at 300 s lost its content (ratio 0.9 > 0.75): its best kept map is 0.7 at 200 s.
    not_ = _curve("not", [0, 100, 200, 300], [0.02, 0.5, 0.7, 0.9], [0, 0.1, 0.2, 0.9])
    # ENOT's untrained map (index 0) may not count, even though its score is defined.
    enot = _curve("enot", [0, 50, 100, 150], [0.02, 0.6, 0.8, 0.85], [0, 0.1, 0.2, 0.3])
    v = verdict(enot, not_)
    assert v["not_best_rate"] == 0.7 and v["not_best_at_s"] == 200
    assert v["enot_best_rate"] == 0.85 and v["enot_best_at_s"] == 150
    assert v["enot_reaches_not_best_at_s"] == 100 and v["speedup"] == 2.0
    never = _curve("enot", [0, 50, 100], [0.02, 0.3, 0.95], [0, 0.1, 0.8])
    assert verdict(never, not_)["enot_reaches_not_best_at_s"] is None
    assert verdict(never, not_)["speedup"] is None
