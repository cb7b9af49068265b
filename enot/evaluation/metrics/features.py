"""Images -> Inception features, preprocessed exactly as clean-fid's 'clean' mode: each channel
of the uint8 RGB image as a float32 PIL image, resized bicubically to 299, clipped to [0, 255].
A thread pool decodes and resizes the next batch while the network runs."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import islice
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from enot.evaluation.metrics.inception import FEATURE_DIM, INPUT_SIZE

# clean-fid's cleanfid.utils.EXTENSIONS, minus .npy (not an image).
IMAGE_EXTENSIONS = {"bmp", "jpg", "jpeg", "pgm", "png", "ppm", "tif", "tiff", "webp"}

Extractor = Callable[[np.ndarray], np.ndarray]


def clean_resize(img: np.ndarray) -> np.ndarray:
    """uint8 [H, W, 3] -> float32 [299, 299, 3] in [0, 255], exactly as clean-fid 'clean' mode."""
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected an RGB image [H, W, 3], got shape {img.shape}")
    channels = []
    for c in range(3):
        # fromarray infers mode 'F' from float32; passing mode= is deprecated in Pillow 11.
        plane = Image.fromarray(np.ascontiguousarray(img[:, :, c], dtype=np.float32))
        plane = plane.resize((INPUT_SIZE, INPUT_SIZE), resample=Image.BICUBIC)
        channels.append(np.asarray(plane).clip(0, 255))
    return np.stack(channels, axis=2).astype(np.float32)


def _resized_chw(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    if img.dtype != np.uint8:
        raise TypeError(f"expected uint8 images (as saved to PNG), got {img.dtype}")
    return clean_resize(img).transpose(2, 0, 1)


def _load_resized_chw(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return clean_resize(np.asarray(im.convert("RGB"))).transpose(2, 0, 1)


def _pipelined_features(
    items: Iterable,
    load: Callable[[object], np.ndarray],
    extractor: Extractor,
    batch_size: int,
    workers: int,
    bar: tqdm,
) -> np.ndarray:
    """Run ``extractor`` on batch i while ``workers`` threads prepare batch i + 1."""
    out: list[np.ndarray] = []

    def finish(pending: list[Future]) -> None:
        batch = np.stack([f.result() for f in pending])
        out.append(extractor(batch))
        bar.update(len(pending))

    it: Iterator = iter(items)
    with bar, ThreadPoolExecutor(max_workers=workers) as pool:
        pending: list[Future] = []
        while chunk := list(islice(it, batch_size)):
            submitted = [pool.submit(load, item) for item in chunk]
            if pending:
                finish(pending)
            pending = submitted
        if pending:
            finish(pending)
    if not out:
        return np.empty((0, FEATURE_DIM), dtype=np.float32)
    return np.concatenate(out)


def features_from_images(
    images: Iterable[np.ndarray] | torch.Tensor,
    extractor: Extractor,
    batch_size: int = 32,
    progress: bool = True,
) -> np.ndarray:
    """Features [N, 2048] of uint8 RGB images, [H, W, 3] arrays or one [N, 3, H, W] tensor: what
    would be written to PNG, as clean-fid's folder comparison sees them."""
    total = len(images) if hasattr(images, "__len__") else None
    bar = tqdm(total=total, desc="FID features", unit="img", disable=not progress)
    if isinstance(images, torch.Tensor):
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"expected a tensor [N, 3, H, W], got {tuple(images.shape)}")
        if images.dtype != torch.uint8:
            raise TypeError(f"expected uint8 images, got {images.dtype}")
        images = (img.permute(1, 2, 0).cpu().numpy() for img in images)
    return _pipelined_features(images, _resized_chw, extractor, batch_size, workers=2, bar=bar)


def features_from_folder(
    folder: str | os.PathLike,
    extractor: Extractor,
    batch_size: int = 32,
    progress: bool = True,
    workers: int = 2,
) -> np.ndarray:
    """Features [N, 2048] of every image file under ``folder`` (recursive), sorted by path,
    hidden ones skipped, as clean-fid's ``glob("**/*.png")`` finds them."""
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder not found: {root}")
    files = sorted(
        p
        for p in root.rglob("*")
        if p.suffix[1:].lower() in IMAGE_EXTENSIONS
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    bar = tqdm(total=len(files), desc=f"FID {Path(folder).name}", unit="img", disable=not progress)
    return _pipelined_features(files, _load_resized_chw, extractor, batch_size, workers, bar)
