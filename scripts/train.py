"""Train an ENOT translator.

    accelerate launch scripts/train.py --preset colored_mnist [--field value ...]
    python scripts/train.py --preset colored_mnist --steps 200
    python scripts/train.py --help      # every field, its default under the preset, its range
"""

from __future__ import annotations

import json
import sys
from dataclasses import fields
from functools import partial


from data import CorruptImageError, DatasetError
from enot.training.checkpoints import CheckpointError
from enot.evaluation.export_report import EvaluationError
from enot.evaluation.held_out import data_from_config
from enot.evaluation.split_judge import SplitJudge
from enot.evaluation.class_judge import JudgeError
from enot.evaluation.map_judge import MapJudge
from enot.evaluation.paired_judge import PairedJudge, PairedReport, is_paired
from enot.evaluation.metrics import InceptionWeightsError
from enot.export_card import CARD_FILE, SplitJudgement
from enot.training.export import load_translator, record_test_split
from enot.config import ConfigError
from models.lpips import LPIPSWeightsError
from enot.config.cli import parse_cli
from enot.training.finite_guard import NonFiniteLossError
from enot.training.trainer import Trainer

USER_ERRORS = (LPIPSWeightsError, ConfigError, DatasetError, CorruptImageError, CheckpointError, NonFiniteLossError,
               FileExistsError, InceptionWeightsError, EvaluationError, JudgeError)


def report_on_test_split(cfg, last_eval: dict | None) -> None:
    """Judge the exports on the whole held-out split (class rate, content, MSE; or, for paired
    folders, style rate, distance to the truth, retrieval, FID); write JSON, and write each
    export's figures into its task card and model card, with the split and the judge named.

    A paired judgement costs an Inception pass, so maps the run judged already (the last
    evaluation is of the final export's weights, export_best's is in its card) are not judged
    again."""
    data = data_from_config(cfg)
    paired, judge, reports = is_paired(data), None, {}
    judge_class = PairedJudge if paired else SplitJudge
    for name in ("export", "export_best"):
        if not (cfg.run_dir / name / CARD_FILE).is_file():
            continue
        export = load_translator(cfg.run_dir / name)
        known = last_eval if name == "export" else export.card.metrics
        if paired and known:
            report = PairedReport(**{f.name: known[f.name] for f in fields(PairedReport)})
        else:
            judge = judge or judge_class(data)
            report = judge(export.T)
        print(f"{name} (step {export.card.step}):")
        for line in report.lines():
            print("  " + line)
        reports[name] = report.__dict__
        record_test_split(export.path, SplitJudgement(
            split="test", judge=f"{judge_class.__module__}.{judge_class.__name__}",
            images=report.images, lines=report.lines(), metrics=report.metrics()))
    (cfg.run_dir / "test_split.json").write_text(json.dumps(reports, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    try:
        cfg, opts = parse_cli(argv, description=__doc__.split("\n\n")[0])
        if opts.dry_run:
            print(json.dumps(cfg.to_dict(), indent=2))
            return 0
        trainer = Trainer(cfg, resume=opts.resume, make_judge=partial(MapJudge.for_run, cfg))
        summary = trainer.train(stop_at=opts.stop_at)
    except USER_ERRORS as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if trainer.accelerator.is_main_process:
        run = cfg.run_dir
        print(f"done: {summary['steps']} steps, {summary['steps_this_run'] / max(summary['seconds_this_run'], 1e-9):.2f} step/s")
        print(f"samples: {run / 'samples' / 'latest.png'}")
        if summary["steps"] < cfg.train.steps:
            print(f"stopped at step {summary['steps']} of {cfg.train.steps}; continue with the "
                  f"same command and --resume latest")
        else:
            print(f"export:  {run / 'export'}")
            report_on_test_split(cfg, summary.get("last_eval"))
        if "last_eval" in summary:
            m = summary["last_eval"]
            print(f"FID(T(x), y) on {m['fid_images']} test images: {m['fid']:.2f} (KID "
                  f"{m['kid']:.4f} +- {m['kid_std']:.4f}); identity baseline FID(x, y): "
                  f"{m['identity_fid']:.2f}")
            if summary["best_step"]:
                print(f"best by {summary['best_by']} at step {summary['best_step']}: "
                      f"{run / 'export_best'}")
            else:
                print(f"no evaluation qualified for export_best by {summary['best_by']} (see "
                      f"--best-guard)")
        if (run / "curves.png").is_file():
            print(f"curves:  {run / 'curves.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
