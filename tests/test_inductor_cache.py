"""torch.compile's cache kept per CPU kernel set (`enot.inductor_cache`): inductor's graph cache
does not key on ATEN_CPU_CAPABILITY, and a graph compiled with the AVX2 kernels forced, found
again natively on an AVX-512 CPU, crashed a compiled training run with heap corruption."""

from __future__ import annotations

import getpass
import os
import subprocess
import sys

import pytest
from helpers import ROOT, subprocess_env

from enot.inductor_cache import CACHE_DIR, cache_per_cpu_capability

pytestmark = pytest.mark.slow

COMPILE_ONCE = """
import torch
from enot.inductor_cache import cache_per_cpu_capability
print(cache_per_cpu_capability())
f = torch.compile(lambda x: (x * 2 + 1).sin().sum(dim=1))
x = torch.randn(5, 37)
torch.testing.assert_close(f(x), (x * 2 + 1).sin().sum(dim=1))
"""


def _compile_once(tmp_path, capability: str | None) -> str:
    env = subprocess_env()
    env.pop(CACHE_DIR, None)
    env.pop("ATEN_CPU_CAPABILITY", None)
    env["TMPDIR"] = str(tmp_path)  # inductor's default cache lives under the temp folder
    if capability:
        env["ATEN_CPU_CAPABILITY"] = capability
    res = subprocess.run(
        [sys.executable, "-c", COMPILE_ONCE], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert res.returncode == 0, res.stderr[-3000:]
    return res.stdout.strip().splitlines()[-1]


def test_forced_avx2_and_native_compiles_keep_separate_graph_caches(tmp_path):
    default = tmp_path / f"torchinductor_{getpass.getuser()}"
    avx2 = _compile_once(tmp_path, "avx2")
    native = _compile_once(tmp_path, None)
    assert (avx2, native) == (str(default / "avx2"), str(default / "native"))
    # Each run compiled its own graph: without the split, the native run found the AVX2 run's
    # graph in the one shared cache and wrote none of its own.
    assert not (default / "fxgraph").exists()
    for folder in (avx2, native):
        graphs = list((default / folder / "fxgraph").rglob("*"))
        assert any(p.is_file() for p in graphs), folder


def test_an_explicit_cache_folder_is_left_alone(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_DIR, str(tmp_path / "mine"))
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "avx2")
    assert cache_per_cpu_capability() is None
    assert os.environ[CACHE_DIR] == str(tmp_path / "mine")


def test_the_default_folder_torch_writes_on_import_still_gets_split(monkeypatch):
    from torch._inductor.runtime.cache_dir_utils import default_cache_dir

    monkeypatch.setenv(CACHE_DIR, default_cache_dir())
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "avx2")
    folder = os.path.join(default_cache_dir(), "avx2")
    assert cache_per_cpu_capability() == folder == os.environ[CACHE_DIR]
    assert cache_per_cpu_capability() == folder  # a second call in the same process agrees
