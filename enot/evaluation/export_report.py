"""Evaluate an inference export on a held-out split: FID, KID, MSE, optional LPIPS, and the
task's judge where it has a rate to report. One pass translates the source split; the reference
features come from the cache, so only the translations cost Inception passes between runs."""

from __future__ import annotations

import os
import time

import torch

from enot.evaluation.held_out import (
    EvalData,
    EvaluationError,
    check_channels,
    data_from_card,
    describe_split,
    eval_split,
)
from enot.evaluation.judge import judge_for
from enot.evaluation.metrics.inception import InceptionFeatures
from enot.evaluation.metrics.paper_protocol import PROTOCOLS
from enot.evaluation.metrics.weights import locate_inception_weights
from enot.evaluation.result import PAPER_RESULTS, EvaluationResult
from enot.evaluation.split_fid import SplitFID
from enot.evaluation.stats_cache import log_to_stderr
from enot.evaluation.translate import TranslatedImages
from enot.export import LoadedExport
from models.lpips import load_lpips


def evaluate_export(
    export: LoadedExport,
    data: EvalData | None = None,
    *,
    split: str = "test",
    batch_size: int = 64,
    max_images: int | None = None,
    inception_weights: str | os.PathLike | None = None,
    lpips_weights: str | os.PathLike | None = None,
    device: str | torch.device = "cpu",
    fid_protocol: str = "clean",
) -> EvaluationResult:
    """Translate the source split with the export's T and measure it against the target split.

    ``data`` defaults to the export's own (``data_from_card``); ``max_images`` keeps the first N
    images of each split; ``lpips_weights`` None skips LPIPS. Every input is checked before the
    Inception network is loaded, so mistakes fail in seconds.
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
    check_channels(export)
    data = data or data_from_card(export)
    if data.image_size != export.image_size:
        raise EvaluationError(
            f"the data is {data.image_size}x{data.image_size} but the export "
            f"was trained at {export.image_size}x{export.image_size}"
        )
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise EvaluationError(
            "--device cuda was asked for, but CUDA is not available here; use --device cpu"
        )
    source = eval_split(data, "source", split, max_images)
    target = eval_split(data, "target", split, max_images)
    weights = locate_inception_weights(inception_weights)
    lpips_model = (
        None if lpips_weights is None else load_lpips(lpips_weights, dev, log=log_to_stderr)
    )

    extractor = InceptionFeatures(weights, device=dev)
    fid = SplitFID(
        data,
        split,
        source,
        target,
        extractor,
        batch_size=batch_size,
        progress=True,
        protocol=fid_protocol,
    )
    oracle = fid.train_floor()
    log_to_stderr(f"translating the {describe_split(data, 'source', split)}: {len(source)} images")
    stream = TranslatedImages(
        export.T, source, batch_size, dev, lpips_model, as_float=fid_protocol == "paper"
    )
    translated = fid.features(stream)
    judge = judge_for(data, split, max_images, extractor=extractor, device=dev)
    judged = judge(export.T).to_dict() if judge.rate is not None else None
    kid, kid_std = fid.kid_of(translated)
    return EvaluationResult(
        model=str(export.path.resolve()),
        task=data.task,
        dataset=data.kind,
        source=data.source,
        target=data.target,
        image_size=data.image_size,
        split=split,
        images=len(source),
        target_images=len(target),
        fid=fid.fid_of(translated),
        kid=kid,
        kid_std=kid_std,
        judge=judged,
        mse=stream.mse,
        lpips=stream.lpips,
        identity_fid=fid.identity_fid,
        identity_kid=fid.identity_kid(),
        oracle_fid=oracle,
        fid_protocol=fid_protocol,
        seconds=time.perf_counter() - start,
        paper=PAPER_RESULTS.get(data.task) if data.task else None,
        stats_files={r: str(ref.path) for r, ref in fid.refs.items()},
        stats_from_cache={r: ref.from_cache for r, ref in fid.refs.items()},
    )
