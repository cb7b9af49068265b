"""Start the demo: ``python -m app --models runs/`` (console script: ``enot-demo``)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# Before gradio is imported: no usage statistics or version checks leave the machine.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

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
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
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
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    models = args.models
    if models is None:
        if not (QUICKSTART_EXPORT / CARD_FILE).is_file():
            print(
                f"error: no --models folder given and no quickstart export at "
                f"{QUICKSTART_EXPORT}; {HOW_TO_TRAIN}",
                file=sys.stderr,
            )
            return 2
        models = QUICKSTART_EXPORT.parent
    if args.concurrency < 1:
        print(f"error: --concurrency must be >= 1, got {args.concurrency}", file=sys.stderr)
        return 2
    try:
        entries = load_catalog(models, data_roots=args.data_dir, backend=args.backend)
    except CatalogError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    from .ui import CSS, THEME, build_demo

    print(
        f"serving {len(entries)} translator(s) from {models.resolve()} with the "
        f"{args.backend} backend: {', '.join(entries)}",
        flush=True,
    )
    demo = build_demo(entries, concurrency=args.concurrency)
    # Nothing outside Gradio's upload folder is served over HTTP: no extra allowed paths, and
    # the model folder is blocked explicitly (it may sit under the working directory).
    demo.launch(
        server_name=args.host,
        server_port=args.port,
        allowed_paths=[],
        blocked_paths=[str(models.resolve())],
        max_file_size=MAX_BYTES,
        css=CSS,
        theme=THEME,
        show_error=False,
        inbrowser=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
