"""Decoding untrusted uploads: size limits from the header, clear errors, every mode to RGB.

A decompression bomb is a small file that declares a huge image (a 60 KB PNG can declare
8000 x 8000 pixels). ``Image.open`` reads only the header, so the declared size is checked
against ``MAX_PIXELS`` before any pixel buffer is allocated; PIL's own DecompressionBombError
(above 2 x Image.MAX_IMAGE_PIXELS) and its warning are turned into the same refusal.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from data.normalization import to_rgba_or_rgb

MAX_BYTES = 25 * 1024 * 1024
MAX_PIXELS = 50_000_000  # about 8660 x 5770: larger than any phone photo


class UploadError(ValueError):
    """An uploaded file is not an image the demo can use; the message says why."""


def inside(path: str | os.PathLike, roots: list[str | os.PathLike]) -> bool:
    """True if ``path`` (symlinks resolved) lies in one of ``roots``."""
    real = Path(path).resolve()
    return any(real.is_relative_to(Path(r).resolve()) for r in roots)


def _read(source: bytes | str | os.PathLike, name: str) -> bytes:
    if isinstance(source, bytes):
        data = source
    else:
        size = os.path.getsize(source)
        if size > MAX_BYTES:
            raise UploadError(
                f"{name} is {size / 2**20:.1f} MB; the limit is {MAX_BYTES / 2**20:.0f} MB"
            )
        data = Path(source).read_bytes()
    if not data:
        raise UploadError(f"{name} is empty (0 bytes): upload an image file")
    if len(data) > MAX_BYTES:
        raise UploadError(
            f"{name} is {len(data) / 2**20:.1f} MB; the limit is {MAX_BYTES / 2**20:.0f} MB"
        )
    return data


def decode_upload(source: bytes | str | os.PathLike, name: str | None = None) -> Image.Image:
    """Fully decode an uploaded image (first frame) and return an 8-bit RGB or RGBA copy.

    16-bit and grayscale PNGs, palette and CMYK JPEGs become RGB, and transparent images RGBA,
    through the shared ``data.normalization.to_rgba_or_rgb``: the alpha is flattened later, on
    the background of the export that translates the image. Raises UploadError naming
    ``name`` for an empty file, a non-image, a truncated or corrupt image, or a declared size
    above MAX_PIXELS.
    """
    name = name or (Path(source).name if not isinstance(source, bytes) else "the upload")
    data = _read(source, name)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
            raise UploadError(
                f"{name} declares too many pixels; refused without decoding ({err})"
            ) from None
        except UnidentifiedImageError:
            raise UploadError(
                f"{name} is not an image (no known image format: use PNG, JPEG, "
                f"WebP, BMP, GIF or TIFF)"
            ) from None
    with img:
        width, height = img.size
        if width * height > MAX_PIXELS:
            raise UploadError(
                f"{name} declares {width} x {height} = {width * height:,} pixels, "
                f"more than the limit of {MAX_PIXELS:,}; refused without decoding"
            )
        if width == 0 or height == 0:
            raise UploadError(f"{name} has no pixels ({width} x {height})")
        try:
            img.load()
            return to_rgba_or_rgb(img)
        except Exception as err:  # decoders raise OSError, SyntaxError, ValueError, ...
            raise UploadError(
                f"{name} could not be decoded: it is truncated or corrupt "
                f"({type(err).__name__}: {err})"
            ) from None
