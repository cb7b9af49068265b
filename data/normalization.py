"""The one pixel normalisation shared by training, evaluation and the Gradio app.

Model space is float32 in [-1, 1], channels first. Every image enters through ``to_model``
(after ``center_crop_resize`` for photos) and leaves through ``from_model`` or ``to_unit``,
so the app sees exactly the pixels the model was trained on.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .errors import CorruptImageError

# 16-bit modes hold 0..65535; PIL's convert("RGB") would clip them at 255 instead of scaling.
_WIDE_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")


Color = tuple[int, int, int]
WHITE: Color = (255, 255, 255)
_NAMED = {"white": WHITE, "black": (0, 0, 0)}


def parse_background(text: str) -> Color:
    """``white``, ``black`` or ``#rrggbb`` -> an RGB triple; ValueError naming the forms."""
    value = str(text).strip().lower()
    if value in _NAMED:
        return _NAMED[value]
    if len(value) == 7 and value[0] == "#":
        try:
            return tuple(int(value[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]
        except ValueError:
            pass
    raise ValueError(f"background {text!r} is not a colour: use white, black or #rrggbb")


def has_alpha(img: Image.Image) -> bool:
    """Whether ``img`` carries transparency: an alpha band, or a palette/gray transparency key."""
    return img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info


def to_rgba_or_rgb(img: Image.Image) -> Image.Image:
    """A new 8-bit copy in RGBA where ``img`` is transparent, else RGB; alpha is kept, not
    flattened, so that the background can be chosen later (``to_rgb``). 16-bit and 32-bit
    integer gray images are scaled from 0..65535 to 0..255."""
    if img.mode in _WIDE_MODES:
        wide = np.asarray(img).astype(np.float64).clip(0, 65535)
        gray = np.rint(wide * (255.0 / 65535.0)).astype(np.uint8)
        return Image.fromarray(gray).convert("RGB")
    return img.convert("RGBA") if has_alpha(img) else img.convert("RGB")


def to_rgb(img: Image.Image, background: Color = WHITE) -> Image.Image:
    """Return a new 8-bit RGB copy of ``img`` whatever its mode.

    Transparent pixels are composited on ``background`` (alpha blending), so the colour a file
    happens to store under them never shows. 16-bit and 32-bit integer gray images are scaled
    from 0..65535 to 0..255.
    """
    img = to_rgba_or_rgb(img)
    if img.mode == "RGB":
        return img
    flat = Image.new("RGBA", img.size, (*background, 255))
    return Image.alpha_composite(flat, img).convert("RGB")


def to_model(x: torch.Tensor | np.ndarray | Image.Image, background: Color = WHITE) -> torch.Tensor:
    """uint8 pixels (tensor or array of any shape) or a PIL image -> float32 tensor in [-1, 1].

    A PIL image becomes RGB on ``background`` (see ``to_rgb``) and HWC is turned into CHW;
    arrays and tensors keep their shape, so their layout is the caller's business.
    """
    if isinstance(x, Image.Image):
        # np.array copies, so torch gets a writable buffer and the image can be closed.
        x = torch.from_numpy(np.array(to_rgb(x, background))).permute(2, 0, 1)
    elif isinstance(x, np.ndarray):
        x = torch.from_numpy(np.array(x))
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"to_model expects a uint8 tensor/array or a PIL image, got {type(x).__name__}"
        )
    if x.dtype != torch.uint8:
        raise TypeError(f"to_model expects uint8 pixels 0..255, got dtype {x.dtype}")
    return x.to(torch.float32) / 127.5 - 1.0


def from_model(x: torch.Tensor) -> torch.Tensor:
    """Float tensor in [-1, 1], CHW or BCHW -> uint8 tensor of the same shape, clamped, rounded."""
    if x.dim() not in (3, 4):
        raise ValueError(f"from_model expects a CHW or BCHW tensor, got shape {tuple(x.shape)}")
    return ((x.detach() + 1.0) * 127.5).round().clamp(0, 255).to(torch.uint8)


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> [0, 1], clamped; the range torchvision's save_image and make_grid expect."""
    return ((x + 1.0) / 2.0).clamp(0.0, 1.0)


def from_unit(x: torch.Tensor) -> torch.Tensor:
    """[0, 1] -> [-1, 1]: the model's range for images computed in floats (tinted digits)."""
    return x * 2.0 - 1.0


def random_flip(image: torch.Tensor, enabled: bool) -> torch.Tensor:
    """Mirror a [C, H, W] training image left-right with probability 1/2 when ``enabled``.

    torch's global RNG draws the coin (only when enabled), so seeding torch makes runs
    reproducible, in DataLoader workers too.
    """
    if enabled and torch.rand(()) < 0.5:
        return image.flip(-1)
    return image


MNIST_SIDE, MNIST_PAD = 28, 2  # (Fashion-)MNIST images are 28x28; padding gives the usual 32x32


def pad_mnist(x: torch.Tensor, image_size: int) -> torch.Tensor:
    """float [N, C, 28, 28] -> [N, C, S, S]: padded with zeros (black) to 32, then resized
    bilinearly with antialiasing if S != 32. Values are not clamped: the caller's range rules."""
    x = F.pad(x, (MNIST_PAD,) * 4)
    if image_size != MNIST_SIDE + 2 * MNIST_PAD:
        x = F.interpolate(
            x, size=(image_size, image_size), mode="bilinear", align_corners=False, antialias=True
        )
    return x


def check_image_size(size: int) -> None:
    """Raise ValueError unless ``size`` is a positive int (bool excluded)."""
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise ValueError(f"image size must be a positive int, got {size!r}")


def center_crop_resize(img: Image.Image, size: int, background: Color = WHITE) -> Image.Image:
    """Crop the largest centred square, then resize it to ``size`` x ``size`` (RGB result).

    This is the preprocessing for image folders and for the app's uploads. PIL's bilinear
    filter widens its support when shrinking, so downscaling is antialiased. Converting to RGB
    (on ``background``) first matters: PIL resizes palette images with nearest neighbour only,
    and a transparent image flattened before resizing equals the same image flattened by hand.
    """
    check_image_size(size)
    img = to_rgb(img, background)
    w, h = img.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    square = img.crop((left, top, left + side, top + side))
    return square.resize((size, size), Image.Resampling.BILINEAR)


def decode_image(path: str | os.PathLike, background: Color = WHITE) -> Image.Image:
    """Decode an image file fully into an 8-bit RGB PIL image on ``background`` (``to_rgb``).

    Any decode failure (unknown format, truncated data, ...) raises CorruptImageError naming the
    file and the reason; a missing file stays a FileNotFoundError.
    """
    path = Path(path)
    try:
        with Image.open(path) as img:
            img.load()
            return to_rgb(img, background)  # a copy, still valid after the file is closed
    except FileNotFoundError:
        raise
    except Exception as err:  # decoders raise OSError, SyntaxError, struct.error, ...
        raise CorruptImageError(f"cannot decode image {path}: {type(err).__name__}: {err}") from err


def load_image(path: str | os.PathLike, size: int, background: Color = WHITE) -> torch.Tensor:
    """Decode an image file (``decode_image``, transparency on ``background``) and return it
    centre-cropped and resized as a [3, size, size] tensor in [-1, 1]."""
    check_image_size(size)
    return to_model(center_crop_resize(decode_image(path, background), size))
