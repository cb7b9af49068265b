"""The run configuration: typed dataclass sections, each field with its help, range or choices.

Every hyperparameter is written once: the defaults here are the ENOT paper's image setting
(arXiv 2403.03777, Sec. 5 and App. C); a preset (``enot.config.presets``) names only what it
changes, and ``enot.config.cli`` turns every field into a flat, checked flag.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from data import DATASET_KINDS, SPEC_HELP
from data.errors import UserError


class ConfigError(UserError, ValueError):
    """A configuration value is outside its range, or a config file does not fit."""


def _opt(
    default: Any,
    help: str,
    *,
    range: tuple[float, float] | None = None,
    choices: tuple[str, ...] | None = None,
) -> Any:
    return field(default=default, metadata={"help": help, "range": range, "choices": choices})


@dataclass
class DataConfig:
    dataset: str = _opt("colored_mnist", "kind of dataset for both domains", choices=DATASET_KINDS)
    source: str = _opt("2", "source domain spec; by kind: " + SPEC_HELP)
    target: str = _opt("3", "target domain spec, as for --source")
    image_size: int = _opt(64, "side of the square images in pixels", range=(16, 1024))
    flip: bool = _opt(False, "random horizontal flips of training images")
    # Exports keep it, so translate and the demo flatten uploads as training did.
    background: str = _opt(
        "white", "colour under transparent pixels of image files: white, black or #rrggbb"
    )
    num_workers: int = _opt(0, "DataLoader worker processes per domain", range=(0, 64))
    # Not in the paper: how finely the train split samples colored MNIST's colours.
    tints: int = _opt(
        1,
        "colored_mnist: colours each train digit is drawn in (the test split keeps one each)",
        range=(1, 1024),
    )


@dataclass
class TNetConfig:
    # Korotin et al.'s NOT U-Net; base width 48 in the ENOT paper's image experiments.
    base_channels: int = _opt(48, "U-Net base width of the map T", range=(4, 512))
    # Not in the paper: T(x) = x + U-Net(x), starting near the identity (see _colored_mnist).
    residual: bool = _opt(False, "T(x) = x + U-Net(x), starting near the identity map")
    # Not in the paper: for grayscale domains held as RGB (see _fashion_bags2shoes).
    gray: bool = _opt(
        False,
        "T draws one gray channel, repeated to RGB: for grayscale "
        "domains, so the map cannot add colour",
    )


G_PROJECTED: tuple[str, ...] = ("", "efficientnet_lite0")


@dataclass
class GNetConfig:
    # WGAN-QC ResNet_D as the potential g, as in the ENOT and NOT papers.
    nfilter: int = _opt(64, "ResNet_D base width of the potential g", range=(4, 512))
    nfilter_max: int = _opt(512, "ResNet_D width cap", range=(4, 2048))
    # Not in the paper: a projected potential (Sauer et al. 2021), models.projected_potential.
    projected: str = _opt(
        "",
        "add heads on frozen pretrained features to g: efficientnet_lite0 (empty: off, the paper)",
        choices=G_PROJECTED,
    )
    projected_weights: str = _opt(
        "", "the backbone's .pth weights (empty: the installed package's file)"
    )
    projected_size: int = _opt(64, "side images are resized to for the backbone", range=(16, 512))


@dataclass
class ENOTConfig:
    # ENOT's own values: the expectile regulariser on g (arXiv 2403.03777, Eq. 10).
    tau: float = _opt(0.98, "expectile tau (paper: 0.98-0.99 for images)", range=(0.5, 1.0))
    lam: float = _opt(1.0, "expectile regulariser weight lambda", range=(0.0, 1e3))
    # Not in the paper: fixes the free constant of the potential (enot.losses.enot_losses).
    gauge: float = _opt(
        0.0,
        "weight of (mean g(y))^2 in g's loss: holds the level of the "
        "potential, which the dual leaves free (0: the paper)",
        range=(0.0, 1e3),
    )
    # Not in the paper: controls on the potential's slope (enot.step); both off by default.
    r1: float = _opt(
        0.0,
        "R1 gradient penalty weight gamma: gamma/2 E|grad g(y)|^2 at the target images added "
        "to g's loss (0: none, the paper)",
        range=(0.0, 1e4),
    )
    diff_augment: bool = _opt(
        False,
        "g sees DiffAugment views (translation, cutout) of T(x) and y, the same policy for "
        "both (off: the paper)",
    )
    # Not in the paper: which (x, y) pairs of a batch the expectile holds to c-concavity.
    pairs: PairsName = _opt(
        "random",
        "ENOT's batch pairs (x_i, y_i): random, independent batches (the paper); ot_plan, each "
        "y_i the partner of x_i in the exact OT matching of the train split (--plan-samples)",
        choices=("random", "ot_plan"),
    )


# The names a config may hold; the training loop matches on the method, enot.costs.COSTS and
# enot.not_ae map the cost names to functions (tests/test_config.py checks they agree). The
# config imports nothing of the method, so it lists the names it checks here.
MethodName = Literal["enot", "not", "not_convex", "not_ae"]
# sq_l2_per_size: ||x - y||^2 / (C * S) for C channels of side S (the paper's image cost, S x
# the per-pixel MSE); pixel_mse: the per-pixel MSE; half_sq_l2: ||x - y||^2 / 2.
CostName = Literal["sq_l2_per_size", "pixel_mse", "half_sq_l2"]
AECostName = Literal["l2", "l1", "lpips"]
BestBy = Literal["auto", "class_rate", "style_rate", "fid", "kid"]
MixedPrecision = Literal["no", "fp16", "bf16"]
PairsName = Literal["random", "ot_plan"]
InitName = Literal["none", "ot_plan"]
METHODS: tuple[str, ...] = get_args(MethodName)
COST_NAMES: tuple[str, ...] = get_args(CostName)
# Former names a saved config may hold, read as the cost they name now.
COST_ALIASES: dict[str, str] = {"image_mse": "sq_l2_per_size"}
AE_COST_NAMES: tuple[str, ...] = get_args(AECostName)
BEST_BY: tuple[str, ...] = get_args(BestBy)
MIXED_PRECISION: tuple[str, ...] = get_args(MixedPrecision)


@dataclass
class MethodConfig:
    # NOT: Korotin et al., arXiv 2201.12220, Alg. 1 (K = 10 there); not_convex adds a Jensen
    # penalty on psi = k||y||^2 - g (enot.not_losses); not_ae is OT from the source domain to
    # itself through a bottleneck (enot.not_ae).
    method: MethodName = _opt(
        "enot",
        "enot: T and g updated 1:1 (ENOT); not: --t-iters T "
        "updates per g update (NOT); not_convex: NOT + Jensen "
        "convexity penalty; not_ae: NOT auto-encoder, OT from the "
        "source domain to itself (the target is the source)",
        choices=METHODS,
    )
    # The transport cost is every OT method's, so it lives here, not in ENOT's section.
    cost: CostName = _opt(
        "sq_l2_per_size",
        "transport cost c(x, y) of enot, not and not_convex (not_ae takes --ae-cost): "
        "sq_l2_per_size = ||x-y||^2/(3*size), pixel_mse, half_sq_l2 = ||x-y||^2/2",
        choices=COST_NAMES,
    )
    t_iters: int = _opt(10, "NOT methods: T updates per potential update (K)", range=(1, 10_000))
    convex_alpha: float = _opt(
        0.01, "not_convex: weight alpha of the Jensen penalty", range=(0.0, 1e3)
    )
    ae_bottleneck: int = _opt(128, "not_ae: numbers in T's bottleneck", range=(1, 2**20))
    ae_skips: bool = _opt(
        False, "not_ae: keep the U-Net skip connections (they bypass the bottleneck)"
    )
    ae_cost: AECostName = _opt(
        "l2",
        "not_ae: cost c(x, T(x)), per-pixel mean l2 or l1, or lpips (AlexNet; replaces --cost)",
        choices=AE_COST_NAMES,
    )
    lpips_weights: str = _opt(
        "",
        "not_ae with --ae-cost lpips: torchvision AlexNet weights "
        "file (default: the torch hub cache)",
    )

    def cost_name(self) -> str:
        """The cost this method transports by: --ae-cost for not_ae, --cost for the others."""
        return self.ae_cost if self.method == "not_ae" else self.cost

    def t_architecture(self) -> dict[str, Any]:
        """What the method changes in T's shape: only not_ae drops skips and adds a bottleneck."""
        ae = self.method == "not_ae"
        return {
            "t_skips": self.ae_skips if ae else True,
            "t_bottleneck": self.ae_bottleneck if ae else 0,
        }


