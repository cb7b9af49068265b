"""Who made a domain's images and under which licence, as its folder states it.

A data folder may carry ``LICENSE.md`` (``scripts/prepare_data.py emoji`` writes one per domain):
its first non-empty line is the attribution, e.g. "Noto Emoji by Google, Apache License 2.0".
Exports copy it into their model card, and the demo shows it beside the examples, because
translations of licensed images carry the licence of their inputs.
"""

from __future__ import annotations

from pathlib import Path

LICENSE_FILE = "LICENSE.md"


def attribution(spec: str) -> str | None:
    """The first non-empty line of ``<spec>/LICENSE.md`` without Markdown heading marks, or
    None where the spec is not a folder or carries no such file."""
    path = Path(spec) / LICENSE_FILE
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    return next((line.lstrip("# ").strip() for line in lines if line.strip()), None)
