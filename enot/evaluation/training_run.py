"""What a training run asks of evaluation, resolved once from its config (``scripts/train.py``):
the task's held-out data and --best-by, checked against the task's judge before anything runs;
the evaluation callback the loop is handed (``JudgeCallback``); the exact OT between the train
split's samples, which curves.png draws; and, at the end, the exports judged on the whole test
split and the run's report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

import torch

from enot.config import Config
from enot.evaluation.held_out import EvalData, data_from_config
from enot.evaluation.judge import judge_for, judge_type
from enot.evaluation.map_judge import JudgeCallback, resolve_best_by
from enot.evaluation.ot_reference_data import task_reference
from enot.export import load_export, record_test_split
from enot.export.card import CARD_FILE, SplitJudgement
from enot.training import artifacts
from enot.training.checkpoints import list_checkpoints


@dataclass(frozen=True)
class RunEvaluation:
    """A run's evaluation: its config, the held-out data of its task and --best-by resolved
    (``auto`` to the task's rate, or fid)."""

    cfg: Config
    data: EvalData
    best_by: str

    @classmethod
    def resolve(cls, cfg: Config) -> RunEvaluation:
        """Refuses a --best-by the task has no judge for (``ConfigError``)."""
        return cls(cfg, data_from_config(cfg), resolve_best_by(cfg))

    def callback(self, device: torch.device | str, log: Callable[[str], None]) -> JudgeCallback:
        """The loop's evaluation callback: the task's judge on --eval-images, --best-by,
        --best-guard; FID and KID with --eval-fid, or where they pick export_best. Built before
        training, so that a missing file stops the run before its first step."""
        t = self.cfg.train
        fid_images = t.eval_images if t.eval_fid or self.best_by in ("fid", "kid") else None
        return JudgeCallback(self.data, fid_images, device, log, self.best_by, t.best_guard)

    def log_ot_reference(self, resume: str | None) -> None:
        """The exact OT between the train split's samples (scripts/ot_reference.py), printed and
        written to the run folder, where curves.png draws it; once per run folder, so not again
        on --resume, nor for a folder whose checkpoints train() will refuse without --resume."""
        cfg = self.cfg
        path = cfg.run_dir / artifacts.OT_REFERENCE
        if cfg.method.method == "not_ae" or (resume and path.is_file()):
            return  # not_ae's OT is from a domain to itself: 0
        if not resume and list_checkpoints(cfg.run_dir / artifacts.CHECKPOINTS):
            return
        result = task_reference(cfg, "train", cfg.train.ot_reference_samples)
        print("OT reference (--ot-reference-samples):")
        for line in result.lines():
            print("  " + line)
        cfg.run_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result.to_dict(), indent=2) + "\n")

    def report_on_test_split(self, last_eval: dict | None) -> None:
        """Judge the exports on the whole held-out split (class rate, content, MSE; or, for
        paired folders, style rate, distance to the truth, retrieval, FID); write JSON, and
        write each export's figures into its export card and model card, with the split and the
        judge named.

        A paired judgement costs an Inception pass, so maps the run judged already (the last
        evaluation is of the final export's weights, export_best's is in its card) are not
        judged again."""
        run_dir = self.cfg.run_dir
        kind, judge, reports = judge_type(self.data), None, {}
        for name in (artifacts.EXPORT, artifacts.EXPORT_BEST):
            if not (run_dir / name / CARD_FILE).is_file():
                continue
            export = load_export(run_dir / name)
            known = last_eval if name == artifacts.EXPORT else export.card.metrics
            report = kind.known_report(known) if known else None
            if report is None:
                judge = judge or judge_for(self.data)
                report = judge(export.T)
            print(f"{name} (step {export.card.step}):")
            for line in report.lines():
                print("  " + line)
            reports[name] = report.to_dict()
            record_test_split(
                export.path,
                SplitJudgement(
                    split="test",
                    judge=f"{kind.__module__}.{kind.__qualname__}",
                    images=report.images,
                    lines=report.lines(),
                    metrics=report.metrics(),
                ),
            )
        (run_dir / artifacts.TEST_SPLIT).write_text(json.dumps(reports, indent=2) + "\n")

    def print_last_evaluation(self, summary: dict) -> None:
        """The last evaluation's FID and KID beside the identity's, where it measured them, and
        where export_best is."""
        if "last_eval" not in summary:
            return
        m = summary["last_eval"]
        if "fid" in m:
            print(
                f"FID(T(x), y) on {m['fid_images']} test images: {m['fid']:.2f} (KID "
                f"{m['kid']:.4f} +- {m['kid_std']:.4f}); identity baseline FID(x, y): "
                f"{m['identity_fid']:.2f}"
            )
        if summary["best_step"]:
            print(
                f"best by {summary['best_by']} at step {summary['best_step']}: "
                f"{self.cfg.run_dir / artifacts.EXPORT_BEST}"
            )
        else:
            print(
                f"no evaluation qualified for export_best by {summary['best_by']} (see "
                f"--best-guard)"
            )
