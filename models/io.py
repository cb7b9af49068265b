"""Load a model folder written by ``ModelMixin.save_pretrained``.

The folder holds ``config.json`` (constructor arguments plus ``_class_name``)
and ``diffusion_pytorch_model.safetensors``. The class comes from a fixed
registry rather than an import path so a folder cannot make us import code.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from diffusers import ModelMixin
from safetensors import safe_open

from .mlp import MLP
from .projected_potential import ProjectedPotential
from .resnet_d import ResNetD
from .unet import UNet

MODEL_CLASSES: dict[str, type[ModelMixin]] = {
    "UNet": UNet,
    "ResNetD": ResNetD,
    "MLP": MLP,
    "ProjectedPotential": ProjectedPotential,
}

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "diffusion_pytorch_model.safetensors"
# Long mismatch lists are truncated; the first few names identify the problem.
_MAX_LISTED = 8


class ModelLoadError(ValueError):
    """A model folder is missing, malformed, or does not match its config."""


def load_model(path: str | Path, expected: type | None = None) -> torch.nn.Module:
    """Build the class named in ``path/config.json`` and load its safetensors weights.

    Returns the model in eval mode. ``expected``, if given, must be the loaded
    class or a base of it. Every failure raises :class:`ModelLoadError` naming
    ``path``.
    """
    folder = Path(path)
    if not folder.exists():
        raise ModelLoadError(f"model folder not found: {folder}")
    if not folder.is_dir():
        raise ModelLoadError(f"model path is a file, not a folder: {folder}")

    config_file = folder / CONFIG_NAME
    if not config_file.is_file():
        found = sorted(p.name for p in folder.iterdir())
        raise ModelLoadError(
            f"{folder} is not a model folder: no {CONFIG_NAME} (found: {found or 'nothing'}). "
            f"A model export folder holds {CONFIG_NAME} and a *.safetensors weights file."
        )
    try:
        config = json.loads(config_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ModelLoadError(f"{config_file} is not valid JSON: {err}") from err
    if not isinstance(config, dict):
        raise ModelLoadError(f"{config_file} must hold a JSON object, got {type(config).__name__}")

    class_name = config.get("_class_name")
    cls = MODEL_CLASSES.get(class_name) if isinstance(class_name, str) else None
    if cls is None:
        raise ModelLoadError(
            f"{config_file}: unknown model class {class_name!r}; "
            f"known classes: {sorted(MODEL_CLASSES)}"
        )
    if expected is not None and not issubclass(cls, expected):
        raise ModelLoadError(f"{folder} holds a {class_name}, expected a {expected.__name__}")

    weights_file = folder / WEIGHTS_NAME
    if not weights_file.is_file():
        found = sorted(p.name for p in folder.iterdir())
        raise ModelLoadError(f"{folder}: weights file {WEIGHTS_NAME} missing (found: {found})")

    _check_weights_match_config(cls, config, folder, weights_file)

    try:
        # local_files_only: the folder is local and loading must never reach the hub.
        model = cls.from_pretrained(str(folder), use_safetensors=True, local_files_only=True)
    except Exception as err:  # diffusers raises assorted types; callers get one.
        raise ModelLoadError(f"could not load {class_name} from {folder}: {err}") from err
    model.eval()
    return model


def _check_weights_match_config(
    cls: type[ModelMixin], config: dict, folder: Path, weights_file: Path
) -> None:
    """Compare tensor names and shapes before loading.

    diffusers only warns about missing or unexpected keys, and its shape error
    does not say which config produced the mismatch, so check here first.
    """
    try:
        # The meta device allocates nothing: only names and shapes are needed.
        with torch.device("meta"):
            reference = cls.from_config(config)
    except (TypeError, ValueError) as err:
        raise ModelLoadError(
            f"{folder}/{CONFIG_NAME} does not describe a valid {cls.__name__}: {err}"
        ) from err
    wanted = {name: tuple(t.shape) for name, t in reference.state_dict().items()}

    try:
        with safe_open(str(weights_file), framework="pt") as f:
            stored = {name: tuple(f.get_slice(name).get_shape()) for name in f.keys()}
    except Exception as err:  # safetensors raises its own error types on corrupt headers
        raise ModelLoadError(f"{weights_file} is not a readable safetensors file: {err}") from err

    problems = []
    # Model order (input layer first) reads better than alphabetical.
    missing = [n for n in wanted if n not in stored]
    unexpected = sorted(stored.keys() - wanted.keys())
    mismatched = [n for n in wanted if n in stored and wanted[n] != stored[n]]
    if missing:
        problems.append(f"missing tensors {_short(missing)}")
    if unexpected:
        problems.append(f"unexpected tensors {_short(unexpected)}")
    if mismatched:
        shapes = [f"{n} (config {wanted[n]}, file {stored[n]})" for n in mismatched]
        problems.append(f"shape mismatch {_short(shapes)}")
    if problems:
        raise ModelLoadError(
            f"weights in {weights_file} do not match the {cls.__name__} described by "
            f"{folder / CONFIG_NAME}: " + "; ".join(problems)
        )


def _short(items: list[str]) -> str:
    head = ", ".join(items[:_MAX_LISTED])
    more = len(items) - _MAX_LISTED
    return f"[{head}{f', ... {more} more' if more > 0 else ''}]"
