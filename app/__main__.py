"""Start the demo: ``python -m app --models runs/`` (console script: ``enot-demo``)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# Before gradio is imported: no usage statistics or version checks leave the machine.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from enot.export import HUB_ID  # noqa: E402
from enot.export.card import CARD_FILE  # noqa: E402

from .catalog import HOW_TO_TRAIN, QUICKSTART_EXPORT, CatalogError, load_catalog  # noqa: E402
from .onnx_map import BACKENDS  # noqa: E402
from .uploads import MAX_BYTES  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m app",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "--models",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder searched for inference exports, or a Hugging Face Hub repo id of one "
        "export (default: the quickstart's "
        f"run, {QUICKSTART_EXPORT.parent}, if it has an export)",
    )
    p.add_argument(
        "--data-dir",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="image folders under DIR may be read for test-split examples",
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on; 0.0.0.0 lets anyone who reaches this machine translate, "
        "and with --allow-training also upload zips, read image folders under --data-dir and "
        "run training on its CPUs and GPUs for as long as they like (there is no login)",
    )
    p.add_argument("--port", type=int, default=7860)
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default="torch",
        help="what runs T: PyTorch, or each export's T.onnx through onnxruntime "
        "(written by enot-export EXPORT --format onnx)",
    )
    p.add_argument(
        "--concurrency",
        type=int,
        default=1,
        help="translations run at once (each uses all torch threads)",
    )
    train = p.add_argument_group("the Train tab")
    train.add_argument(
        "--allow-training",
        action="store_true",
        help="show the Train tab: runs of scripts/train.py on this machine, started from the "
        "browser (off by default)",
    )
    train.add_argument(
        "--train-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="the one folder the Train tab writes runs to, with names the server chooses "
        "(default: MODELS/demo_runs, so finished runs are served after a restart too)",
    )
    train.add_argument(
        "--max-zip-mb",
        type=float,
        default=2048,
        metavar="MB",
        help="largest unpacked size of one uploaded zip of images",
    )
    train.add_argument(
        "--max-runs",
        type=int,
        default=1,
        help="runs that may train at once (a second start is refused)",
    )
    return p


def _training(args, models: Path):
    """The Train tab's settings, or None when training is off."""
    if not args.allow_training:
        return None
    from .train_jobs import TrainJobs
    from .training import Training

    hub = not models.is_dir() and HUB_ID.fullmatch(str(models))
    root = args.train_dir or (Path("runs/demo_runs") if hub else models / "demo_runs")
    jobs = TrainJobs(root, max_running=args.max_runs)
    print(f"the Train tab writes runs to {jobs.root}", flush=True)
    return Training(
        jobs=jobs,
        data_roots=[d.resolve() for d in args.data_dir],
        models_root=models.resolve() if models.is_dir() else None,
        backend=args.backend,
        max_zip_bytes=int(args.max_zip_mb * 2**20),
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    models = args.models
    if models is None:
        if args.allow_training:
            models = QUICKSTART_EXPORT.parent
        elif not (QUICKSTART_EXPORT / CARD_FILE).is_file():
            print(
                f"error: no --models folder given and no quickstart export at "
                f"{QUICKSTART_EXPORT}; {HOW_TO_TRAIN}",
                file=sys.stderr,
            )
            return 2
        else:
            models = QUICKSTART_EXPORT.parent
    if args.concurrency < 1:
        print(f"error: --concurrency must be >= 1, got {args.concurrency}", file=sys.stderr)
        return 2
    if args.max_runs < 1:
        print(f"error: --max-runs must be >= 1, got {args.max_runs}", file=sys.stderr)
        return 2
    training = _training(args, models)
    try:
        entries = load_catalog(models, data_roots=args.data_dir, backend=args.backend)
    except CatalogError as err:
        if training is None:
            print(f"error: {err}", file=sys.stderr)
            return 2
        entries = {}  # nothing to translate yet; the Train tab makes the first translator
    from .ui import CSS, THEME, build_demo

    print(
        f"serving {len(entries)} translator(s) from {models.resolve()} with the "
        f"{args.backend} backend: {', '.join(entries)}",
        flush=True,
    )
    demo = build_demo(entries, concurrency=args.concurrency, training=training)
    # Nothing outside Gradio's upload folder is served over HTTP: no extra allowed paths, and
    # the model folder is blocked explicitly (it may sit under the working directory).
    try:
        demo.launch(
            server_name=args.host,
            server_port=args.port,
            allowed_paths=[],
            blocked_paths=[str(models.resolve())],
            max_file_size=MAX_BYTES if training is None else max(MAX_BYTES, training.max_zip_bytes),
            css=CSS,
            theme=THEME,
            show_error=False,
            inbrowser=False,
        )
    finally:
        # Ctrl-C ends launch(): ask the trainers to stop now, before the interpreter's exit,
        # which waits for the server's threads first.
        if training is not None:
            training.jobs.stop_all_on_exit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
