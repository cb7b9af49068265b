"""Typed configuration: dataclasses, named presets, and a CLI validated at the boundary.

Every hyperparameter is written once: the dataclass defaults are the ENOT paper's image setting
(arXiv 2403.03777, Sec. 5 and App. C), and a preset names only what it changes. Every field is a
flat CLI flag (``--lr-t 2e-4``) whose range or choices are checked before anything runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from data import DATASET_KINDS, SPEC_HELP
from enot.class_judge import class_task
from enot.costs import COSTS


class ConfigError(ValueError):
    """A configuration value is outside its range, or a config file does not fit."""


def _opt(default: Any, help: str, *, range: tuple[float, float] | None = None,
         choices: tuple[str, ...] | None = None) -> Any:
    return field(default=default, metadata={"help": help, "range": range, "choices": choices})


@dataclass
class DataConfig:
    dataset: str = _opt("colored_mnist", "kind of dataset for both domains", choices=DATASET_KINDS)
    source: str = _opt("2", "source domain spec; by kind: " + SPEC_HELP)
    target: str = _opt("3", "target domain spec, as for --source")
    image_size: int = _opt(64, "side of the square images in pixels", range=(16, 1024))
    flip: bool = _opt(False, "random horizontal flips of training images")
    num_workers: int = _opt(0, "DataLoader worker processes per domain", range=(0, 64))


@dataclass
class TNetConfig:
    # Korotin et al.'s NOT U-Net; base width 48 in the ENOT paper's image experiments.
    t_base_channels: int = _opt(48, "U-Net base width of the map T", range=(4, 512))
    # Not in the paper: T(x) = x + U-Net(x), starting near the identity (see _colored_mnist).
    t_residual: bool = _opt(False, "T(x) = x + U-Net(x), starting near the identity map")
    # Not in the paper: for grayscale domains held as RGB (see _fashion_bags2shoes).
    t_gray: bool = _opt(False, "T draws one gray channel, repeated to RGB: for grayscale "
                               "domains, so the map cannot add colour")


@dataclass
class GNetConfig:
    # WGAN-QC ResNet_D as the potential g, as in the ENOT and NOT papers.
    g_nfilter: int = _opt(64, "ResNet_D base width of the potential g", range=(4, 512))
    g_nfilter_max: int = _opt(512, "ResNet_D width cap", range=(4, 2048))


@dataclass
class ENOTConfig:
    cost: str = _opt("image_mse", "transport cost c(x, y)", choices=tuple(COSTS))
    tau: float = _opt(0.98, "expectile tau (paper: 0.98-0.99 for images)", range=(0.5, 1.0))
    lam: float = _opt(1.0, "expectile regulariser weight lambda", range=(0.0, 1e3))
    # Not in the paper: fixes the free constant of the potential (enot.losses.enot_losses).
    gauge: float = _opt(0.0, "weight of (mean g(y))^2 in g's loss: holds the level of the "
                             "potential, which the dual leaves free (0: the paper)",
                        range=(0.0, 1e3))


# Methods on the one trainer (enot.methods); `--steps` counts their outer iterations.
METHODS = ("enot", "not", "not_convex", "not_ae")
BEST_BY = ("auto", "class_rate", "fid", "kid")
AE_COSTS = ("l2", "l1", "lpips")


@dataclass
class MethodConfig:
    # NOT: Korotin et al., arXiv 2201.12220, Alg. 1 (K = 10 there); not_convex adds a Jensen
    # penalty on psi = k||y||^2 - g (enot.not_losses); not_ae is OT from the source domain to
    # itself through a bottleneck (enot.not_ae).
    method: str = _opt("enot", "enot: T and g updated 1:1 (ENOT); not: --t-iters T updates per "
                               "g update (NOT); not_convex: NOT + Jensen convexity penalty; "
                               "not_ae: NOT auto-encoder, OT from the source domain to itself "
                               "(the target is the source)", choices=METHODS)
    t_iters: int = _opt(10, "NOT methods: T updates per potential update (K)", range=(1, 10_000))
    convex_alpha: float = _opt(0.01, "not_convex: weight alpha of the Jensen penalty",
                               range=(0.0, 1e3))
    ae_bottleneck: int = _opt(128, "not_ae: numbers in T's bottleneck", range=(1, 2**20))
    ae_skips: bool = _opt(False, "not_ae: keep the U-Net skip connections (they bypass the "
                                 "bottleneck)")
    ae_cost: str = _opt("l2", "not_ae: cost c(x, T(x)), per-pixel mean l2 or l1, or lpips "
                              "(AlexNet; replaces --cost)", choices=AE_COSTS)
    lpips_weights: str = _opt("", "not_ae with --ae-cost lpips: torchvision AlexNet weights "
                                  "file (default: the torch hub cache)")

    def t_architecture(self) -> dict[str, Any]:
        """What the method changes in T's shape: only not_ae drops skips and adds a bottleneck."""
        ae = self.method == "not_ae"
        return {"t_skips": self.ae_skips if ae else True,
                "t_bottleneck": self.ae_bottleneck if ae else 0}


