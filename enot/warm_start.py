"""The warm start's objective: T regressed onto a matching of the samples, x_i onto its partner
y_sigma(i) (the exact OT matching, ``enot.ot_plan``), in the transport cost itself.

Minimising mean c(T(x_i), y_sigma(i)) takes T toward the optimal map on the matched samples
before ENOT trains it; a network that cannot tell nearby sources apart averages their partners,
so the regression alone blurs, and ENOT is what sharpens it.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from enot.costs import Cost
from enot.step import as_float32


@dataclass(frozen=True)
class RegressionLosses:
    """fit: mean c(T(x), y_sigma(x)), to minimise in T; transport_cost: mean c(x, T(x))."""

    fit: Tensor
    transport_cost: Tensor

    def tensors(self) -> dict[str, Tensor]:
        return {"fit": self.fit.detach().float(), "transport_cost": self.transport_cost}


def regression_forward(T: nn.Module, x: Tensor, partner: Tensor, cost: Cost) -> RegressionLosses:
    """The warm start's loss on a batch of matched pairs (x_i, partner_i)."""
    tx = as_float32(T(x))
    return RegressionLosses(
        fit=cost(tx, partner).mean(), transport_cost=cost(x, tx).detach().mean().float()
    )
