"""One torch.compile cache per CPU kernel set, so that a graph compiled for one vector width is
never run with kernels built for another.

Inductor writes its C++ kernels for the vector ISA that ``ATEN_CPU_CAPABILITY`` picks (AVX2 or
AVX-512 on x86), but its FX-graph cache key leaves that choice out: a graph compiled with
``ATEN_CPU_CAPABILITY=avx2`` is found again by a native run on an AVX-512 CPU, its kernels are
rebuilt with AVX-512 flags for loops tiled for AVX2, and the process dies of heap corruption
("corrupted size vs. prev_size"). Forcing the AVX2 kernels is how this project measures the
slower machines, so both runs happen on one CPU. A cache folder per capability keeps them apart;
a ``TORCHINDUCTOR_CACHE_DIR`` of the user's is left alone.
"""

from __future__ import annotations

import os

CACHE_DIR = "TORCHINDUCTOR_CACHE_DIR"


def cache_per_cpu_capability() -> str | None:
    """Point inductor's cache at ``<its default>/<capability>`` (``avx2``, ``avx512``, ...;
    ``native`` when unset) unless ``TORCHINDUCTOR_CACHE_DIR`` names another folder; the folder
    chosen, or None when the user's stands. Call before the first compile, in every process.

    Importing torch's compile stack already writes the default folder into the variable, so
    only a value other than the default counts as the user's."""
    from torch._inductor.runtime.cache_dir_utils import default_cache_dir

    default = os.path.abspath(default_cache_dir())
    current = os.environ.get(CACHE_DIR)
    if current and os.path.abspath(current) not in (default, _folder(default)):
        return None
    folder = _folder(default)
    os.environ[CACHE_DIR] = folder
    return folder


def _folder(default: str) -> str:
    capability = os.environ.get("ATEN_CPU_CAPABILITY", "").strip().lower() or "native"
    return os.path.join(default, capability)