@dataclass
class OptimConfig:
    # AdamW with betas (0.5, 0.5), cosine decay to 1e-2 of the start (paper, App. C).
    lr_t: float = _opt(1e-4, "learning rate of T", range=(0.0, 1.0))
    lr_g: float = _opt(5e-5, "learning rate of g", range=(0.0, 1.0))
    beta1: float = _opt(0.5, "AdamW beta1", range=(0.0, 0.9999))
    beta2: float = _opt(0.5, "AdamW beta2", range=(0.0, 0.9999))
    weight_decay: float = _opt(1e-4, "AdamW weight decay", range=(0.0, 1.0))
    final_lr_ratio: float = _opt(1e-2, "cosine schedule ends at this fraction of the start lr",
                                 range=(0.0, 1.0))


@dataclass
class TrainConfig:
    steps: int = _opt(120_000, "outer iterations: one g update and one T update (enot) or "
                               "--t-iters T updates (NOT methods) each",
                      range=(1, 10**8))
    batch_size: int = _opt(64, "batch per process and domain; global = this x processes",
                           range=(1, 4096))
    seed: int = _opt(0, "random seed", range=(0, 2**31 - 1))
    mixed_precision: str = _opt("no", "Accelerate mixed precision", choices=("no", "fp16", "bf16"))
    ema_decay: float = _opt(0.0, "EMA decay of T's weights; 0 disables the EMA export",
                            range=(0.0, 0.99999))
    log_every: int = _opt(50, "log losses every N steps", range=(1, 10**8))
    sample_every: int = _opt(1000, "save a sample grid every N steps", range=(1, 10**8))
    checkpoint_every: int = _opt(5000, "save a resumable checkpoint every N steps",
                                 range=(1, 10**8))
    # NHWC activations: oneDNN's CPU convolutions run ~20% faster on the CPU preset
    # (`python scripts/benchmark.py step --settings cpu_preset`), as do tensor-core GPUs under AMP.
    channels_last: bool = _opt(True, "store both networks' weights, and so their activations, "
                                     "in channels-last (NHWC) memory format: the same maths, "
                                     "faster")
    sync_bn: bool = _opt(False, "SyncBatchNorm in T across processes: for multi-GPU runs with "
                               "small per-device batches; needs CUDA")
    eval_every: int = _opt(0, "FID of T on a fixed test subset every N steps, keeping the best "
                              "export; 0 disables (needs the Inception weights)", range=(0, 10**8))
    eval_images: int = _opt(1000, "images per domain for --eval-every's FID", range=(2, 10**6))
    # The identity map must not be able to win the criterion (issue 12): FID on few images ranks
    # near-identity maps first, a classifier's target-class rate does not.
    best_by: str = _opt("auto", "what picks export_best at --eval-every: class_rate (share of "
                                "T(x) a classifier of the task reads as the target class; "
                                "colored_mnist and fashion_mnist), fid or kid; auto = class_rate "
                                "where the task has a classifier, else fid",
                        choices=BEST_BY)
    # 0.75: bag -> shoe translations lose ~0.53 of what random pairs lose in MSE, and a map
    # that ignores its input ~1.0 (README, Fashion-MNIST).
    best_guard: float = _opt(0.75, "with --best-by class_rate, a map qualifies for export_best "
                                  "only if it loses at most this fraction of what random pairs "
                                  "lose: its ink-colour shift (colored_mnist) or MSE, over the "
                                  "same measure for random source/target pairs",
                             range=(0.0, 10.0))
    checkpoints_total_limit: int = _opt(3, "checkpoints kept; older ones are deleted",
                                        range=(1, 1000))
    output_dir: str = _opt("", "run folder (default: runs/<preset>)")


