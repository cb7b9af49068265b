"""Evaluate an inference export on a held-out split: FID, KID, MSE, optional LPIPS.

One pass over the source split translates each batch, accumulates MSE (and LPIPS) and feeds
T(x) to the Inception network as uint8 (``data.from_model``, the shared normalisation), then
clean-fid's clean resize. Nothing but the translated images needs recomputing between runs:

* FID(T(source), target) and KID use the target split's reference features;
* the identity baseline FID(source, target) uses the source split's features as well.

Both are cached under ``$ENOT_CACHE_DIR/fid_stats/`` (default ``~/.cache/enot/fid_stats/``) as
.npz files holding ``mu`` and ``sigma`` in float64 (clean-fid's stats layout, readable with
``enot.metrics.load_stats``) plus the float32 ``features`` that KID needs. The file name is a
hash of what fixes the images: dataset kind, spec (resolved absolute path for folders, plus
each file's name, size and mtime), image size, split, number of images, and the colour seed
for colored_mnist.

FID with fewer images than Inception dimensions (2048): both covariances are then singular,
and scipy's ``sqrtm`` of their 2048x2048 product takes about a minute on 2 cores while it is
also at its least accurate. ``fid_from_features_fast`` computes the same Fréchet distance
exactly from the centred features: the non-zero eigenvalues of S1 S2 are the squared singular
values of A1 A2^T / sqrt((n1 - 1)(n2 - 1)), so Tr sqrtm(S1 S2) is their sum. With at least
2049 images on both sides it calls ``enot.metrics.frechet_distance`` (clean-fid's formula).

MSE is the per-pixel mean of (x - T(x))^2 in [-1, 1] on T's raw output, as the ENOT and NOT
papers report it (and as ``enot.evaluation.check_split`` computes it). LPIPS(x, T(x)) uses the
lpips package (v0.1, AlexNet trunk) with its bundled linear layers; the AlexNet ImageNet
weights cannot be downloaded here, so they come from an explicit file or the torch hub cache,
and their absence is an error rather than a silent fall back to random weights.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset, Subset

from data import build_domain, from_model
from enot.config import get_preset
from enot.evaluation import per_image_mse, translate_batches
from enot.export import Translator, load_translator
from enot.metrics import (
    InceptionFeatures,
    features_from_images,
    frechet_distance,
    kid_from_features,
    load_stats,
    locate_inception_weights,
    stats,
)

CHANNELS = 3
CACHE_ENV = "ENOT_CACHE_DIR"
CACHE_FORMAT = 1  # bump when what goes into the cached features changes
LPIPS_FROM_HUB = "hub"  # lpips_weights value: take AlexNet from the torch hub cache


class EvaluationError(ValueError):
    """The export and the evaluation data do not fit, or a split is unusable."""


class LPIPSWeightsError(EvaluationError):
    """LPIPS was requested but its AlexNet backbone weights are missing or wrong."""


# ---------------------------------------------------------------------------------------------
# The paper's numbers (ENOT, arXiv 2403.03777, image-to-image table), keyed by preset name.

@dataclass(frozen=True)
class PaperNumbers:
    fid: float
    mse: float


PAPER_RESULTS: dict[str, PaperNumbers] = {
    "handbags2shoes_128": PaperNumbers(fid=19.19, mse=0.34),
    "ffhq2comics_128": PaperNumbers(fid=17.11, mse=0.20),
    "celeba2anime_64": PaperNumbers(fid=13.12, mse=0.26),
    "celeba2anime_128": PaperNumbers(fid=18.85, mse=0.28),
}


# ---------------------------------------------------------------------------------------------
# What to evaluate on.

@dataclass(frozen=True)
class EvalData:
    """The two domains, as ``data.build_domain`` takes them, and where they came from.

    ``task`` names the task for the paper comparison (a preset name), None for ad-hoc folders.
    ``seed`` picks colored_mnist's colours; folders ignore it.
    """

    kind: str
    source: str
    target: str
    image_size: int
    seed: int = 0
    task: str | None = None
    origin: str = ""


def data_from_card(translator: Translator) -> EvalData:
    """The domains recorded in the export's task card (the data it was trained on)."""
    cfg = translator.config
    d = cfg.data
    if d.image_size != translator.image_size:
        raise EvaluationError(
            f"{translator.path}: the task card says image size {translator.image_size} but its "
            f"config says {d.image_size}; the export is inconsistent")
    return EvalData(kind=d.dataset, source=d.source, target=d.target, image_size=d.image_size,
                    seed=cfg.train.seed, task=cfg.preset, origin="the export's task card")


