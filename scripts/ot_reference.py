"""The exact optimal transport between samples of a task's two domains, in its transport cost.

    python scripts/ot_reference.py --preset emoji_32
    python scripts/ot_reference.py --preset emoji_32 --split test --json ot_test.json
    python scripts/ot_reference.py --preset colored_mnist --source 4 --target 9 --max-samples 200

Up to --max-samples images of each domain's split (evenly spaced, not flipped) are matched one
to one at the least mean cost by POT's network simplex. It prints that cost beside random pairs,
the nearest target of each image and, for folders that correspond by name, the true pairs:
a map T whose mean c(x, T(x)) lies far above the optimum moves images more than it must.
scripts/train.py writes the same for the train split into the run folder (ot_reference.json).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from data import UserError
from enot.config.cli import parse_cli, positive_int
from enot.config.presets import PRESETS
from enot.evaluation.ot_reference_data import task_reference

DEFAULT_SAMPLES = 3500


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        allow_abbrev=False,  # an abbreviation of one of train.py's flags is not this parser's
        epilog="The data flags of scripts/train.py override the preset as they do there: "
        "--dataset, --source, --target, --image-size, --background, --seed (colored_mnist's "
        "colours) and --cost (see scripts/train.py --help).",
    )
    p.add_argument(
        "--preset",
        default="colored_mnist",
        choices=sorted(PRESETS),
        help="the task: its domains, image size and transport cost",
    )
    p.add_argument("--split", default="train", choices=("train", "test"), help="which split")
    p.add_argument(
        "--max-samples",
        type=positive_int,
        default=DEFAULT_SAMPLES,
        metavar="N",
        help="images per domain, evenly spaced over a larger split; time and memory grow at "
        "least as N^2",
    )
    p.add_argument("--json", default=None, metavar="PATH", help="also write the figures here")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    try:
        cfg, opts = parse_cli(
            ["--preset", args.preset, *rest], description=__doc__.split("\n\n")[0]
        )
        if opts.resume or opts.stop_at or opts.dry_run:
            parser.error("--resume, --stop-at and --dry-run are scripts/train.py's, not this one's")
        result = task_reference(cfg, args.split, args.max_samples)
    except UserError as e:  # what the user can fix: "error: ...", exit status 2
        print(f"error: {e}", file=sys.stderr)
        return 2
    for line in result.lines():
        print(line)
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result.to_dict(), indent=2) + "\n")
        print(f"json: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