@dataclass
class Config:
    preset: str = "paper"
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
            # Configs saved before a section existed lack it: its defaults are what ran.
            kwargs = {name: _SECTIONS[name](**(d.get(name, {}) if name in _LATER_SECTIONS
                                               else d[name])) for name in sections}
            return cls(preset=d["preset"], **kwargs)
        except (KeyError, TypeError) as e:
            raise ConfigError(f"config does not match this version of the code: {e}") from None

    def architecture(self) -> dict[str, Any]:
        """The fields that fix the networks' shapes; a checkpoint must agree on all of them."""
        return {"image_size": self.data.image_size, **dataclasses.asdict(self.t_net),
                **dataclasses.asdict(self.g_net), **self.method.t_architecture()}


_SECTIONS: dict[str, type] = {
    "data": DataConfig, "t_net": TNetConfig, "g_net": GNetConfig, "enot": ENOTConfig,
    "method": MethodConfig,
    "optim": OptimConfig, "train": TrainConfig,
}
_LATER_SECTIONS = {"method"}  # added after exports existed; absent means the defaults


def _colored_mnist() -> Config:
    """The embedded default: colored MNIST 2 -> 3 at 32 px, sized to train on 2 CPU cores.

    Narrow networks (U-Net base 16, ResNet_D nfilter 8) and batch 32, so that the steps fit in
    about 8 minutes on a 2-core AVX2 CPU. T is residual, starting near the identity: colour is
    kept from the first step and only the shape has to be learnt. lr 2e-3 for T, 3e-4 for g,
    beta2 0.99, and --gauge 0.1 to hold the potential's free level. Each choice and the runs
    that decided it: README, Quickstart. The judge (target-class rate, ink shift, FID) runs
    every 400 steps and picks export_best by the class rate.
    """
    cfg = Config(preset="colored_mnist")
    cfg.data.image_size = 32
    cfg.t_net.t_base_channels = 16
    cfg.t_net.t_residual = True
    cfg.g_net.g_nfilter = 8
    cfg.enot.gauge = 0.1
    cfg.train.steps = 2400
    cfg.train.batch_size = 32
    cfg.train.log_every = 25
    cfg.train.sample_every = 400
    cfg.train.checkpoint_every = 400
    cfg.train.eval_every = 400
    cfg.train.ema_decay = 0.99
    cfg.optim.lr_t = 2e-3
    cfg.optim.lr_g = 3e-4
    cfg.optim.beta2 = 0.99
    return cfg


# Paper tasks. Default data paths are relative to the working directory, under DATA_ROOT;
# scripts/prepare_data.py check --preset NAME says what is missing and where to get it.
DATA_ROOT = "datasets"


def _paper(name: str, image_size: int, dataset: str, source: str, target: str) -> Config:
    """The ENOT paper's image setting (arXiv 2403.03777, Sec. 5 and App. C) at ``image_size``.

    Everything but the size and the precision is the dataclass defaults, which are the paper's:
    T = U-Net base 48 and g = ResNet_D nfilter 64 (App. C; the architectures of NOT, Korotin et
    al. 2023, whose ResNet_D has log2(size/4) stages: 4 at 64 px, 5 at 128 px); cost
    ||x-y||^2/(3*size), tau 0.98, lambda 1.0 (App. C); AdamW betas (0.5, 0.5), weight decay
    1e-4, lr T 1e-4 and g 5e-5 with cosine decay to 1e-2 of the start (App. C); batch 64 and
    120,000 steps (App. C). bf16 mixed precision is this project's GPU recipe (issue 4), not a
    paper value; pass --mixed-precision no for full fp32.
    """
    cfg = Config(preset=name)
    cfg.data.image_size = image_size
    cfg.data.dataset, cfg.data.source, cfg.data.target = dataset, source, target
    cfg.train.mixed_precision = "bf16"
    return cfg


def _handbags2shoes_128() -> Config:
    """Handbags -> shoes at 128 px from the iGAN HDF5 files (a NOT task the ENOT paper repeats)."""
    return _paper("handbags2shoes_128", 128, "igan_hdf5", f"{DATA_ROOT}/handbag_128.hdf5",
                  f"{DATA_ROOT}/shoes_128.hdf5")