def data_from_preset(name: str, translator: Translator) -> EvalData:
    """The domains of preset ``name``; its image size must be the export's."""
    cfg = get_preset(name)  # ConfigError names the known presets
    d = cfg.data
    if d.image_size != translator.image_size:
        raise EvaluationError(
            f"preset {name} uses {d.image_size}x{d.image_size} images but the export "
            f"{translator.path} was trained at {translator.image_size}x{translator.image_size}: "
            f"evaluate it with a preset of image size {translator.image_size}, or without "
            f"--preset to use the data recorded in the export")
    return EvalData(kind=d.dataset, source=d.source, target=d.target, image_size=d.image_size,
                    seed=cfg.train.seed, task=name, origin=f"preset {name}")


def data_from_folders(source: str | os.PathLike, target: str | os.PathLike,
                      translator: Translator) -> EvalData:
    """Two image folders, resized to the export's image size."""
    return EvalData(kind="folder", source=str(Path(source).resolve()),
                    target=str(Path(target).resolve()), image_size=translator.image_size,
                    task=None, origin="image folders")


def check_channels(translator: Translator) -> None:
    """The export must map RGB to RGB, as every dataset here yields RGB."""
    card_channels = translator.card.get("channels", CHANNELS)
    cfg = getattr(translator.T, "config", None) or {}
    t_in, t_out = cfg.get("in_channels", CHANNELS), cfg.get("out_channels", CHANNELS)
    if (card_channels, t_in, t_out) != (CHANNELS, CHANNELS, CHANNELS):
        raise EvaluationError(
            f"the export {translator.path} works on {card_channels}-channel images (T: "
            f"{t_in} -> {t_out} channels) but the evaluation data is {CHANNELS}-channel RGB")


# ---------------------------------------------------------------------------------------------
# Reference statistics cache.

def cache_root() -> Path:
    """``$ENOT_CACHE_DIR``, else ``$XDG_CACHE_HOME/enot``, else ``~/.cache/enot``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "enot"
    return Path.home() / ".cache" / "enot"


def stats_cache_dir() -> Path:
    return cache_root() / "fid_stats"


@dataclass
class ReferenceStats:
    """Inception statistics of one split: mean, covariance (float64) and the raw features."""

    mu: np.ndarray
    sigma: np.ndarray
    features: np.ndarray
    path: Path | None
    from_cache: bool


def _files_fingerprint(dataset: Dataset) -> str | None:
    """Hash of (relative path, size, mtime) of the images an ImageFolder subset reads."""
    base, indices = dataset, None
    if isinstance(dataset, Subset):
        base, indices = dataset.dataset, list(dataset.indices)
    paths = getattr(base, "paths", None)
    if paths is None:
        return None
    root = Path(getattr(base, "root", "/"))
    chosen = paths if indices is None else [paths[i] for i in indices]
    h = hashlib.sha256()
    for p in chosen:
        st = Path(p).stat()
        try:
            rel = Path(p).relative_to(root).as_posix()
        except ValueError:
            rel = str(p)
        h.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def stats_key(data: EvalData, role: str, split: str, dataset: Dataset) -> dict[str, Any]:
    """What fixes the images of one split, hence its Inception statistics."""
    spec = data.source if role == "source" else data.target
    key: dict[str, Any] = {"format": CACHE_FORMAT, "kind": data.kind, "spec": spec,
                           "image_size": data.image_size, "split": split, "images": len(dataset)}
    if data.kind == "folder":
        key["spec"] = str(Path(spec).resolve())
        key["files"] = _files_fingerprint(dataset)
    else:
        key["seed"] = data.seed
    return key


def stats_cache_path(key: dict[str, Any], folder: Path | None = None) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    label = Path(str(key["spec"])).name or "root"
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in label)[:40]
    name = f"{key['kind']}-{safe}-{key['image_size']}px-{key['split']}-n{key['images']}-{digest}"
    return (folder or stats_cache_dir()) / f"{name}.npz"


def _read_cache(path: Path, n: int) -> ReferenceStats | None:
    try:
        mu, sigma = load_stats(path)
        with np.load(path) as f:
            features = f["features"].astype(np.float32)
    except (OSError, ValueError, KeyError):
        return None
    if features.ndim != 2 or features.shape[0] != n or mu.shape != (features.shape[1],):
        return None
    return ReferenceStats(mu, sigma, features, path, from_cache=True)


def _write_cache(path: Path, ref: ReferenceStats, key: dict[str, Any]) -> None:
    """Atomic write: a reader never sees half a file, concurrent writers agree anyway."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.tmp{os.getpid()}.npz")
    np.savez(tmp, mu=ref.mu.astype(np.float64), sigma=ref.sigma.astype(np.float64),
             features=ref.features.astype(np.float32),
             key=np.array(json.dumps(key, sort_keys=True)))
    os.replace(tmp, path)


