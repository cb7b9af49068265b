"""The Train tab's settings as scripts/train.py flags, checked by the trainer's own parser.

The tab sets a preset, the budget (--steps or --max-seconds) and the few settings a user
changes; the rest comes from the preset. A user may add more flags, but only of numbers,
switches and choices: a flag that takes free text could name a path (a data folder, a weights
file, the run folder), and those are the server's to choose.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import shlex
from dataclasses import dataclass

from enot.config import ConfigError, get_preset
from enot.config.cli import flag, parse_cli
from enot.config.sections import SECTIONS, Config

# Data flags the tab sets itself from the chosen image sets.
_DATA_KEPT = {"flip", "num_workers", "background"}


class SettingsRefused(ValueError):
    """The settings do not make a valid run; the message is the trainer's parser's."""


def _extra_flags() -> set[str]:
    allowed = set()
    for section, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            if section == "data" and f.name not in _DATA_KEPT:
                continue
            if f.type in ("int", "float") or f.metadata["choices"] or f.name == "background":
                allowed.add(flag(section, f.name))
            elif f.type == "bool":
                name = flag(section, f.name)
                allowed |= {name, "--no-" + name[2:]}
    return allowed


EXTRA_FLAGS = frozenset(_extra_flags())


@dataclass(frozen=True)
class Settings:
    """What the user set in the tab; None leaves the preset's value."""

    preset: str
    budget: str  # "steps" or "seconds"
    steps: int | None
    seconds: float | None
    method: str | None
    image_size: int | None
    batch_size: int | None
    lr_t: float | None
    lr_g: float | None
    extra: str = ""


def preset_values(name: str) -> dict:
    """The preset's values of the settings the tab shows."""
    cfg = get_preset(name)
    return {
        "steps": cfg.train.steps,
        "seconds": cfg.train.max_seconds or None,
        "method": cfg.method.method,
        "image_size": cfg.data.image_size,
        "batch_size": cfg.train.batch_size,
        "lr_t": cfg.optim.lr_t,
        "lr_g": cfg.optim.lr_g,
    }


def extra_flags(text: str) -> list[str]:
    """The user's added flags, each one allowed, or SettingsRefused naming the first that is
    not."""
    try:
        tokens = shlex.split(text or "")
    except ValueError as err:
        raise SettingsRefused(f"more flags: {err}") from None
    for token in tokens:
        name = token.split("=", 1)[0]
        if name.startswith("-") and name not in EXTRA_FLAGS:
            raise SettingsRefused(
                f"more flags: {name} is not allowed here (only number, switch and choice "
                f"flags of scripts/train.py; data, paths and the run folder are the tab's)"
            )
    return tokens


def _number(value) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def build_flags(s: Settings, data_flags: list[str], output_dir: str) -> list[str]:
    """scripts/train.py's flags for these settings, data and run folder."""
    flags = ["--preset", s.preset]
    pairs = (
        ("--method", s.method),
        ("--image-size", s.image_size),
        ("--batch-size", s.batch_size),
        ("--lr-t", s.lr_t),
        ("--lr-g", s.lr_g),
        ("--steps", s.steps),
    )
    for name, value in pairs:
        if value not in (None, ""):
            flags += [name, _number(value)]
    if s.budget == "seconds":
        if not s.seconds or s.seconds <= 0:
            raise SettingsRefused("a time budget needs a number of seconds above 0")
        flags += ["--max-seconds", _number(s.seconds)]
    return flags + data_flags + extra_flags(s.extra) + ["--output-dir", output_dir]


def check_flags(flags: list[str]) -> Config:
    """The config scripts/train.py would run with these flags, or its parser's message."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            cfg, _ = parse_cli(flags, description="")
    except SystemExit:
        lines = [line for line in err.getvalue().splitlines() if line.strip()]
        last = lines[-1].split("error: ", 1)[-1] if lines else "the settings were refused"
        raise SettingsRefused(last) from None
    except ConfigError as e:
        raise SettingsRefused(str(e)) from None
    return cfg
