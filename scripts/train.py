"""Train an ENOT translator.

accelerate launch scripts/train.py --preset colored_mnist [--field value ...]
python scripts/train.py --preset colored_mnist --steps 200
python scripts/train.py --help      # every field, its default under the preset, its range
"""

from __future__ import annotations

import json
import sys

from data import CorruptImageError, DatasetError
from enot.config import ConfigError
from enot.config.cli import parse_cli
from enot.evaluation.class_judge import JudgeError
from enot.evaluation.held_out import EvaluationError, data_from_config
from enot.evaluation.judge import judge_for, judge_type
from enot.evaluation.map_judge import MapJudge, resolve_best_by
from enot.evaluation.metrics.weights import InceptionWeightsError
from enot.evaluation.ot_reference import OTReferenceError
from enot.evaluation.ot_reference_data import task_reference
from enot.export import load_export, record_test_split
from enot.export_card import CARD_FILE, SplitJudgement
from enot.optim import NonFiniteError
from enot.training import artifacts
from enot.training.accelerator_setup import process_state
from enot.training.checkpoints import CheckpointError, list_checkpoints
from enot.training.loop import train
from models.efficientnet_lite import BackboneWeightsError
from models.lpips import LPIPSWeightsError

USER_ERRORS = (
    BackboneWeightsError,
    LPIPSWeightsError,
    ConfigError,
    DatasetError,
    CorruptImageError,
    CheckpointError,
    NonFiniteError,
    FileExistsError,
    InceptionWeightsError,
    EvaluationError,
    JudgeError,
    OTReferenceError,
)


def report_on_test_split(cfg, last_eval: dict | None) -> None:
    """Judge the exports on the whole held-out split (class rate, content, MSE; or, for paired
    folders, style rate, distance to the truth, retrieval, FID); write JSON, and write each
    export's figures into its task card and model card, with the split and the judge named.

    A paired judgement costs an Inception pass, so maps the run judged already (the last
    evaluation is of the final export's weights, export_best's is in its card) are not judged
    again."""
    data = data_from_config(cfg)
    kind, judge, reports = judge_type(data), None, {}
    for name in (artifacts.EXPORT, artifacts.EXPORT_BEST):
        if not (cfg.run_dir / name / CARD_FILE).is_file():
            continue
        export = load_export(cfg.run_dir / name)
        known = last_eval if name == artifacts.EXPORT else export.card.metrics
        report = kind.known_report(known) if known else None
        if report is None:
            judge = judge or judge_for(data)
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
    (cfg.run_dir / artifacts.TEST_SPLIT).write_text(json.dumps(reports, indent=2) + "\n")


def log_ot_reference(cfg, resume: str | None) -> None:
    """The exact OT between the train split's samples (scripts/ot_reference.py), printed and
    written to the run folder, where curves.png draws it; once per run folder, so not again on
    --resume, nor for a folder whose checkpoints train() will refuse without --resume."""
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


def main(argv: list[str] | None = None) -> int:
    try:
        cfg, opts = parse_cli(argv, description=__doc__.split("\n\n")[0])
        resolve_best_by(cfg)  # refuses a --best-by the task has no judge for
        if opts.dry_run:
            print(json.dumps(cfg.to_dict(), indent=2))
            return 0
        evaluate, state = None, process_state()
        if cfg.train.eval_every and state.is_main_process:
            # Built before training, so that a missing file stops the run before its first step.
            evaluate = MapJudge.for_run(cfg, state.device, log=state.print)
        if cfg.train.ot_reference_samples and state.is_main_process:
            log_ot_reference(cfg, opts.resume)
        summary = train(cfg, resume=opts.resume, stop_at=opts.stop_at, evaluate=evaluate)
    except USER_ERRORS as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if state.is_main_process:
        run = cfg.run_dir
        rate = summary["steps_this_run"] / max(summary["seconds_this_run"], 1e-9)
        print(f"done: {summary['steps']} steps, {rate:.2f} step/s")
        print(f"samples: {run / artifacts.SAMPLES / artifacts.LATEST_SAMPLES}")
        if not summary["finished"]:
            print(
                f"stopped at step {summary['steps']} of {cfg.train.steps}; continue with the "
                f"same command and --resume latest"
            )
        else:
            print(f"export:  {run / artifacts.EXPORT}")
            try:
                report_on_test_split(cfg, summary.get("last_eval"))
            except USER_ERRORS as e:  # the export is written; only its judgement is missing
                print(
                    f"error: the test-split judgement failed, the export stands: {e}",
                    file=sys.stderr,
                )
                return 2
        if "last_eval" in summary:
            m = summary["last_eval"]
            print(
                f"FID(T(x), y) on {m['fid_images']} test images: {m['fid']:.2f} (KID "
                f"{m['kid']:.4f} +- {m['kid_std']:.4f}); identity baseline FID(x, y): "
                f"{m['identity_fid']:.2f}"
            )
            if summary["best_step"]:
                print(
                    f"best by {summary['best_by']} at step {summary['best_step']}: "
                    f"{run / artifacts.EXPORT_BEST}"
                )
            else:
                print(
                    f"no evaluation qualified for export_best by {summary['best_by']} (see "
                    f"--best-guard)"
                )
        if (run / artifacts.CURVES).is_file():
            print(f"curves:  {run / artifacts.CURVES}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
