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
    """

    @register_to_config
    def __init__(self, in_dim: int, hidden: Sequence[int], out_dim: int, activation: str = "elu"):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"MLP activation must be one of {sorted(ACTIVATIONS)}; got {activation!r}")
        hidden = [int(h) for h in hidden]
        # A tuple would come back from config.json as a list; store the list
        # form now so a saved and a fresh config compare equal.
        self.register_to_config(hidden=hidden)

        layers: list[nn.Module] = []
        widths = [in_dim, *hidden]
        for fan_in, fan_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(fan_in, fan_out), ACTIVATIONS[activation]()]
        layers.append(nn.Linear(widths[-1], out_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != self.config.in_dim:
            raise ValueError(f"MLP expects [B, {self.config.in_dim}] inputs; got shape {tuple(x.shape)}")
        out = self.net(x)
        return out.squeeze(-1) if self.config.out_dim == 1 else out
