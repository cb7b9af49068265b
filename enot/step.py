"""One ENOT step's forward pass (arXiv 2403.03777, Alg. 1, one direction): the losses, which the
caller backpropagates and steps.

What one step minimises is an ``ENOTObjective``: the cost, the expectile (tau, lambda) and the
potential's options. ``enot_forward`` evaluates g twice, on y and on T(x), and hands back both
losses with one g(T(x)) standing for g(sg(T(x))) in L_g and for the frozen g(T(x)) in L_T; the
caller then sends L_g into g's parameters only and L_T into T's only (``backward_separately``),
which does the stop-gradients' work with one fewer forward of g. ``enot_joint_losses`` is the
same step with three forwards of g and its stop-gradients built in, so one backward of
L_g + L_T is right: the reference the lean step is tested against, and the form that
torch.compile takes whole. (One call of g on the concatenation [y, T(x)] would save the same
forward but send the T loss's backward through the y half too, which costs it back.)

Two options on the potential, neither in the paper, both off by default: ``diff_augment`` shows g
a DiffAugment view of each input (``enot.augment``), drawn once per step, the same view
serving both losses; ``r1`` adds the R1 penalty r1/2 * E|grad g(y)|^2 at the (viewed) target
images to L_g, which keeps g from growing steep on the few thousand images it sees.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import torch
from torch import Tensor, nn
from torch.func import functional_call

from enot.augment import diff_augment
from enot.costs import Cost
from enot.losses import ENOTLosses, enot_losses

# Tensor.backward's keywords (inputs=, retain_graph=): autograd's, or accelerator.backward.
Backward = Callable[..., None]


@dataclass(frozen=True)
class ENOTObjective:
    """What one ENOT step minimises: the cost c, the expectile's tau and lambda, the gauge on
    g's level (``enot.losses.enot_losses``) and the potential's two options above."""

    cost: Cost
    tau: float
    lam: float
    gauge: float = 0.0
    r1: float = 0.0
    diff_augment: bool = False


def objective_of(cost: Cost, settings: object) -> ENOTObjective:
    """The objective under a settings object: tau and lam, and the gauge, r1 and diff_augment
    where it has them (the image config's ``enot`` section has all five, ``enot.fit``'s
    ``FitConfig`` the first two). The one place an objective is built from settings."""
    options = {
        k: getattr(settings, k) for k in ("gauge", "r1", "diff_augment") if hasattr(settings, k)
    }
    return ENOTObjective(cost, settings.tau, settings.lam, **options)


def trainable_params(module: nn.Module) -> list[Tensor]:
    return [p for p in module.parameters() if p.requires_grad]


def grad_norm(module: nn.Module) -> Tensor:
    """The total 2-norm of ``module``'s gradients, as float32."""
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    return torch.nn.utils.get_total_norm(grads).float()


def as_float32(t: Tensor) -> Tensor:
    # Under autocast the networks answer in half precision; the losses are summed in float32.
    return t.float() if t.dtype in (torch.float16, torch.bfloat16) else t


def r1_penalty(g_y: Tensor, y: Tensor, weight: float) -> Tensor:
    """weight/2 * mean |grad_y g(y)|^2, differentiable in g's parameters (Mescheder et al.
    2018, arXiv 1801.04406). ``y`` must be the leaf that g was called on."""
    (grad,) = torch.autograd.grad(g_y.sum(), y, create_graph=True)
    return weight / 2 * grad.float().square().flatten(1).sum(1).mean()


def _g_inputs(y: Tensor, tx: Tensor, views: bool, r1: float) -> tuple[Tensor, Tensor]:
    """What g sees of y and T(x): their DiffAugment views (y's first) or themselves; y as a
    leaf that asks for its gradient when the R1 penalty needs it."""
    if views:
        y, tx = diff_augment(y), diff_augment(tx)
    if r1:
        y = y.detach().requires_grad_(True)
    return y, tx