@dataclass
class OptimConfig:
    # AdamW with betas (0.5, 0.5), cosine decay to 1e-2 of the start (paper, App. C).
    lr_t: float = _opt(1e-4, "learning rate of T", range=(0.0, 1.0))
    lr_g: float = _opt(5e-5, "learning rate of g", range=(0.0, 1.0))
    beta1: float = _opt(0.5, "AdamW beta1", range=(0.0, 0.9999))
    beta2: float = _opt(0.5, "AdamW beta2", range=(0.0, 0.9999))
    weight_decay: float = _opt(1e-4, "AdamW weight decay", range=(0.0, 1.0))
    final_lr_ratio: float = _opt(
        1e-2, "cosine schedule ends at this fraction of the start lr", range=(0.0, 1.0)
    )


@dataclass
class TrainConfig:
    steps: int = _opt(
        120_000,
        "outer iterations: one g update and one T update (enot) or "
        "--t-iters T updates (NOT methods) each",
        range=(1, 10**8),
    )
    batch_size: int = _opt(
        64, "batch per process and domain; global = this x processes", range=(1, 4096)
    )
    seed: int = _opt(0, "random seed", range=(0, 2**31 - 1))
    mixed_precision: MixedPrecision = _opt(
        "no", "Accelerate mixed precision", choices=MIXED_PRECISION
    )
    ema_decay: float = _opt(
        0.0, "EMA decay of T's weights; 0 disables the EMA export", range=(0.0, 0.99999)
    )
    max_seconds: float = _opt(
        0.0,
        "budget in seconds of training instead of --steps (evaluation "
        "excluded): the run ends there, with a checkpoint and the "
        "export, and the learning rates decay over the seconds; "
        "0: no limit",
        range=(0.0, 1e9),
    )
    log_every: int = _opt(50, "log losses every N steps", range=(1, 10**8))
    sample_every: int = _opt(1000, "save a sample grid every N steps", range=(1, 10**8))
    checkpoint_every: int = _opt(
        5000, "save a resumable checkpoint every N steps", range=(1, 10**8)
    )
    # NHWC activations: oneDNN's CPU convolutions and tensor-core GPUs under AMP run faster in
    # it (measured in docs/quickstart.md, "Speed on AVX2").
    channels_last: bool = _opt(
        True,
        "store both networks' weights, and so their activations, "
        "in channels-last (NHWC) memory format: the same maths, "
        "faster",
    )
    compile: bool = _opt(
        False,
        "torch.compile both networks (inductor, static shapes): the "
        "same losses as eager to float rounding, faster after a "
        "one-off compile of a minute or more",
    )
    sync_bn: bool = _opt(
        False,
        "SyncBatchNorm in T across processes: for multi-GPU runs with "
        "small per-device batches; needs CUDA",
    )
    eval_every: int = _opt(
        0,
        "judge T on a fixed test subset every N steps, keeping the best export as "
        "export_best (docs/evaluation.md); 0 disables (needs the Inception weights)",
        range=(0, 10**8),
    )
    eval_images: int = _opt(1000, "images per domain for --eval-every", range=(2, 10**6))
    eval_fid: bool = _opt(
        True,
        "measure FID and KID at each --eval-every (an Inception pass); --no-eval-fid "
        "measures them only where they pick export_best (--best-by fid or kid; auto on a "
        "task without a classifier) or the judge needs them (paired folders)",
    )
    ot_reference_samples: int = _opt(
        3500,
        "before a new run, the exact OT cost between this many train images per domain "
        "(scripts/ot_reference.py), printed, written to ot_reference.json and drawn in "
        "curves.png; 0: off",
        range=(0, 20_000),
    )
    # Which judge reads which task, and why the guard is 0.75: docs/evaluation.md.
    best_by: BestBy = _opt(
        "auto",
        "what picks export_best at --eval-every: class_rate, style_rate, fid or kid; auto: "
        "the task's classifier rate where it has one, else fid (docs/evaluation.md)",
        choices=BEST_BY,
    )
    best_guard: float = _opt(
        0.75,
        "with --best-by class_rate or style_rate, a map qualifies for export_best only if it "
        "loses at most this fraction of what random source/target pairs lose "
        "(docs/evaluation.md)",
        range=(0.0, 10.0),
    )
    ddp_checksums: bool = _opt(
        False,
        "diagnostic for data-parallel runs: sum every batch each "
        "process draws, and write the per-process sums to "
        "summary.json (they must differ: each process sees its own "
        "data)",
    )
    checkpoints_total_limit: int = _opt(
        3, "checkpoints kept; older ones are deleted", range=(1, 1000)
    )
    # Not in the paper: a warm start of T (enot.training.plan_pairs).
    init: InitName = _opt(
        "none",
        "start T from: none, the network's own start; ot_plan, a regression of T onto the "
        "exact OT matching of the train split for --init-steps or --init-seconds, before ENOT "
        "(checkpointed every --checkpoint-every of its steps, and at its end)",
        choices=("none", "ot_plan"),
    )
    init_steps: int = _opt(
        0, "--init ot_plan: regression steps (0: --init-seconds)", range=(0, 10**8)
    )
    init_seconds: float = _opt(
        0.0, "--init ot_plan: seconds of regression, beside --max-seconds", range=(0.0, 1e9)
    )
    init_lr: float = _opt(2e-3, "--init ot_plan: AdamW learning rate of T", range=(0.0, 1.0))
    plan_samples: int = _opt(
        3500,
        "--init or --pairs ot_plan: train images a side that the exact OT matching is solved "
        "over (an evenly spread subset of a larger domain)",
        range=(2, 20_000),
    )
    output_dir: str = _opt("", "run folder (default: runs/<preset>)")


