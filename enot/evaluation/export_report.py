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

import json
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from data import from_model
from enot.evaluation.held_out import (EvalData, EvaluationError, check_channels, data_from_card,
                            data_from_folders, data_from_preset, describe_split, eval_split)
from enot.evaluation.class_judge import class_task, load_classifier
from enot.evaluation.split_judge import judge_split, per_image_mse, translate_batches
from enot.training.export import Translator, load_translator
from enot.evaluation.metrics import (
    InceptionFeatures,
    features_from_images,
    fid_from_features_fast,
    kid_from_features,
    kid_with_std,
    locate_inception_weights,
    stats,
)
from models.lpips import LPIPS_FROM_HUB, LPIPSWeightsError, load_lpips
from enot.evaluation.stats_cache import log_to_stderr, reference_stats, stats_key

__all__ = ["EvalData", "EvaluationError", "EvaluationResult", "LPIPS_FROM_HUB",
           "LPIPSWeightsError", "PAPER_RESULTS", "PaperNumbers", "TranslatedImages",
           "data_from_card", "data_from_folders", "data_from_preset", "evaluate_export",
           "load_lpips", "write_reports"]


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
# The evaluation.

FID_RANK_RATIO = 0.5  # floor / identity above this: FID cannot rank maps (colored MNIST: 0.67)


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
    # FID(first N target *train* images, target split), N = images: the floor that real target
    # images, hence a perfect translator, reach at this N. None when the split is not "test"
    # or the train split is smaller.
    oracle_fid: float | None = None
    kid_std: float | None = None  # over KID's 100 subsets (0 when a subset is the whole set)
    # The classifier judge and the ink shift (enot.evaluation.split_judge.SplitReport), where the task has
    # them: the share of T(x) read as the target class, its ceiling and the identity's.
    judge: dict[str, Any] | None = None
    stats_files: dict[str, str] = field(default_factory=dict)
    stats_from_cache: dict[str, bool] = field(default_factory=dict)

    def fid_can_rank(self) -> bool:
        """False when the real-data floor lies above half the identity baseline: then a perfect
        translator would gain less on FID than sampling noise moves it at this N."""
        return self.oracle_fid is None or self.oracle_fid < FID_RANK_RATIO * self.identity_fid

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["fid_can_rank"] = self.fid_can_rank()
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
            ("KID(T(source), target) ↓", f"{self.kid:.5f} ± {self.kid_std or 0:.5f}", "–"),
            ("MSE(x, T(x)), per pixel in [-1, 1]", f"{self.mse:.4f}",
             f"{paper.mse:.2f}" if paper else ""),
        ]
        if self.lpips is not None:
            rows.append(("LPIPS(x, T(x)), AlexNet", f"{self.lpips:.4f}", "–"))
        rows += [("FID(source, target), identity baseline", f"{self.identity_fid:.2f}", "–"),
                 ("KID(source, target), identity baseline", f"{self.identity_kid:.5f}", "–")]
        if self.oracle_fid is not None:
            rows.append(("FID(target train, target), real-data floor", f"{self.oracle_fid:.2f}",
                         "–"))
        j = self.judge or {}
        if j.get("class_rate") is not None:
            rows += [(f"target-class rate of T(x) ↑ ({j['classifier']})",
                      f"{j['class_rate']:.1%}", "–"),
                     ("target-class rate of real target images, ceiling",
                      f"{j['class_rate_ceiling']:.1%}", "–"),
                     ("target-class rate of the untouched source, identity",
                      f"{j['class_rate_identity']:.1%}", "–")]
        if j.get("ink_shift") is not None:
            rows += [("ink-colour shift \\|ink(x) - ink(T(x))\\| ↓", f"{j['ink_shift']:.4f}",
                      "–"),
                     ("ink-colour shift of random source/target pairs",
                      f"{j['ink_shift_random']:.4f}", "–")]
        lines += [head, rule]
        for name, ours, theirs in rows:
            lines.append(f"| {name} | {ours} |" + (f" {theirs} |" if paper else ""))
        lines += ["", "FID falls as the number of images grows: compare numbers measured on the "
                  "same number of images."]
        if not self.fid_can_rank():
            lines.append(f"**FID cannot rank maps at N = {self.images}:** real target images "
                         f"score {self.oracle_fid:.2f}, not far below doing nothing "
                         f"({self.identity_fid:.2f}); rank by the target-class rate, or "
                         f"evaluate on more images.")
        if paper:
            lines.append("Paper: Buzun, Bobrin, Dylov, ENOT, arXiv 2403.03777.")
        return "\n".join(lines) + "\n"


class TranslatedImages:
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


def resolve_device(device: str | torch.device) -> torch.device:
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise EvaluationError("--device cuda was asked for, but CUDA is not available here; "
                              "use --device cpu")
    return dev


def _oracle_fid(data: EvalData, split: str, n: int, target_ref, extractor: Callable,
                batch_size: int, progress: bool, log: Callable[[str], None],
                cache: bool) -> float | None:
    """FID of N real target training images against the target split (see EvaluationResult)."""
    if split != "test":
        return None
    try:
        real = eval_split(data, "target", "train", n)
    except EvaluationError:
        return None
    if len(real) < n:
        return None
    ref = reference_stats(real, stats_key(data, "target", "train", real), extractor, batch_size,
                          describe_split(data, "target", "train"), progress, log, cache)
    return fid_from_features_fast(ref.features, ref.mu, ref.sigma, target_ref.features,
                                  target_ref.mu, target_ref.sigma)


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
    log: Callable[[str], None] = log_to_stderr,
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
    source = eval_split(data, "source", split, max_images)
    target = eval_split(data, "target", split, max_images)
    weights = locate_inception_weights(inception_weights)
    lpips_model = None if lpips_weights is None else load_lpips(lpips_weights, dev, log=log)

    extractor = InceptionFeatures(weights, device=dev)
    refs = {}
    for role, dataset in (("target", target), ("source", source)):
        key = stats_key(data, role, split, dataset)
        refs[role] = reference_stats(dataset, key, extractor, batch_size,
                                     describe_split(data, role, split), progress, log, cache)

    oracle = _oracle_fid(data, split, len(source), refs["target"], extractor, batch_size,
                         progress, log, cache)
    log(f"translating the {describe_split(data, 'source', split)}: {len(source)} images")
    stream = TranslatedImages(translator.T, source, batch_size, dev, lpips_model)
    translated = features_from_images(stream, extractor, batch_size=batch_size, progress=progress)
    mu, sigma = stats(translated)
    tgt, src = refs["target"], refs["source"]
    judged, task = None, class_task(data.kind, data.source, data.target)
    if task is not None:
        classifier = load_classifier(task, log=log)
        judged = judge_split(translator.T, source, target, classifier,
                             ink=data.kind == "colored_mnist", device=dev).__dict__
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
        identity_fid=fid_from_features_fast(src.features, src.mu, src.sigma,
                                            tgt.features, tgt.mu, tgt.sigma),
        identity_kid=kid_from_features(src.features, tgt.features),
        oracle_fid=oracle,
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