def enot_forward(
    T: nn.Module, g: nn.Module, x: Tensor, y: Tensor, obj: ENOTObjective
) -> ENOTLosses:
    """The step's losses from one forward of T and two of g; backpropagate them with
    ``backward_separately`` (L_g into g, L_T into T), never as one sum."""
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"source and target batches differ in size: {x.shape[0]} vs {y.shape[0]}")
    tx = T(x)
    y_in, tx_in = _g_inputs(y, tx, obj.diff_augment, obj.r1)
    g_y, g_tx = as_float32(g(y_in)), as_float32(g(tx_in))
    penalty = r1_penalty(g_y, y_in, obj.r1) if obj.r1 else None
    # One g(T(x)) serves as both g(sg(T(x))) and the frozen g(T(x)); backward_separately does
    # the stop-gradients' work.
    cost = obj.cost
    losses = enot_losses(
        cost(x, as_float32(tx)), cost(x, y), g_y, g_tx, g_tx, obj.tau, obj.lam, obj.gauge, penalty
    )
    return replace(losses, mapped=tx.detach())


@dataclass(frozen=True)
class Stationarity:
    """How near T(x) is to a stationary point of c(x, .) - g(.), which the map's loss asks for:
    there grad g(T(x)) = grad_y c(x, T(x)). ``ratio`` is the median over images of |grad g| /
    |grad_y c|, ``cosine`` the mean cosine between the two (1 and 1 at stationarity; random
    directions in D dimensions give about 1/sqrt(D))."""

    ratio: float
    cosine: float


def stationarity(g: nn.Module, x: Tensor, tx: Tensor, cost: Cost) -> Stationarity:
    """The stationarity of the map's output ``tx`` = T(x) under the potential g: two input
    gradients, g's parameters untouched."""
    y = tx.detach().float().requires_grad_(True)
    (grad_g,) = torch.autograd.grad(as_float32(g(y)).sum(), y)
    y = tx.detach().float().requires_grad_(True)
    (grad_c,) = torch.autograd.grad(cost(x.float(), y).sum(), y)
    a, b = grad_g.flatten(1), grad_c.flatten(1)
    ratio = a.norm(dim=1) / b.norm(dim=1).clamp_min(1e-12)
    cosine = torch.nn.functional.cosine_similarity(a, b, dim=1, eps=1e-12)
    return Stationarity(ratio=ratio.median().item(), cosine=cosine.mean().item())


def backward_separately(
    losses: ENOTLosses, T: nn.Module, g: nn.Module, backward: Backward = torch.autograd.backward
) -> None:
    """Accumulate L_g's gradient into g's parameters only and L_T's into T's only: the
    stop-gradients of ``enot_forward``'s shared g(T(x)). ``backward`` is
    ``accelerator.backward`` in training, so that mixed-precision loss scaling applies."""
    backward(losses.g_loss, inputs=trainable_params(g), retain_graph=True)
    backward(losses.t_loss, inputs=trainable_params(T))


def enot_joint_losses(
    T: nn.Module, g: nn.Module, x: Tensor, y: Tensor, obj: ENOTObjective
) -> ENOTLosses:
    """The step as losses with their own stop-gradients: ``(l.g_loss + l.t_loss).backward()``
    gives g exactly L_g's gradient and T exactly L_T's.

    g runs three times: on y, on sg(T(x)) for L_g, and with its weights detached
    (``torch.func.functional_call``) on T(x) for L_T; nothing is toggled, so the same code
    compiles whole (``enot.lowdim.single_backward_step``).
    """
    tx = T(x)
    y_in, tx_in = _g_inputs(y, tx, obj.diff_augment, obj.r1)
    frozen = {name: p.detach() for name, p in g.named_parameters()}
    g_tx_frozen = as_float32(functional_call(g, frozen, (tx_in,)))
    g_y = as_float32(g(y_in))
    return enot_losses(
        obj.cost(x, as_float32(tx)),
        obj.cost(x, y),
        g_y,
        as_float32(g(tx_in.detach())),
        g_tx_frozen,
        obj.tau,
        obj.lam,
        obj.gauge,
        r1_penalty(g_y, y_in, obj.r1) if obj.r1 else None,
    )


def enot_gradients(
    T: nn.Module,
    g: nn.Module,
    x: Tensor,
    y: Tensor,
    obj: ENOTObjective,
    backward: Backward = torch.autograd.backward,
) -> ENOTLosses:
    """``enot_forward`` then ``backward_separately``: the step's gradients in T's and g's
    ``.grad``, for callers that time or compare a step (``enot.fit``, benchmarks, tests); the
    training loop writes the two calls out."""
    losses = enot_forward(T, g, x, y, obj)
    backward_separately(losses, T, g, backward)
    return losses
