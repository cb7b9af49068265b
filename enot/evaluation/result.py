"""What an evaluation of an export measured, and its two reports: metrics.json and metrics.md,
where the paper's own numbers sit beside ours."""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class PaperNumbers:
    fid: float
    mse: float


# The paper's numbers (ENOT, arXiv 2403.03777, image-to-image table), keyed by preset name.
PAPER_RESULTS: dict[str, PaperNumbers] = {
    "handbags2shoes_128": PaperNumbers(fid=19.19, mse=0.34),
    "ffhq2comics_128": PaperNumbers(fid=17.11, mse=0.20),
    "celeba2anime_64": PaperNumbers(fid=13.12, mse=0.26),
    "celeba2anime_128": PaperNumbers(fid=18.85, mse=0.28),
}
PROTOCOL_NOTES = {
    "clean": "clean-fid: T(x) as uint8, PIL bicubic resize to 299",
    "paper": "the NOT family's, as in the ENOT paper: T(x) as floats, bilinear F.interpolate to "
    "299; this project's TorchScript of the TF Inception weights, whose outputs differ "
    "slightly from pytorch-fid's port that NOT loads",
}
FID_RANK_RATIO = 0.5  # floor / identity above this: FID cannot rank maps


# The judge's rows of the Markdown table, (name, value) formats of its figures, shown where the
# judge reports the figure that keys them.
JUDGE_ROWS = {
    "class_rate": (
        ("target-class rate of T(x) ↑ ({classifier})", "{class_rate:.1%}"),
        ("target-class rate of real target images, ceiling", "{class_rate_ceiling:.1%}"),
        ("target-class rate of the untouched source, identity", "{class_rate_identity:.1%}"),
    ),
    "style_rate": (
        ("style rate of T(x) ↑ (read as the target set)", "{style_rate:.1%}"),
        ("style rate of real target images, ceiling", "{style_rate_ceiling:.1%}"),
        ("style rate of the untouched source, identity", "{style_rate_identity:.1%}"),
        (
            "per-pixel MSE to the true counterpart ↓ (identity; random pairs)",
            "{mse_truth:.4f} ({mse_truth_identity:.4f}; {mse_truth_random:.4f})",
        ),
        (
            "Inception-feature distance to the true counterpart ↓ (identity; random)",
            "{feat_truth:.2f} ({feat_truth_identity:.2f}; {feat_truth_random:.2f})",
        ),
        (
            "retrieval top-1: nearest target is the counterpart ↑ (identity)",
            "{retrieval:.1%} ({retrieval_identity:.1%})",
        ),
    ),
    "ink_shift": (
        ("ink-colour shift \\|ink(x) - ink(T(x))\\| ↓", "{ink_shift:.4f}"),
        ("ink-colour shift of random source/target pairs", "{ink_shift_random:.4f}"),
    ),
}


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
    # FID of N real target *train* images, N = images: what a perfect map scores at this N
    oracle_fid: float | None = None
    kid_std: float | None = None  # over KID's 100 subsets (0 when a subset is the whole set)
    judge: dict[str, Any] | None = None  # the task's judge's report, where it has a rate
    fid_protocol: str = "clean"  # how FID and KID saw the images (PROTOCOL_NOTES)
    stats_files: dict[str, str] = field(default_factory=dict)
    stats_from_cache: dict[str, bool] = field(default_factory=dict)

    def fid_can_rank(self) -> bool:
        """False when the real-data floor lies above half the identity baseline: then a perfect
        map would gain less on FID than sampling noise moves it at this N."""
        return self.oracle_fid is None or self.oracle_fid < FID_RANK_RATIO * self.identity_fid

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["fid_can_rank"] = self.fid_can_rank()
        return d

    def to_markdown(self) -> str:
        where = f"{self.dataset} {self.source} -> {self.target}"
        lines = [
            f"# Evaluation of {self.model}",
            "",
            f"- task: {self.task or 'custom folders'} ({where}, {self.image_size}x"
            f"{self.image_size})",
            f"- split: {self.split}, {self.images} source and {self.target_images} target images",
            f"- FID protocol: {self.fid_protocol} ({PROTOCOL_NOTES[self.fid_protocol]})",
            f"- time: {self.seconds:.1f} s",
            "",
        ]
        paper = self.paper
        head = "| metric | ours |" + (" paper (ENOT) |" if paper else "")
        rule = "| --- | ---: |" + (" ---: |" if paper else "")
        rows = [
            (
                f"FID(T(source), target) ↓, {self.fid_protocol} protocol",
                f"{self.fid:.2f}",
                f"{paper.fid:.2f} (paper protocol)" if paper else "",
            ),
            ("KID(T(source), target) ↓", f"{self.kid:.5f} ± {self.kid_std or 0:.5f}", "–"),
            (
                "MSE(x, T(x)), per pixel in [-1, 1]",
                f"{self.mse:.4f}",
                f"{paper.mse:.2f}" if paper else "",
            ),
        ]
        if self.lpips is not None:
            rows.append(("LPIPS(x, T(x)), AlexNet", f"{self.lpips:.4f}", "–"))
        rows += [
            ("FID(source, target), identity baseline", f"{self.identity_fid:.2f}", "–"),
            ("KID(source, target), identity baseline", f"{self.identity_kid:.5f}", "–"),
        ]
        if self.oracle_fid is not None:
            rows.append(
                ("FID(target train, target), real-data floor", f"{self.oracle_fid:.2f}", "–")
            )
        judge = self.judge or {}
        for key, judge_rows in JUDGE_ROWS.items():
            if judge.get(key) is not None:
                rows += [(n.format(**judge), v.format(**judge), "–") for n, v in judge_rows]
        lines += [head, rule]
        for name, ours, theirs in rows:
            lines.append(f"| {name} | {ours} |" + (f" {theirs} |" if paper else ""))
        lines += [
            "",
            "FID falls as the number of images grows: compare numbers measured on the "
            "same number of images.",
        ]
        if not self.fid_can_rank():
            lines.append(
                f"**FID cannot rank maps at N = {self.images}:** real target images "
                f"score {self.oracle_fid:.2f}, not far below doing nothing "
                f"({self.identity_fid:.2f}); rank by the target-class rate, or "
                f"evaluate on more images."
            )
        if paper:
            lines.append("Paper: Buzun, Bobrin, Dylov, ENOT, arXiv 2403.03777.")
            if self.fid_protocol != "paper":
                lines.append(
                    "The paper's FID follows the paper protocol; set ours beside it with "
                    "`scripts/evaluate.py --fid-protocol paper`."
                )
        return "\n".join(lines) + "\n"


def write_reports(result: EvaluationResult, out_dir: str | os.PathLike) -> tuple[Path, Path]:
    """Write ``metrics.json`` and ``metrics.md`` into ``out_dir`` (``metrics_paper.*`` for the
    paper FID protocol, so both protocols' reports can sit side by side); return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = "metrics" if result.fid_protocol == "clean" else f"metrics_{result.fid_protocol}"
    json_path, md_path = out / f"{stem}.json", out / f"{stem}.md"
    payload = result.to_dict()
    for k, v in payload.items():  # strict JSON has no NaN or Infinity
        if isinstance(v, float) and not math.isfinite(v):
            payload[k] = None
    json_path.write_text(json.dumps(payload, indent=2) + "\n")
    md_path.write_text(result.to_markdown())
    return json_path, md_path
