"""Train an ENOT map and export it.

accelerate launch scripts/train.py --preset colored_mnist [--field value ...]
python scripts/train.py --preset colored_mnist --steps 200
python scripts/train.py --help      # every field, its default under the preset, its range
"""

from __future__ import annotations

import json
import sys

from data import UserError
from enot.config.cli import parse_cli
from enot.evaluation.training_run import RunEvaluation
from enot.training import artifacts
from enot.training.accelerator_setup import process_state
from enot.training.loop import train

# What the user can fix: printed as "error: ..." with exit status 2, no traceback. A file where
# the run folder goes, or a folder holding another run's checkpoints, is a FileExistsError.
USER_ERRORS = (UserError, FileExistsError)


def main(argv: list[str] | None = None) -> int:
    try:
        cfg, opts = parse_cli(argv, description=__doc__.split("\n\n")[0])
        judging = RunEvaluation.resolve(cfg)  # refuses a --best-by the task has no judge for
        if opts.dry_run:
            print(json.dumps(cfg.to_dict(), indent=2))
            return 0
        evaluate, state = None, process_state()
        if cfg.train.eval_every and state.is_main_process:
            evaluate = judging.callback(state.device, log=state.print)
        if cfg.train.ot_reference_samples and state.is_main_process:
            judging.log_ot_reference(opts.resume)
        summary = train(cfg, resume=opts.resume, stop_at=opts.stop_at, evaluate=evaluate)
    except USER_ERRORS as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not state.is_main_process:
        return 0
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
            judging.report_on_test_split(summary.get("last_eval"))
        except USER_ERRORS as e:  # the export is written; only its judgement is missing
            print(
                f"error: the test-split judgement failed, the export stands: {e}", file=sys.stderr
            )
            return 2
    judging.print_last_evaluation(summary)
    if (run / artifacts.CURVES).is_file():
        print(f"curves:  {run / artifacts.CURVES}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
