"""Fully connected network for low-dimensional (toy) maps and potentials.

A plain Linear/activation stack; no source architecture is reproduced.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
    "silu": nn.SiLU,
    "softplus": nn.Softplus,
}


class MLP(ModelMixin, ConfigMixin):
    """``in_dim -> hidden[0] -> ... -> out_dim``, activation after every hidden layer.

    ``forward`` maps ``[B, in_dim]`` to ``[B]`` when ``out_dim == 1`` (a scalar
    potential) and to ``[B, out_dim]`` otherwise.

    ``quadratic=True`` (scalar output only) adds a learned quadratic form 1/2 x^T W x, so the
    network can grow quadratically away from the data instead of at most linearly; W starts at 0.
    ``zero_init_output=True`` starts the last layer at zero, so the network starts as the zero
    function (with ``quadratic`` too, the whole output starts at zero).
    """

    @register_to_config
    def __init__(
        self,
        in_dim: int,
        hidden: Sequence[int],
        out_dim: int,
        activation: str = "elu",
        quadratic: bool = False,
        zero_init_output: bool = False,
    ):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"MLP activation must be one of {sorted(ACTIVATIONS)}; got {activation!r}"
            )
        hidden = [int(h) for h in hidden]
        # A tuple would come back from config.json as a list; store the list
        # form now so a saved and a fresh config compare equal.
        self.register_to_config(hidden=hidden)

        layers: list[nn.Module] = []
        widths = [in_dim, *hidden]
        for fan_in, fan_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(fan_in, fan_out), ACTIVATIONS[activation]()]
        layers.append(nn.Linear(widths[-1], out_dim))
        if zero_init_output:
            nn.init.zeros_(layers[-1].weight)
            nn.init.zeros_(layers[-1].bias)
        self.net = nn.Sequential(*layers)
        if quadratic and out_dim != 1:
            raise ValueError(f"MLP quadratic=True needs out_dim=1 (a scalar output); got {out_dim}")
        self.quadratic_form = nn.Parameter(torch.zeros(in_dim, in_dim)) if quadratic else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != self.config.in_dim:
            raise ValueError(
                f"MLP expects [B, {self.config.in_dim}] inputs; got shape {tuple(x.shape)}"
            )
        out = self.net(x)
        if self.config.out_dim != 1:
            return out
        out = out.squeeze(-1)
        if self.quadratic_form is not None:
            out = out + 0.5 * ((x @ self.quadratic_form) * x).sum(-1)
        return out
