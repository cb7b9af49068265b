"""Evaluate an inference export on a held-out split: FID, KID, MSE, optional LPIPS.

One pass over the source split translates each batch, accumulates MSE (and LPIPS) and feeds
T(x) to the Inception network as uint8 (``data.from_model``, the shared normalisation), then
clean-fid's clean resize. Nothing but the translated images needs recomputing between runs:

* FID(T(source), target) and KID use the target split's reference features;
* the identity baseline FID(source, target) uses the source split's features as well.

Both come from the cache of ``enot.evaluation.stats_cache``; FID with fewer images than Inception
dimensions uses ``enot.evaluation.metrics.fid_from_features_fast``, exact and fast.

MSE is the per-pixel mean of (x - T(x))^2 in [-1, 1] on T's raw output, as the ENOT and NOT
papers report it (and as ``enot.evaluation.judge_split`` computes it). LPIPS(x, T(x)) uses the
lpips package (v0.1, AlexNet trunk) with its bundled linear layers; the AlexNet ImageNet
weights cannot be downloaded here, so they come from an explicit file or the torch hub cache,
and their absence is an error rather than a silent fall back to random weights.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import torch

from enot.evaluation.class_judge import class_task, load_classifier
from enot.evaluation.held_out import (
    EvalData,
    EvaluationError,
    check_channels,
    data_from_card,
    data_from_folders,
    data_from_preset,
    describe_split,
    eval_split,
)
from enot.evaluation.metrics import (
    PROTOCOLS,
    InceptionFeatures,
    features_from_images,
    features_from_tensors,
    fid_from_features_fast,
    kid_from_features,
    kid_with_std,
    locate_inception_weights,
    stats,
)
from enot.evaluation.paired_judge import PairedJudge, is_paired
from enot.evaluation.result import PAPER_RESULTS, EvaluationResult, PaperNumbers, write_reports
from enot.evaluation.split_judge import TranslatedImages, judge_split
from enot.evaluation.stats_cache import log_to_stderr, reference_stats, stats_key
from enot.export import LoadedExport, load_export
from models.lpips import LPIPS_FROM_HUB, LPIPSWeightsError, load_lpips

__all__ = [
    "EvalData",
    "EvaluationError",
    "EvaluationResult",
    "LPIPS_FROM_HUB",
    "LPIPSWeightsError",
    "PAPER_RESULTS",
    "PaperNumbers",
    "TranslatedImages",
    "data_from_card",
    "data_from_folders",
    "data_from_preset",
    "evaluate_export",
    "load_lpips",
    "write_reports",
]


def resolve_device(device: str | torch.device) -> torch.device:
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise EvaluationError(
            "--device cuda was asked for, but CUDA is not available here; use --device cpu"
        )
    return dev


def _oracle_fid(
    data: EvalData,
    split: str,
    n: int,
    target_ref,
    extractor: Callable,
    batch_size: int,
    progress: bool,
    log: Callable[[str], None],
    cache: bool,
    protocol: str,
) -> float | None:
    """FID of N real target training images against the target split (see EvaluationResult)."""
    if split != "test":
        return None
    try:
        real = eval_split(data, "target", "train", n)
    except EvaluationError:
        return None
    if len(real) < n:
        return None
    ref = reference_stats(
        real,
        stats_key(data, "target", "train", real),
        extractor,
        batch_size,
        describe_split(data, "target", "train"),
        progress,
        log,
        cache,
        protocol=protocol,
    )
    return fid_from_features_fast(
        ref.features, ref.mu, ref.sigma, target_ref.features, target_ref.mu, target_ref.sigma
    )


def evaluate_export(
    model: str | os.PathLike | LoadedExport,
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
    log: Callable[[str], None] = log_to_stderr,
    fid_protocol: str = "clean",
) -> EvaluationResult:
    """Translate the source split with the export's T and measure it against the target split.

    ``data``: default ``data_from_card`` (the data the export was trained on). ``max_images``
    keeps the first N images of each split. ``fid_protocol``: "clean" (clean-fid: uint8, PIL
    bicubic) or "paper" (NOT's: floats, bilinear; ``metrics.paper_protocol``), for FID and KID
    alike. ``lpips_weights``: None skips LPIPS; a path or
    ``LPIPS_FROM_HUB`` gives the AlexNet trunk. Every input is checked before the Inception
    network is loaded, so mistakes fail in seconds.
    """
    start = time.perf_counter()
    if batch_size < 1:
        raise EvaluationError(f"batch size must be >= 1, got {batch_size}")
    if fid_protocol not in PROTOCOLS:
        raise EvaluationError(
            f"FID protocol must be one of {', '.join(PROTOCOLS)}, got {fid_protocol!r}"
        )
    if max_images is not None and max_images < 1:
        raise EvaluationError(f"max images must be >= 1, got {max_images}")
    translator = model if isinstance(model, LoadedExport) else load_export(model)
    check_channels(translator)
    data = data or data_from_card(translator)
    if data.image_size != translator.image_size:
        raise EvaluationError(
            f"the data is {data.image_size}x{data.image_size} but the export "
            f"was trained at {translator.image_size}x{translator.image_size}"
        )
    dev = resolve_device(device)
    source = eval_split(data, "source", split, max_images)
    target = eval_split(data, "target", split, max_images)
    weights = locate_inception_weights(inception_weights)
    lpips_model = None if lpips_weights is None else load_lpips(lpips_weights, dev, log=log)

    extractor = InceptionFeatures(weights, device=dev)
    refs = {}
    for role, dataset in (("target", target), ("source", source)):
        key = stats_key(data, role, split, dataset)
        refs[role] = reference_stats(
            dataset,
            key,
            extractor,
            batch_size,
            describe_split(data, role, split),
            progress,
            log,
            cache,
            protocol=fid_protocol,
        )

    oracle = _oracle_fid(
        data,
        split,
        len(source),
        refs["target"],
        extractor,
        batch_size,
        progress,
        log,
        cache,
        fid_protocol,
    )
    log(f"translating the {describe_split(data, 'source', split)}: {len(source)} images")
    stream = TranslatedImages(
        translator.T, source, batch_size, dev, lpips_model, as_float=fid_protocol == "paper"
    )
    if fid_protocol == "paper":
        translated = features_from_tensors(stream, extractor, len(source), progress)
    else:
        translated = features_from_images(
            stream, extractor, batch_size=batch_size, progress=progress
        )
    mu, sigma = stats(translated)
    tgt, src = refs["target"], refs["source"]
    judged, task = None, class_task(data.kind, data.source, data.target)
    if split == "test" and max_images is None and is_paired(data):
        judged = PairedJudge(data, extractor, device=dev, log=log)(translator.T).metrics()
    elif task is not None:
        classifier = load_classifier(task, log=log)
        judged = judge_split(
            translator.T, source, target, classifier, ink=data.kind == "colored_mnist", device=dev
        ).__dict__
    kid, kid_std = kid_with_std(translated, tgt.features)
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
        kid=kid,
        kid_std=kid_std,
        judge=judged,
        mse=stream.mse,
        lpips=stream.lpips,
        identity_fid=fid_from_features_fast(
            src.features, src.mu, src.sigma, tgt.features, tgt.mu, tgt.sigma
        ),
        identity_kid=kid_from_features(src.features, tgt.features),
        oracle_fid=oracle,
        fid_protocol=fid_protocol,
        seconds=time.perf_counter() - start,
        paper=PAPER_RESULTS.get(data.task) if data.task else None,
        stats_files={r: str(ref.path) for r, ref in refs.items() if ref.path is not None},
        stats_from_cache={r: ref.from_cache for r, ref in refs.items()},
    )