def fid_from_features_fast(f1: np.ndarray, mu1: np.ndarray, sigma1: np.ndarray,
                           f2: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """FID of two feature sets [N1, D], [N2, D] with their (mu, sigma) from ``stats``.

    Exact low-rank formula when min(N1, N2) <= D (see the module docstring), else
    ``frechet_distance`` as clean-fid computes it.
    """
    n1, n2, dim = len(f1), len(f2), f1.shape[1]
    if min(n1, n2) > dim:
        return frechet_distance(mu1, sigma1, mu2, sigma2)
    a1 = np.asarray(f1, np.float64) - mu1
    a2 = np.asarray(f2, np.float64) - mu2
    singular = np.linalg.svd(a1 @ a2.T, compute_uv=False)
    tr_covmean = singular.sum() / math.sqrt((n1 - 1) * (n2 - 1))
    diff = mu1 - mu2
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_covmean)


# ---------------------------------------------------------------------------------------------
# LPIPS with an offline AlexNet trunk.

def alexnet_hub_file() -> Path:
    """Where torchvision would have cached the AlexNet ImageNet weights."""
    from torchvision.models import AlexNet_Weights

    name = AlexNet_Weights.IMAGENET1K_V1.url.rsplit("/", 1)[-1]
    return Path(torch.hub.get_dir()) / "checkpoints" / name


def _lpips_how_to() -> str:
    from torchvision.models import AlexNet_Weights

    url = AlexNet_Weights.IMAGENET1K_V1.url
    return (f"LPIPS needs torchvision's ImageNet AlexNet weights ({url.rsplit('/', 1)[-1]}), "
            f"which cannot be downloaded on this machine. Get that file elsewhere ({url}) and "
            f"pass --lpips-weights PATH, or copy it to {alexnet_hub_file()} and pass "
            f"--lpips-weights alone; or leave out --lpips-weights to skip LPIPS")


