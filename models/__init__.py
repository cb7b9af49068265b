"""Network architectures and their save/load helpers; no optimal-transport logic."""

from .classifier import SmallClassifier
from .io import MODEL_CLASSES, ModelLoadError, load_model
from .mlp import MLP
from .projected_potential import ProjectedPotential
from .resnet_d import ResNetD
from .unet import UNet

__all__ = [
    "MLP",
    "MODEL_CLASSES",
    "ModelLoadError",
    "ProjectedPotential",
    "ResNetD",
    "SmallClassifier",
    "UNet",
    "load_model",
]