@dataclass
class Config:
    # The preset a config was built from; a bare Config() is the paper's 64 px setting with
    # placeholder data, named "custom" because no preset of that name exists.
    preset: str = "custom"
    data: DataConfig = field(default_factory=DataConfig)
    t_net: TNetConfig = field(default_factory=TNetConfig)
    g_net: GNetConfig = field(default_factory=GNetConfig)
    enot: ENOTConfig = field(default_factory=ENOTConfig)
    method: MethodConfig = field(default_factory=MethodConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    @property
    def run_dir(self) -> Path:
        return Path(self.train.output_dir or f"runs/{self.preset}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Config":
        try:
            sections = [f.name for f in dataclasses.fields(cls) if f.name != "preset"]
            cfg = cls(preset=d["preset"], **{name: SECTIONS[name](**d[name]) for name in sections})
        except (KeyError, TypeError) as e:
            raise ConfigError(f"config does not match this version of the code: {e}") from None
        cfg.method.cost = COST_ALIASES.get(cfg.method.cost, cfg.method.cost)
        for name in sections:  # a saved name (method, cost, ...) must be one this code knows
            for f in dataclasses.fields(SECTIONS[name]):
                choices, value = f.metadata.get("choices"), getattr(getattr(cfg, name), f.name)
                if choices and value not in choices:
                    raise ConfigError(
                        f"config field {name}.{f.name} is {value!r}, which this version of the "
                        f"code does not know; choose one of {list(choices)}"
                    )
        return cfg

    def architecture(self) -> dict[str, Any]:
        """The fields that fix the networks' shapes, by their option names (``t_base_channels``):
        a checkpoint must agree on all of them."""
        nets = {
            option_name(section, name): value
            for section in ("t_net", "g_net")
            for name, value in dataclasses.asdict(getattr(self, section)).items()
        }
        return {"image_size": self.data.image_size, **nets, **self.method.t_architecture()}


SECTIONS: dict[str, type] = {
    "data": DataConfig,
    "t_net": TNetConfig,
    "g_net": GNetConfig,
    "enot": ENOTConfig,
    "method": MethodConfig,
    "optim": OptimConfig,
    "train": TrainConfig,
}
# The networks' fields name their network in their flat option (--t-base-channels sets
# t_net.base_channels, --g-nfilter g_net.nfilter), so every option stays unique across sections.
OPTION_PREFIX: dict[str, str] = {"t_net": "t_", "g_net": "g_"}


def option_name(section: str, name: str) -> str:
    """The flat name of field ``name`` of ``section``: the CLI flag's, without ``--``."""
    return OPTION_PREFIX.get(section, "") + name


def save_config(cfg: Config, path: Path) -> None:
    path.write_text(json.dumps(cfg.to_dict(), indent=2) + "\n")


def load_config(path: Path) -> Config:
    try:
        return Config.from_dict(json.loads(Path(path).read_text()))
    except FileNotFoundError:
        raise ConfigError(f"no config file at {path}") from None
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path} is not valid JSON: {e}") from None