def load_lpips(weights: str | os.PathLike = LPIPS_FROM_HUB, device: str | torch.device = "cpu",
               log: Callable[[str], None] | None = None) -> nn.Module:
    """lpips.LPIPS (v0.1, AlexNet) with the trunk loaded from ``weights`` (a .pth state dict of
    torchvision's alexnet, or just its ``features.*`` entries) or from the torch hub cache.

    Never falls back to random trunk weights. A file that is not torchvision's released one
    (its sha256 prefix is in the file name) is used but reported through ``log``.
    """
    if str(weights) == LPIPS_FROM_HUB:
        path = alexnet_hub_file()
        if not path.is_file():
            raise LPIPSWeightsError(f"no AlexNet weights in the torch hub cache ({path}). "
                                    + _lpips_how_to())
    else:
        path = Path(weights)
        if not path.is_file():
            raise LPIPSWeightsError(f"LPIPS AlexNet weights not found at {path}. "
                                    + _lpips_how_to())
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle, zip and torch errors alike
        raise LPIPSWeightsError(f"cannot read {path} as a torch state dict: {err}. "
                                + _lpips_how_to()) from None
    if not isinstance(state, dict):
        raise LPIPSWeightsError(f"{path} holds a {type(state).__name__}, not a state dict of "
                                f"torchvision's alexnet. " + _lpips_how_to())
    features = {k[len("features."):]: v for k, v in state.items()
                if isinstance(k, str) and k.startswith("features.")}

    import lpips

    with warnings.catch_warnings():
        # pnet_rand=True builds the trunk without downloading (torchvision warns that its
        # `pretrained` argument is deprecated); the trunk is filled from `path` just below.
        warnings.simplefilter("ignore", UserWarning)
        model = lpips.LPIPS(net="alex", version="0.1", pretrained=True, pnet_rand=True,
                            verbose=False)
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
            + ". " + _lpips_how_to())
    try:
        trunk.load_state_dict({k: features[v] for k, v in wanted.items()}, strict=True)
    except RuntimeError as err:
        raise LPIPSWeightsError(f"{path} does not fit torchvision's alexnet: {err}") from None
    expected = alexnet_hub_file().stem.rsplit("-", 1)[-1]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if log is not None and not digest.startswith(expected):
        log(f"warning: {path} is not torchvision's released AlexNet file (sha256 {digest[:8]}..., "
            f"expected {expected}...): LPIPS is not comparable with published numbers")
    return model.to(device).eval()


# ---------------------------------------------------------------------------------------------
# The evaluation.

@dataclass(frozen=True)
class EvaluationResult:
    """Metrics of T on one split, the identity baseline, and what they were measured on."""

    model: str
    task: str | None
    dataset: str
    source: str
    target: str
    image_size: int
    split: str
    images: int  # source images translated
    target_images: int
    fid: float  # FID(T(source), target)
    kid: float  # KID(T(source), target), unscaled (papers often print x 1e3)
    mse: float  # per-pixel mean (x - T(x))^2 in [-1, 1]
    lpips: float | None  # LPIPS(x, T(x)), AlexNet v0.1; None when not requested
    identity_fid: float  # FID(source, target): what doing nothing scores
    identity_kid: float
    seconds: float
    paper: PaperNumbers | None = None
    stats_files: dict[str, str] = field(default_factory=dict)
    stats_from_cache: dict[str, bool] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["paper"] = asdict(self.paper) if self.paper is not None else None
        return d

    def to_markdown(self) -> str:
        where = f"{self.dataset} {self.source} -> {self.target}"
        lines = [
            f"# Evaluation of {self.model}",
            "",
            f"- task: {self.task or 'custom folders'} ({where}, {self.image_size}x"
            f"{self.image_size})",
            f"- split: {self.split}, {self.images} source and {self.target_images} target images",
            f"- time: {self.seconds:.1f} s",
            "",
        ]
        paper = self.paper
        head = "| metric | ours |" + (" paper (ENOT) |" if paper else "")
        rule = "| --- | ---: |" + (" ---: |" if paper else "")
        rows = [
            ("FID(T(source), target) ↓", f"{self.fid:.2f}", f"{paper.fid:.2f}" if paper else ""),
            ("KID(T(source), target) ↓", f"{self.kid:.5f}", "–"),
            ("MSE(x, T(x)), per pixel in [-1, 1]", f"{self.mse:.4f}",
             f"{paper.mse:.2f}" if paper else ""),
        ]
        if self.lpips is not None:
            rows.append(("LPIPS(x, T(x)), AlexNet", f"{self.lpips:.4f}", "–"))
        rows += [("FID(source, target), identity baseline", f"{self.identity_fid:.2f}", "–"),
                 ("KID(source, target), identity baseline", f"{self.identity_kid:.5f}", "–")]
        lines += [head, rule]
        for name, ours, theirs in rows:
            lines.append(f"| {name} | {ours} |" + (f" {theirs} |" if paper else ""))
        lines += ["", "FID falls as the number of images grows: compare numbers measured on the "
                  "same number of images."]
        if paper:
            lines.append("Paper: Buzun, Bobrin, Dylov, ENOT, arXiv 2403.03777.")
        return "\n".join(lines) + "\n"


