"""Check a dataset download, pack a domain into a fast on-disk format, or build the emoji data.

    python scripts/prepare_data.py check --preset celeba2anime_64
    python scripts/prepare_data.py check --preset ffhq2comics_128 --source /data/ffhq
    python scripts/prepare_data.py pack --preset ffhq2comics_128 --domain source \
        --out datasets/ffhq_128.npy --workers 2
    python scripts/prepare_data.py pack --dataset folder --source photos/cats --image-size 64 \
        --domain source --out datasets/cats_64.hdf5

Both take the training flags (--preset, --dataset, --source, --target, --image-size; see
`python scripts/train.py --help`), so they look at exactly the data a training run would read.
`check` builds each domain's train and test split as training does, reports the counts, and
names what is missing and where to get it (exit status 1). `pack` decodes and resizes one
domain once, train split then test split, into a uint8 .npy memmap (read back by the `packed`
kind) or an iGAN-layout .hdf5 (`imgs`, read by `igan_hdf5`); train on it with
`--source packed:datasets/ffhq_128.npy`.

`emoji` takes no training flags: it fetches the pinned Noto Emoji and Twemoji npm packages with
`npm pack` (kept, verified by sha512, in --cache, default $ENOT_CACHE_DIR/npm, else
$XDG_CACHE_HOME/enot/npm, else ~/.cache/enot/npm) and writes both sets, composited on the
background, as datasets/emoji/noto and datasets/emoji/twemoji with the same names, a LICENSE.md
in each and split.json (see dataset_tools/emoji.py); then
`python scripts/train.py --preset emoji_32`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from torch.utils.data import ConcatDataset, DataLoader
from tqdm import tqdm

from data import DatasetError, build_domain, resolve_kind
from dataset_tools.emoji import (
    DEFAULT_OUT,
    EMOJI_PACKAGES,
    default_cache_dir,
    parse_background,
    prepare_emoji,
)
from dataset_tools.pack import write_hdf5, write_packed

ROLES = ("source", "target")


def _split_rule(kind: str) -> str:
    return (
        "one name in ten by hash, the same in both domains"
        if kind == "paired_folder"
        else "the last 10% in sorted order"
    )


def check(cfg) -> int:
    """Build both domains' splits; print sizes or what is missing. Returns the exit status."""
    d, problems = cfg.data, 0
    print(f"{cfg.preset}: {d.image_size}x{d.image_size} px")
    for role in ROLES:
        kind, spec = resolve_kind(d.dataset, getattr(d, role))
        try:
            sizes = [
                len(
                    build_domain(
                        kind,
                        spec,
                        d.image_size,
                        split,
                        seed=cfg.train.seed,
                        background=d.background,
                        tints=d.tints,
                    )
                )
                for split in ("train", "test")
            ]
        except DatasetError as err:
            problems += 1
            print(f"  {role}: MISSING OR BROKEN ({kind} {spec}): {err}")
            continue
        print(
            f"  {role}: {kind} {spec}: {sum(sizes):,} images = {sizes[0]:,} train + "
            f"{sizes[1]:,} test (the test split is {_split_rule(kind)})"
        )
        need = cfg.train.batch_size
        if sizes[0] < need:
            problems += 1
            print(f"  {role}: only {sizes[0]} training images, fewer than one batch ({need})")
    print("ok: ready to train" if not problems else f"{problems} problem(s); see above")
    return 1 if problems else 0


def pack(cfg, role: str, out: Path, workers: int) -> Path:
    """Write one domain (train then test, unflipped) to ``out`` (.npy or .hdf5)."""
    d = cfg.data
    kind, spec = resolve_kind(d.dataset, getattr(d, role))
    splits = [
        build_domain(kind, spec, d.image_size, split, seed=cfg.train.seed, background=d.background)
        for split in ("train", "test")
    ]
    flip_train = bool(getattr(splits[0], "flip", False))
    for ds in splits:
        if hasattr(ds, "flip"):
            ds.flip = False  # flips belong to training time, not to the stored pixels
    both = ConcatDataset(splits)
    loader = DataLoader(both, batch_size=None, shuffle=False, num_workers=workers)
    images = tqdm(loader, total=len(both), desc=f"packing {role} -> {out}", unit="img")
    if out.suffix in (".h5", ".hdf5"):
        return write_hdf5(out, images, len(both), d.image_size)
    meta = {
        "kind": kind,
        "spec": spec,
        "train": len(splits[0]),
        "test": len(splits[1]),
        "flip_train": flip_train,
    }
    return write_packed(out, images, len(both), d.image_size, meta)


def emoji(out: Path, cache: Path | None, background: str, packages=EMOJI_PACKAGES) -> int:
    """Build the emoji dataset (``dataset_tools.emoji.prepare_emoji``); say how to train on it."""
    try:
        color = parse_background(background)
    except ValueError as err:
        raise DatasetError(str(err)) from None
    root = prepare_emoji(out, cache or default_cache_dir(), color, packages)
    record = json.loads((root / "split.json").read_text(encoding="utf-8"))
    n_train, n_test = len(record["train"]), len(record["test"])
    print(f"emoji dataset ready in {root}:")
    for domain in record["packages"]:
        print(
            f"  {root / domain}: {n_train + n_test:,} images = {n_train:,} train + {n_test:,} test"
        )
    print("train on it with: python scripts/train.py --preset emoji_32")
    return 0


def main(argv: list[str] | None = None, packages=EMOJI_PACKAGES) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=(
            "Other flags are the training flags (--preset, --dataset, --source, --target, "
            "--image-size, ...)."
        ),
    )
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="find, count and split both domains; name what is missing")
    s = sub.add_parser("pack", help="write one domain to a .npy memmap or an .hdf5 file")
    s.add_argument("--domain", choices=ROLES, required=True)
    s.add_argument("--out", type=Path, required=True, metavar="FILE.npy|FILE.hdf5")
    s.add_argument("--workers", type=int, default=0, help="DataLoader processes decoding images")
    em = sub.add_parser(
        "emoji",
        help="build datasets/emoji: Noto Emoji and Twemoji from npm, "
        "the same names in both (no training flags)",
    )
    em.add_argument("--out", type=Path, default=DEFAULT_OUT, help="dataset folder (%(default)s)")
    em.add_argument(
        "--cache",
        type=Path,
        default=None,
        help=f"folder keeping the npm tarballs (default {default_cache_dir()})",
    )
    em.add_argument(
        "--background",
        default="white",
        metavar="white|black|#rrggbb",
        help="colour transparent pixels become (%(default)s)",
    )
    args, rest = p.parse_known_args(argv)
    if args.command == "emoji":
        if rest:
            p.error(f"unrecognized arguments: {' '.join(rest)}")
        try:
            return emoji(args.out, args.cache, args.background, packages)
        except (DatasetError, OSError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    # Imported here: the training configuration (and what it imports) takes seconds to load.
    from enot.config import ConfigError
    from enot.config.cli import parse_cli

    try:
        cfg, _ = parse_cli(rest, description="dataset flags")
        if args.command == "check":
            return check(cfg)
        path = pack(cfg, args.domain, args.out, args.workers)
    except (ConfigError, DatasetError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(
        f"wrote {path}; train on it with --{args.domain} packed:{path}"
        if path.suffix == ".npy"
        else f"wrote {path}; train on it with --{args.domain} igan_hdf5:{path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
