"""Typed settings of the low-dimensional solver, with the ENOT paper's presets (arXiv 2403.03777).

Table 4 (W2 benchmark): MLP [512]*3 for D >= 64 else [128]*3, ELU, Adam lr 3e-4 with cosine
decay to 1e-4 of the start, betas f (0.9, 0.9) and g (0.9, 0.7), tau 0.9, lambda 0.3, batch 1024
(`paper_table4()`). Table 5 (2-D): MLP [64]*4, lr 5e-4, betas (0.9, 0.999), tau 0.99,
lambda 0.3 (`paper_2d()`).

`FitConfig()` keeps Table 4's betas, tau, lambda, batch and schedule, and changes three things;
the benchmark runs that chose each, with their commands, are in docs/lowdim.md:
- lr 3e-3 x 128 / width instead of 3e-4: the learning rate is what limits Table 4's fits, and
  wider layers diverge sooner under Adam, so the rate is divided by the widest layer over 128.
- [256]*3 instead of [512]*3 from D=64: a quarter of the cost per step, for a better fit.
- `quadratic` and `standardise`, this project's additions: potentials get 1/2 x^T W x and start
  at zero, and each side is standardised; without them the fits stall as the peers' do.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from models.mlp import ACTIVATIONS

BASE_LR, BASE_WIDTH = 3e-3, 128


@dataclass
class FitConfig:
    """Every hyperparameter of `enot.fit`.

    `hidden=None` picks [128]*3 below D=64 and [large_width]*3 from D=64. `lr=None` picks
    3e-3 x 128 / (widest hidden layer), capped at 3e-3.
    """

    steps: int = 10_000
    batch_size: int = 1024
    hidden: tuple[int, ...] | None = None
    large_width: int = 256
    activation: str = "elu"
    lr: float | None = None
    final_lr_ratio: float = 1e-4
    betas_f: tuple[float, float] = (0.9, 0.9)
    betas_g: tuple[float, float] = (0.9, 0.7)
    tau: float = 0.9
    lam: float = 0.3
    quadratic: bool = True
    standardise: bool = True
    # torch.compile the step (one backward, see single_backward_step): a one-off compile that
    # needs a C++ compiler, for faster steps on a CPU (timed in docs/lowdim.md).
    compile: bool = False
    seed: int = 0
    log_every: int = 0

    def __post_init__(self) -> None:
        checks = [
            (self.steps >= 1, f"steps must be >= 1; got {self.steps}"),
            (self.batch_size >= 2, f"batch_size must be >= 2; got {self.batch_size}"),
            (
                self.activation in ACTIVATIONS,
                f"activation must be one of {sorted(ACTIVATIONS)}; got {self.activation!r}",
            ),
            (
                self.lr is None or self.lr > 0,
                f"lr must be > 0 (or None for the width rule); got {self.lr}",
            ),
            (self.large_width >= 1, f"large_width must be >= 1; got {self.large_width}"),
            (
                0 <= self.final_lr_ratio <= 1,
                f"final_lr_ratio must lie in [0, 1]; got {self.final_lr_ratio}",
            ),
            (0.5 <= self.tau < 1, f"tau must lie in [0.5, 1); got {self.tau}"),
            (self.lam >= 0, f"lam must be >= 0; got {self.lam}"),
            (self.log_every >= 0, f"log_every must be >= 0; got {self.log_every}"),
        ]
        for beta_name in ("betas_f", "betas_g"):
            betas = tuple(getattr(self, beta_name))
            checks.append(
                (
                    len(betas) == 2 and all(0 <= b < 1 for b in betas),
                    f"{beta_name} must be two numbers in [0, 1); got {betas}",
                )
            )
            setattr(self, beta_name, betas)
        if self.hidden is not None:
            self.hidden = tuple(int(h) for h in self.hidden)
            checks.append(
                (
                    len(self.hidden) >= 1 and min(self.hidden) >= 1,
                    f"hidden must be a non-empty list of positive widths; got {self.hidden}",
                )
            )
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    def widths(self, dim: int) -> tuple[int, ...]:
        if self.hidden is not None:
            return self.hidden
        return (self.large_width,) * 3 if dim >= 64 else (128, 128, 128)

    def learning_rate(self, dim: int) -> float:
        """`lr`, or 3e-3 x 128 / (widest layer) capped at 3e-3: Adam moves every weight by about
        lr, so a layer's output moves in proportion to its width."""
        if self.lr is not None:
            return self.lr
        return BASE_LR * min(1.0, BASE_WIDTH / max(self.widths(dim)))

    def replace(self, **changes) -> "FitConfig":
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise TypeError(f"unknown fit settings {unknown}; FitConfig fields are {sorted(names)}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def paper_table4(**changes) -> FitConfig:
    """Table 4 of the paper as printed (the W2 benchmark), without this project's additions."""
    return FitConfig(
        lr=3e-4,
        large_width=512,
        betas_f=(0.9, 0.9),
        betas_g=(0.9, 0.7),
        tau=0.9,
        lam=0.3,
        quadratic=False,
        standardise=False,
    ).replace(**changes)


def paper_2d(**changes) -> FitConfig:
    """Table 5 of the paper: the 2-D sets."""
    return FitConfig(
        hidden=(64, 64, 64, 64),
        lr=5e-4,
        betas_f=(0.9, 0.999),
        betas_g=(0.9, 0.999),
        tau=0.99,
        lam=0.3,
    ).replace(**changes)
