"""`TransportResult`: a fitted low-dimensional OT map, its potentials, and its files.

Saved as a folder like the image export (`enot.export`): each network in `save_pretrained`
format (config.json + safetensors, loaded back by `models.load_model`), plus a card
`transport.json` holding the cost, the standardisation and the settings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor, nn

from data.atomic import atomic_folder
from enot.lowdim.config import FitConfig
from enot.lowdim.costs import ARRAY_COSTS, ArrayCost, StrictlyConvexCost, cost_name
from enot.lowdim.inputs import BatchSource, as_tensor, check_finite
from enot.lowdim.networks import gradient_maps, one_directional_map
from enot.lowdim.standardise import Standardiser
from models import MLP, load_model

CARD = "transport.json"
_CHUNK = 8192


@dataclass
class TransportResult:
    """T (and T^-1 when bidirectional) in the data's units, and the eq. 19 cost estimate.

    T, T_inv, f, g act on standardised coordinates; `transport` and `inverse` wrap them.
    """

    T: nn.Module
    g: nn.Module
    f: nn.Module | None
    T_inv: nn.Module | None
    cost: ArrayCost
    standardiser: Standardiser
    config: FitConfig
    bidirectional: bool
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    source: BatchSource | Callable | None = None
    target: BatchSource | Callable | None = None

    @property
    def dim(self) -> int:
        return len(self.standardiser.shift_x)

    def _device(self) -> torch.device:
        return next(self.g.parameters()).device

    def _prepare(self, data: Any, what: str) -> Tensor:
        t = as_tensor(data, what, self._device())
        if t.shape[1] != self.dim:
            raise ValueError(
                f"{what} has dimension {t.shape[1]}; this map was fitted in D={self.dim}"
            )
        check_finite(t, what)
        return t

    def _apply(self, net: nn.Module, t: Tensor) -> Tensor:
        with torch.no_grad():
            return torch.cat([net(chunk) for chunk in t.split(_CHUNK)])

    def transport(self, x: Any) -> Any:
        """T(x) for source points x [N, D]; returns the input's kind (numpy or torch)."""
        t = self._prepare(x, "x")
        out = self.standardiser.y_out(self._apply(self.T, self.standardiser.x_in(t)))
        return out.cpu().numpy() if isinstance(x, np.ndarray) else out

    def inverse(self, y: Any) -> Any:
        """T^-1(y) = y - grad h*(grad g(y)) for target points (bidirectional fits only)."""
        if self.T_inv is None:
            raise ValueError(
                "inverse() needs a bidirectional fit; this map is one-directional "
                f"(cost {cost_name(self.cost)!r})"
            )
        t = self._prepare(y, "y")
        out = self.standardiser.x_out(self._apply(self.T_inv, self.standardiser.y_in(t)))
        return out.cpu().numpy() if isinstance(y, np.ndarray) else out

    def w2_estimate(self, x: Any = None, y: Any = None, n: int = 10_000) -> float:
        """The dual estimate of the OT cost (eq. 19): mean[c(x, T x) - g(T x)] + mean g(y).

        In the cost's units: W2^2 / 2 for 'half_sq_l2', W2^2 for 'sq_euclidean'. Without x and y,
        n fresh samples (or the fitted arrays) are used.
        """
        xs = self._samples(x, self.source, "x", n)
        ys = self._samples(y, self.target, "y", n)
        std = self.standardiser
        xt, yt = std.x_in(xs), std.y_in(ys)
        tx = self._apply(self.T, xt)
        with torch.no_grad():
            g_tx = torch.cat([self.g(c) for c in tx.split(_CHUNK)])
            g_y = torch.cat([self.g(c) for c in yt.split(_CHUNK)])
            w_std = float((self.cost(xt, tx) - g_tx).mean() + g_y.mean())
        return std.cost_out(w_std, xs, ys)

    def _samples(self, data: Any, fitted: Any, what: str, n: int) -> Tensor:
        if data is not None:
            return self._prepare(data, what)
        if fitted is None:
            raise ValueError(
                f"w2_estimate needs {what}: this result has no data attached "
                "(it was loaded from disk); pass x and y"
            )
        return fitted.fixed_or_fresh(n) if isinstance(fitted, BatchSource) else fitted(n)

    # -- files -------------------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Write the networks and the card atomically (temporary folder, then rename)."""
        with atomic_folder(path) as tmp:
            self.g.save_pretrained(tmp / "g")
            if self.bidirectional:
                self.f.save_pretrained(tmp / "f")
            else:
                self.T.net.save_pretrained(tmp / "T")
            card = {
                "cost": cost_name(self.cost),
                "bidirectional": self.bidirectional,
                "dim": self.dim,
                "standardiser": self.standardiser.to_dict(),
                "config": self.config.to_dict(),
                "seconds": self.seconds,
            }
            (tmp / CARD).write_text(json.dumps(card, indent=2) + "\n")
        return Path(path)

    @classmethod
    def load(cls, path: str | Path, cost: ArrayCost | None = None) -> "TransportResult":
        """Load a saved result. A user-defined cost is not stored: pass it again as `cost`."""
        path = Path(path)
        card_file = path / CARD
        if not card_file.is_file():
            raise ValueError(f"{path} is not a saved TransportResult: no {CARD}")
        card = json.loads(card_file.read_text())
        name = card["cost"]
        if cost is None:
            if name not in ARRAY_COSTS:
                raise ValueError(
                    f"{path} was fitted with the user cost {name!r}, which is not "
                    "stored; pass it: TransportResult.load(path, cost=...)"
                )
            cost = ARRAY_COSTS[name]
        elif cost_name(cost) != name:
            raise ValueError(f"{path} was fitted with cost {name!r}, not {cost_name(cost)!r}")
        g = load_model(path / "g", expected=MLP)
        config = FitConfig(**card["config"])
        std = Standardiser(**card["standardiser"])
        if card["bidirectional"]:
            if not isinstance(cost, StrictlyConvexCost):
                raise ValueError(
                    f"{path} is bidirectional but cost {name!r} is not strictly convex"
                )
            f = load_model(path / "f", expected=MLP)
            T, T_inv = gradient_maps(f, g, cost)
        else:
            f, T_inv = None, None
            T = one_directional_map(load_model(path / "T", expected=MLP), cost)
        return cls(
            T=T.eval(),
            g=g,
            f=f,
            T_inv=T_inv,
            cost=cost,
            standardiser=std,
            config=config,
            bidirectional=card["bidirectional"],
            seconds=card.get("seconds", 0.0),
        )