class _Batches:
    """Sized iterable of uint8 HWC images from a dataset (``len`` drives the progress bar)."""

    def __init__(self, dataset: Dataset, batch_size: int):
        self.dataset, self.batch_size = dataset, batch_size

    def __len__(self) -> int:
        return len(self.dataset)

    def __iter__(self) -> Iterator[np.ndarray]:
        for start in range(0, len(self.dataset), self.batch_size):
            stop = min(start + self.batch_size, len(self.dataset))
            x = torch.stack([self.dataset[i] for i in range(start, stop)])
            for img in from_model(x):
                yield img.permute(1, 2, 0).numpy()


class _Translations:
    """Sized iterable of uint8 HWC T(x), accumulating MSE and LPIPS on the way."""

    def __init__(self, T: nn.Module, dataset: Dataset, batch_size: int, device: torch.device,
                 lpips_model: nn.Module | None):
        self.T, self.dataset, self.batch_size = T, dataset, batch_size
        self.device, self.lpips_model = device, lpips_model
        self.count, self.squared, self.perceptual = 0, 0.0, 0.0

    def __len__(self) -> int:
        return len(self.dataset)

    def __iter__(self) -> Iterator[np.ndarray]:
        for x, tx in translate_batches(self.T, self.dataset, self.batch_size, self.device):
            if tx.shape != x.shape:
                raise EvaluationError(f"T maps images {tuple(x.shape[1:])} to "
                                      f"{tuple(tx.shape[1:])}; expected the same shape")
            self.squared += per_image_mse(x, tx).sum().item()
            if self.lpips_model is not None:
                with torch.inference_mode():
                    d = self.lpips_model(x.to(self.device), tx.clamp(-1, 1).to(self.device))
                self.perceptual += d.double().sum().item()
            self.count += len(x)
            for img in from_model(tx):
                yield img.permute(1, 2, 0).numpy()

    @property
    def mse(self) -> float:
        return self.squared / self.count

    @property
    def lpips(self) -> float | None:
        return None if self.lpips_model is None else self.perceptual / self.count


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _describe(data: EvalData, role: str, split: str) -> str:
    spec = data.source if role == "source" else data.target
    return f"{role} {split} split ({data.kind} {spec})"


def _limited(data: EvalData, role: str, split: str, max_images: int | None) -> Dataset:
    spec = data.source if role == "source" else data.target
    full = build_domain(data.kind, spec, data.image_size, split, seed=data.seed)
    n = len(full) if max_images is None else min(len(full), max_images)
    if n == 0:
        raise EvaluationError(f"the {_describe(data, role, split)} is empty")
    if n < 2:
        hint = ("raise --max-images" if max_images is not None and len(full) > n else
                "add images (the test split is the last 10% of each domain)")
        raise EvaluationError(
            f"the {_describe(data, role, split)} has {n} image: fewer than 2 images cannot "
            f"give a covariance, so FID needs at least 2; {hint}")
    dataset = Subset(full, range(n))
    shape = tuple(dataset[0].shape)
    want = (CHANNELS, data.image_size, data.image_size)
    if shape != want:
        raise EvaluationError(f"the {_describe(data, role, split)} yields images {shape}, but "
                              f"the export expects {want}")
    return dataset


def resolve_device(device: str | torch.device) -> torch.device:
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise EvaluationError("--device cuda was asked for, but CUDA is not available here; "
                              "use --device cpu")
    return dev


def reference_stats(dataset: Dataset, key: dict[str, Any], extractor: Callable,
                    batch_size: int, label: str, progress: bool = True,
                    log: Callable[[str], None] = _stderr, cache: bool = True) -> ReferenceStats:
    """Cached Inception statistics of ``dataset`` (computed and stored on a miss)."""
    path = stats_cache_path(key) if cache else None
    if path is not None and path.is_file():
        found = _read_cache(path, len(dataset))
        if found is not None:
            log(f"{label}: {len(dataset)} images, Inception statistics from cache {path}")
            return found
    log(f"{label}: computing Inception statistics of {len(dataset)} images")
    features = features_from_images(_Batches(dataset, batch_size), extractor,
                                    batch_size=batch_size, progress=progress)
    mu, sigma = stats(features)
    ref = ReferenceStats(mu, sigma, features, path, from_cache=False)
    if path is not None:
        _write_cache(path, ref, key)
        log(f"{label}: cached at {path}")
    return ref