def _ffhq2comics_128() -> Config:
    """FFHQ -> comics at 128 px; comics (Kaggle comic faces v2) flip in training only."""
    return _paper("ffhq2comics_128", 128, "ffhq", f"{DATA_ROOT}/ffhq",
                  f"comics:{DATA_ROOT}/comics")


def _celeba2anime(image_size: int) -> Callable[[], Config]:
    def make() -> Config:
        """CelebA female (Male == -1) -> aligned anime faces, as in NOT and ENOT."""
        return _paper(f"celeba2anime_{image_size}", image_size, "celeba_female",
                      f"{DATA_ROOT}/celeba", f"anime_faces:{DATA_ROOT}/anime")
    return make


def _fashion_bags2shoes() -> Config:
    """CPU-scale analogue of handbags -> shoes: Fashion-MNIST bag -> sneaker+ankle boot+sandal.

    Not a paper task. Everything but the data is colored_mnist's (networks, optimiser, steps),
    sized for 2 CPU cores, except that T draws gray images (--t-gray): both domains are gray, and
    a colour T invents is penalised by FID but no loss holds it back quickly (README,
    Fashion-MNIST). export_best is picked by the shoe-class rate. FID is tracked on 200
    test images per domain; `scripts/evaluate.py` scores all of them. Reads
    /usr/share/datasets/fashion-mnist (Debian dataset-fashion-mnist) or datasets/fashion-mnist;
    `--source bag@FOLDER` points elsewhere.
    """
    cfg = _colored_mnist()
    cfg.preset = "fashion_bags2shoes"
    cfg.data.dataset = "fashion_mnist"
    cfg.data.source = "bag"
    cfg.data.target = "shoes"
    cfg.t_net.t_gray = True
    cfg.train.eval_images = 200
    return cfg


PRESETS: dict[str, Callable[[], Config]] = {
    "colored_mnist": _colored_mnist,
    "handbags2shoes_128": _handbags2shoes_128,
    "ffhq2comics_128": _ffhq2comics_128,
    "celeba2anime_64": _celeba2anime(64),
    "celeba2anime_128": _celeba2anime(128),
    "fashion_bags2shoes": _fashion_bags2shoes,
}


def get_preset(name: str) -> Config:
    try:
        return PRESETS[name]()
    except KeyError:
        raise ConfigError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}") from None


# ---------------------------------------------------------------------------------------------
# CLI: one flat flag per field, defaults from the chosen preset.

def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _fields() -> list[tuple[str, dataclasses.Field]]:
    out = [(section, f) for section, cls in _SECTIONS.items() for f in dataclasses.fields(cls)]
    names = [f.name for _, f in out]
    assert len(names) == len(set(names)), "config field names must be unique across sections"
    return out


