"""The command line: one flat flag per config field, defaults from the chosen preset, every
value checked against its range or choices before anything runs."""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

from data.normalization import parse_background
from enot.config.presets import PRESETS, get_preset
from enot.config.sections import SECTIONS, Config, ConfigError, option_name

# ---------------------------------------------------------------------------------------------
# CLI: one flat flag per field, defaults from the chosen preset.


def positive_int(text: str) -> int:
    """argparse type of the scripts' counts (images, batch sizes): an int of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a valid int") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be >= 1")
    return value


def flag(section: str, name: str) -> str:
    """The command-line flag of field ``name`` of ``section``: ``--t-base-channels``."""
    return "--" + option_name(section, name).replace("_", "-")


def _fields() -> list[tuple[str, dataclasses.Field]]:
    out = [(section, f) for section, cls in SECTIONS.items() for f in dataclasses.fields(cls)]
    names = [option_name(section, f.name) for section, f in out]
    assert len(names) == len(set(names)), "config option names must be unique across sections"
    return out


def _checker(f: dataclasses.Field) -> Callable[[str], Any]:
    lo_hi, choices = f.metadata["range"], f.metadata["choices"]
    kind = "str" if choices else f.type  # a Literal field is a string among its choices

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
    p = argparse.ArgumentParser(
        description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument(
        "--preset",
        default=preset.preset,
        choices=sorted(PRESETS),
        help="named configuration; the flags below override it",
    )
    p.add_argument(
        "--resume",
        default=None,
        metavar="latest|PATH",
        help="continue from the newest checkpoint of the run folder, or from PATH",
    )
    p.add_argument(
        "--stop-at",
        type=int,
        default=None,
        metavar="STEP",
        help="end this invocation after STEP with a checkpoint, keeping the schedule "
        "of --steps (for job time limits); continue with --resume latest",
    )
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    groups = {name: p.add_argument_group(name) for name in SECTIONS}
    for section, f in _fields():
        default = getattr(getattr(preset, section), f.name)
        extra = ""
        if f.metadata["range"] is not None:
            extra = f" [range {f.metadata['range'][0]:g}..{f.metadata['range'][1]:g}]"
        if f.type == "bool":
            groups[section].add_argument(
                flag(section, f.name),
                dest=option_name(section, f.name),
                default=default,
                action=argparse.BooleanOptionalAction,
                help=f.metadata["help"],
            )
        else:
            groups[section].add_argument(
                flag(section, f.name),
                dest=option_name(section, f.name),
                default=default,
                type=_checker(f),
                choices=f.metadata["choices"],
                metavar=None if f.metadata["choices"] else f.type.upper(),
                help=f.metadata["help"] + extra,
            )
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
        setattr(getattr(cfg, section), f.name, getattr(args, option_name(section, f.name)))
    if cfg.g_net.nfilter > cfg.g_net.nfilter_max:
        raise ConfigError(
            f"--g-nfilter {cfg.g_net.nfilter} exceeds --g-nfilter-max {cfg.g_net.nfilter_max}"
        )
    if cfg.g_net.projected_weights and not cfg.g_net.projected:
        raise ConfigError("--g-projected-weights needs --g-projected (the backbone it loads)")
    size = cfg.data.image_size
    if size & (size - 1):
        raise ConfigError(f"--image-size {size} must be a power of two (ResNet_D halves it to 4)")
    try:
        parse_background(cfg.data.background)
    except ValueError as err:
        raise ConfigError(f"--background: {err}") from None
    _check_method(cfg, args, preset)
    _check_init(cfg)
    _check_best_by(cfg)
    if args.stop_at is not None and not 1 <= args.stop_at <= cfg.train.steps:
        raise ConfigError(f"--stop-at {args.stop_at} must lie in [1, --steps {cfg.train.steps}]")
    return cfg, RunOptions(resume=args.resume, dry_run=args.dry_run, stop_at=args.stop_at)


def _check_best_by(cfg: Config) -> None:
    """What the config alone decides; whether the task has the classifier a rate needs is
    the judge's to say (``enot.evaluation.map_judge.resolve_best_by``, through
    ``enot.evaluation.training_run.RunEvaluation.resolve``, which scripts/train.py calls before
    training)."""
    tc = cfg.train
    if tc.best_by != "auto" and not tc.eval_every:
        raise ConfigError(
            f"--best-by {tc.best_by} picks export_best among the --eval-every "
            f"evaluations; set --eval-every N too"
        )


def _check_init(cfg: Config) -> None:
    """The warm start needs a budget, and both it and the plan pairs need ENOT's train split."""
    tc = cfg.train
    if tc.init == "ot_plan" and not (tc.init_steps or tc.init_seconds):
        raise ConfigError("--init ot_plan needs a budget: --init-steps N or --init-seconds S")
    if tc.init == "none" and (tc.init_steps or tc.init_seconds):
        raise ConfigError("--init-steps and --init-seconds need --init ot_plan")
    uses_plan = tc.init == "ot_plan" or cfg.enot.pairs == "ot_plan"
    if uses_plan and cfg.method.method == "not_ae":
        raise ConfigError("--init and --pairs ot_plan match two domains; not_ae has one")
    if cfg.enot.pairs == "ot_plan" and cfg.method.method != "enot":
        raise ConfigError("--pairs ot_plan sets ENOT's batch pairs; it needs --method enot")


def _check_method(cfg: Config, args: argparse.Namespace, preset: Config) -> None:
    """not_ae learns OT from the source domain to itself, through T's bottleneck."""
    if cfg.method.method != "not_ae":
        return
    if cfg.t_net.residual:
        raise ConfigError(
            "--method not_ae needs --no-t-residual: T(x) = x + U-Net(x) would "
            "pass x around the bottleneck"
        )
    if args.target != preset.data.target and args.target != cfg.data.source:
        raise ConfigError(
            f"--method not_ae maps the source domain to itself; --target "
            f"{args.target!r} differs from --source {cfg.data.source!r} (leave "
            f"--target out)"
        )
    cfg.data.target = cfg.data.source