def evaluate_export(
    model: str | os.PathLike | Translator,
    data: EvalData | None = None,
    *,
    split: str = "test",
    batch_size: int = 64,
    max_images: int | None = None,
    inception_weights: str | os.PathLike | None = None,
    lpips_weights: str | os.PathLike | None = None,
    device: str | torch.device = "cpu",
    progress: bool = True,
    cache: bool = True,
    log: Callable[[str], None] = _stderr,
) -> EvaluationResult:
    """Translate the source split with the export's T and measure it against the target split.

    ``data``: default ``data_from_card`` (the data the export was trained on). ``max_images``
    keeps the first N images of each split. ``lpips_weights``: None skips LPIPS; a path or
    ``LPIPS_FROM_HUB`` gives the AlexNet trunk. Every input is checked before the Inception
    network is loaded, so mistakes fail in seconds.
    """
    start = time.perf_counter()
    if batch_size < 1:
        raise EvaluationError(f"batch size must be >= 1, got {batch_size}")
    if max_images is not None and max_images < 1:
        raise EvaluationError(f"max images must be >= 1, got {max_images}")
    translator = model if isinstance(model, Translator) else load_translator(model)
    check_channels(translator)
    data = data or data_from_card(translator)
    if data.image_size != translator.image_size:
        raise EvaluationError(f"the data is {data.image_size}x{data.image_size} but the export "
                              f"was trained at {translator.image_size}x{translator.image_size}")
    dev = resolve_device(device)
    source = _limited(data, "source", split, max_images)
    target = _limited(data, "target", split, max_images)
    weights = locate_inception_weights(inception_weights)
    lpips_model = None if lpips_weights is None else load_lpips(lpips_weights, dev, log=log)

    extractor = InceptionFeatures(weights, device=dev)
    refs = {}
    for role, dataset in (("target", target), ("source", source)):
        key = stats_key(data, role, split, dataset)
        refs[role] = reference_stats(dataset, key, extractor, batch_size,
                                     _describe(data, role, split), progress, log, cache)

    log(f"translating the {_describe(data, 'source', split)}: {len(source)} images")
    stream = _Translations(translator.T, source, batch_size, dev, lpips_model)
    translated = features_from_images(stream, extractor, batch_size=batch_size, progress=progress)
    mu, sigma = stats(translated)
    tgt, src = refs["target"], refs["source"]
    return EvaluationResult(
        model=str(translator.path.resolve()),
        task=data.task,
        dataset=data.kind,
        source=data.source,
        target=data.target,
        image_size=data.image_size,
        split=split,
        images=len(source),
        target_images=len(target),
        fid=fid_from_features_fast(translated, mu, sigma, tgt.features, tgt.mu, tgt.sigma),
        kid=kid_from_features(translated, tgt.features),
        mse=stream.mse,
        lpips=stream.lpips,
        identity_fid=fid_from_features_fast(src.features, src.mu, src.sigma,
                                            tgt.features, tgt.mu, tgt.sigma),
        identity_kid=kid_from_features(src.features, tgt.features),
        seconds=time.perf_counter() - start,
        paper=PAPER_RESULTS.get(data.task) if data.task else None,
        stats_files={r: str(ref.path) for r, ref in refs.items() if ref.path is not None},
        stats_from_cache={r: ref.from_cache for r, ref in refs.items()},
    )


def write_reports(result: EvaluationResult, out_dir: str | os.PathLike) -> tuple[Path, Path]:
    """Write ``metrics.json`` and ``metrics.md`` into ``out_dir``; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "metrics.json", out / "metrics.md"
    payload = result.to_dict()
    for k, v in payload.items():  # strict JSON has no NaN or Infinity
        if isinstance(v, float) and not math.isfinite(v):
            payload[k] = None
    json_path.write_text(json.dumps(payload, indent=2) + "\n")
    md_path.write_text(result.to_markdown())
    return json_path, md_path