def _checker(f: dataclasses.Field) -> Callable[[str], Any]:
    lo_hi, choices, kind = f.metadata["range"], f.metadata["choices"], f.type

    def check(text: str) -> Any:
        try:
            value = {"int": int, "float": float, "str": str}[kind](text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a valid {kind}") from None
        if lo_hi is not None and not (lo_hi[0] <= value <= lo_hi[1]):
            raise argparse.ArgumentTypeError(f"{value} is outside [{lo_hi[0]}, {lo_hi[1]}]")
        if choices is not None and value not in choices:
            raise argparse.ArgumentTypeError(f"{value!r} is not one of {', '.join(choices)}")
        return value

    return check


def build_parser(preset: Config, description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--preset", default=preset.preset, choices=sorted(PRESETS),
                   help="named configuration; the flags below override it")
    p.add_argument("--resume", default=None, metavar="latest|PATH",
                   help="continue from the newest checkpoint of the run folder, or from PATH")
    p.add_argument("--stop-at", type=int, default=None, metavar="STEP",
                   help="end this invocation after STEP with a checkpoint, keeping the schedule "
                        "of --steps (for job time limits); continue with --resume latest")
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    groups = {name: p.add_argument_group(name) for name in _SECTIONS}
    for section, f in _fields():
        default = getattr(getattr(preset, section), f.name)
        extra = ""
        if f.metadata["range"] is not None:
            extra = f" [range {f.metadata['range'][0]:g}..{f.metadata['range'][1]:g}]"
        if f.type == "bool":
            groups[section].add_argument(_flag(f.name), dest=f.name, default=default,
                                         action=argparse.BooleanOptionalAction,
                                         help=f.metadata["help"])
        else:
            groups[section].add_argument(_flag(f.name), dest=f.name, default=default,
                                         type=_checker(f), choices=f.metadata["choices"],
                                         metavar=None if f.metadata["choices"] else f.type.upper(),
                                         help=f.metadata["help"] + extra)
    return p


@dataclass(frozen=True)
class RunOptions:
    resume: str | None
    dry_run: bool
    stop_at: int | None


def parse_cli(argv: list[str] | None, description: str) -> tuple[Config, RunOptions]:
    """Resolve preset + flags into a Config. Invalid values exit with argparse's usage error."""
    first = argparse.ArgumentParser(add_help=False)
    first.add_argument("--preset", default="colored_mnist", choices=sorted(PRESETS))
    known, _ = first.parse_known_args(argv)
    preset = get_preset(known.preset)
    args = build_parser(preset, description).parse_args(argv)
    cfg = get_preset(args.preset)
    for section, f in _fields():
        setattr(getattr(cfg, section), f.name, getattr(args, f.name))
    if cfg.g_net.g_nfilter > cfg.g_net.g_nfilter_max:
        raise ConfigError(f"--g-nfilter {cfg.g_net.g_nfilter} exceeds --g-nfilter-max "
                          f"{cfg.g_net.g_nfilter_max}")
    size = cfg.data.image_size
    if size & (size - 1):
        raise ConfigError(f"--image-size {size} must be a power of two (ResNet_D halves it to 4)")
    _check_method(cfg, args, preset)
    _check_best_by(cfg)
    if args.stop_at is not None and not 1 <= args.stop_at <= cfg.train.steps:
        raise ConfigError(f"--stop-at {args.stop_at} must lie in [1, --steps {cfg.train.steps}]")
    return cfg, RunOptions(resume=args.resume, dry_run=args.dry_run, stop_at=args.stop_at)


def _check_best_by(cfg: Config) -> None:
    d, tc = cfg.data, cfg.train
    try:
        task = class_task(d.dataset, d.source, d.target)
    except ValueError as err:  # a malformed spec: build_domain names it when the data loads
        task = err
    if tc.best_by == "class_rate" and task is None:
        raise ConfigError(f"--best-by class_rate needs a classifier of the task, and none "
                          f"judges {d.dataset!r} (only colored_mnist and fashion_mnist); use "
                          f"--best-by fid or kid")
    if tc.best_by != "auto" and not tc.eval_every:
        raise ConfigError(f"--best-by {tc.best_by} picks export_best among the --eval-every "
                          f"evaluations; set --eval-every N too")


def resolve_best_by(cfg: Config) -> str:
    """--best-by with auto resolved: class_rate where the task has a classifier, else fid."""
    d = cfg.data
    if cfg.train.best_by != "auto":
        return cfg.train.best_by
    return "class_rate" if class_task(d.dataset, d.source, d.target) is not None else "fid"


def _check_method(cfg: Config, args: argparse.Namespace, preset: Config) -> None:
    """not_ae learns OT from the source domain to itself, through T's bottleneck."""
    if cfg.method.method != "not_ae":
        return
    if cfg.t_net.t_residual:
        raise ConfigError("--method not_ae needs --no-t-residual: T(x) = x + U-Net(x) would "
                          "pass x around the bottleneck")
    if args.target != preset.data.target and args.target != cfg.data.source:
        raise ConfigError(f"--method not_ae maps the source domain to itself; --target "
                          f"{args.target!r} differs from --source {cfg.data.source!r} (leave "
                          f"--target out)")
    cfg.data.target = cfg.data.source


def save_config(cfg: Config, path: Path) -> None:
    path.write_text(json.dumps(cfg.to_dict(), indent=2) + "\n")


def load_config(path: Path) -> Config:
    try:
        return Config.from_dict(json.loads(Path(path).read_text()))
    except FileNotFoundError:
        raise ConfigError(f"no config file at {path}") from None
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path} is not valid JSON: {e}") from None
