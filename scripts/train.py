"""Train an ENOT translator.

    accelerate launch scripts/train.py --preset colored_mnist [--field value ...]
    python scripts/train.py --preset colored_mnist --steps 200
    python scripts/train.py --help      # every field, its default under the preset, its range
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

from data import CorruptImageError, DatasetError, build_domain  # noqa: E402
from enot.checkpoints import CheckpointError  # noqa: E402
from enot.evaluate_export import EvaluationError  # noqa: E402
from enot.evaluation import check_split  # noqa: E402
from enot.metrics import InceptionWeightsError  # noqa: E402
from enot.export import load_translator  # noqa: E402
from enot.config import ConfigError, parse_cli  # noqa: E402
from enot.trainer import NonFiniteLossError, Trainer  # noqa: E402

USER_ERRORS = (ConfigError, DatasetError, CorruptImageError, CheckpointError, NonFiniteLossError,
               FileExistsError, InceptionWeightsError, EvaluationError)


def report_on_test_split(cfg) -> None:
    """Check the exported translator on the held-out split of both domains."""
    d = cfg.data
    split = [build_domain(d.dataset, spec, d.image_size, "test", seed=cfg.train.seed)
             for spec in (d.source, d.target)]
    translator = load_translator(cfg.run_dir / "export")
    report = check_split(translator.T, *split)
    for line in report.lines():
        print(line)
    (cfg.run_dir / "test_split.json").write_text(json.dumps(report.__dict__, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    try:
        cfg, opts = parse_cli(argv, description=__doc__.split("\n\n")[0])
        if opts.dry_run:
            print(json.dumps(cfg.to_dict(), indent=2))
            return 0
        trainer = Trainer(cfg, resume=opts.resume)
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
            report_on_test_split(cfg)
        if "fid" in summary:
            print(f"FID(T(x), y) on {summary['fid_images']} test images: {summary['fid']:.2f}; "
                  f"identity baseline FID(x, y): {summary['identity_fid']:.2f} "
                  f"(ratio {summary['fid'] / summary['identity_fid']:.2f})")
            print(f"best FID {summary['best_fid']:.2f} at step {summary['best_fid_step']}: "
                  f"{run / 'export_best'}")
        if (run / "curves.png").is_file():
            print(f"curves:  {run / 'curves.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
