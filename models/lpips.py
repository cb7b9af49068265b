"""LPIPS(x, y) with an offline AlexNet trunk.

The lpips package (v0.1) ships its linear layers but takes the AlexNet ImageNet weights from
torchvision, which downloads them. Here they come from an explicit file or the torch hub cache,
and their absence is an error rather than a silent fall back to random weights.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from data.errors import UserError

LPIPS_FROM_HUB = "hub"  # lpips_weights value: take AlexNet from the torch hub cache


class LPIPSWeightsError(UserError, ValueError):
    """LPIPS was requested but its AlexNet backbone weights are missing or wrong."""


def alexnet_hub_file() -> Path:
    """Where torchvision would have cached the AlexNet ImageNet weights."""
    from torchvision.models import AlexNet_Weights

    name = AlexNet_Weights.IMAGENET1K_V1.url.rsplit("/", 1)[-1]
    return Path(torch.hub.get_dir()) / "checkpoints" / name


def _lpips_how_to() -> str:
    from torchvision.models import AlexNet_Weights

    url = AlexNet_Weights.IMAGENET1K_V1.url
    return (
        f"LPIPS needs torchvision's ImageNet AlexNet weights ({url.rsplit('/', 1)[-1]}), "
        f"which cannot be downloaded on this machine. Get that file elsewhere ({url}) and "
        f"pass --lpips-weights PATH, or copy it to {alexnet_hub_file()} and pass "
        f"--lpips-weights alone; or leave out --lpips-weights to skip LPIPS"
    )


def load_lpips(
    weights: str | os.PathLike = LPIPS_FROM_HUB,
    device: str | torch.device = "cpu",
    log: Callable[[str], None] | None = None,
) -> nn.Module:
    """lpips.LPIPS (v0.1, AlexNet) with the trunk loaded from ``weights`` (a .pth state dict of
    torchvision's alexnet, or just its ``features.*`` entries) or from the torch hub cache.

    Never falls back to random trunk weights. A file that is not torchvision's released one
    (its sha256 prefix is in the file name) is used but reported through ``log``.
    """
    if str(weights) == LPIPS_FROM_HUB:
        path = alexnet_hub_file()
        if not path.is_file():
            raise LPIPSWeightsError(
                f"no AlexNet weights in the torch hub cache ({path}). " + _lpips_how_to()
            )
    else:
        path = Path(weights)
        if not path.is_file():
            raise LPIPSWeightsError(
                f"LPIPS AlexNet weights not found at {path}. " + _lpips_how_to()
            )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle, zip and torch errors alike
        raise LPIPSWeightsError(
            f"cannot read {path} as a torch state dict: {err}. " + _lpips_how_to()
        ) from None
    if not isinstance(state, dict):
        raise LPIPSWeightsError(
            f"{path} holds a {type(state).__name__}, not a state dict of "
            f"torchvision's alexnet. " + _lpips_how_to()
        )
    features = {
        k[len("features.") :]: v
        for k, v in state.items()
        if isinstance(k, str) and k.startswith("features.")
    }

    import lpips

    with warnings.catch_warnings():
        # pnet_rand=True builds the trunk without downloading (torchvision warns that its
        # `pretrained` argument is deprecated); the trunk is filled from `path` just below.
        warnings.simplefilter("ignore", UserWarning)
        model = lpips.LPIPS(
            net="alex", version="0.1", pretrained=True, pnet_rand=True, verbose=False
        )
    trunk = model.net
    wanted = {k: k.split(".", 1)[1] for k in trunk.state_dict()}  # slice1.0.weight -> 0.weight
    missing = sorted(set(wanted.values()) - set(features))
    extra = sorted(set(features) - set(wanted.values()))
    if missing or extra:
        raise LPIPSWeightsError(
            f"{path} is not torchvision alexnet weights: "
            + (f"missing features.{', features.'.join(missing[:4])}" if missing else "")
            + ("; " if missing and extra else "")
            + (f"unexpected features.{', features.'.join(extra[:4])}" if extra else "")
            + ". "
            + _lpips_how_to()
        )
    try:
        trunk.load_state_dict({k: features[v] for k, v in wanted.items()}, strict=True)
    except RuntimeError as err:
        raise LPIPSWeightsError(f"{path} does not fit torchvision's alexnet: {err}") from None
    expected = alexnet_hub_file().stem.rsplit("-", 1)[-1]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if log is not None and not digest.startswith(expected):
        log(
            f"warning: {path} is not torchvision's released AlexNet file (sha256 {digest[:8]}..., "
            f"expected {expected}...): LPIPS is not comparable with published numbers"
        )
    return model.to(device).eval()
