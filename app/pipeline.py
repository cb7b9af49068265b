"""One image through a translator: decode, the training preprocessing, T, the geodesic, PNG.

Preprocessing is the training one (``data.normalization``): RGB (transparency flattened on the
background the export was trained with), the largest centred square,
bilinear resize to the model's size S, then [-1, 1]. The slider shows the displacement
interpolation x_t = (1 - t) x + t T(x), t in [0, 1]: for the quadratic cost this is the W2
geodesic (McCann's displacement interpolation) between the input and its translation, pixel
by pixel, as in the ENOT paper's transport-map view (Buzun et al. 2024, arXiv 2403.03777).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import torch
from PIL import Image

from data.normalization import WHITE, Color, center_crop_resize, from_model, has_alpha, to_model

from .fast_map import FastMap


@dataclass(frozen=True)
class Translation:
    """x and T(x) as [3, S, S] float tensors in model space, and how x was cut from the upload."""

    x: torch.Tensor
    tx: torch.Tensor
    preprocessing: str


def describe_crop(
    width: int, height: int, size: int, transparent: bool = False, background: Color = WHITE
) -> str:
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    crop = (
        "no crop (already square)"
        if width == height
        else f"center crop {side} x {side} at ({left}, {top})"
    )
    flat = (
        f"transparency flattened on #{''.join(f'{c:02x}' for c in background)} (as in training) -> "
        if transparent
        else ""
    )
    return (
        f"input {width} x {height} -> {flat}{crop} -> bilinear resize to {size} x {size}, "
        f"RGB, scaled to [-1, 1] (the training preprocessing)"
    )


def preprocess(img: Image.Image, size: int, background: Color = WHITE) -> tuple[torch.Tensor, str]:
    """PIL image (RGB, or RGBA flattened on ``background``, the export's) -> model input
    [3, size, size] in [-1, 1] and a sentence describing it."""
    note = describe_crop(*img.size, size, has_alpha(img), background)
    return to_model(center_crop_resize(img, size, background)), note


def translate(T: FastMap, img: Image.Image, size: int, background: Color = WHITE) -> Translation:
    x, note = preprocess(img, size, background)
    return Translation(x=x, tx=T(x.unsqueeze(0))[0], preprocessing=note)


def translate_many(
    T: FastMap, images: list[Image.Image], size: int, background: Color = WHITE
) -> list[Translation]:
    """Translate a list of images in one batch."""
    prepared = [preprocess(img, size, background) for img in images]
    xs = torch.stack([x for x, _ in prepared])
    txs = T(xs)
    return [Translation(x=x, tx=tx, preprocessing=note) for (x, note), tx in zip(prepared, txs)]


def interpolate(x: torch.Tensor, tx: torch.Tensor, t: float) -> torch.Tensor:
    """Displacement interpolation (1 - t) x + t T(x); t = 0 gives x, t = 1 gives T(x)."""
    if not 0.0 <= t <= 1.0:
        raise ValueError(f"t must lie in [0, 1], got {t}")
    return torch.lerp(x, tx, t)


def to_pil(x: torch.Tensor) -> Image.Image:
    """[3, S, S] in [-1, 1] -> 8-bit RGB image (clamped and rounded by ``from_model``)."""
    return Image.fromarray(from_model(x).permute(1, 2, 0).numpy())


def encode_png(img: Image.Image) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format="PNG", compress_level=1)  # lossless; level 1 is far faster than 6
    return buffer.getvalue()
