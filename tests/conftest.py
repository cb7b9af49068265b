"""Pytest hooks and fixtures of the suite; the plain helpers are in helpers.py."""

import os
import sys

import pytest
from helpers import CUDA_TIER_ON_CPU, TINY, TRAIN, accelerate_launch

# Under pytest-xdist each worker takes one core: the suite's workers share the machine, and a
# worker's torch would otherwise start a thread per core. Read by torch at its import.
if "PYTEST_XDIST_WORKER" in os.environ:
    os.environ.setdefault("OMP_NUM_THREADS", "1")


# The files that take longest, measured with `--durations`, slowest first. Under `--dist loadfile`
# each file runs whole on one worker, in collection order (`--no-loadscope-reorder`), so starting
# these first lets the short files fill in behind them and the workers finish together. A file
# missing from the list only runs later; the order changes no result.
LONGEST_FILES = (
    "test_lowdim_fit.py",
    "test_presets.py",
    "test_fid.py",
    "test_methods.py",
    "test_mixed_precision.py",
    "test_train_errors.py",
    "test_evaluate.py",
    "test_train_e2e.py",
    "test_compile.py",
)


def _longest_first(items):
    rank = {name: i for i, name in enumerate(LONGEST_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: ties keep order


def pytest_collection_modifyitems(config, items):
    """Start the longest files first; skip the tests marked ``cuda`` where CUDA is absent."""
    _longest_first(items)
    marked = [item for item in items if item.get_closest_marker("cuda")]
    if not marked or os.environ.get(CUDA_TIER_ON_CPU):
        return
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(
        reason=f"no CUDA device (torch {torch.__version__}, CUDA build "
        f"{torch.version.cuda}, torch.cuda.is_available() is False): the "
        f"cuda tier runs on a GPU machine, see docs/gpu.md"
    )
    for item in marked:
        item.add_marker(skip)


@pytest.fixture
def train_cmd():
    """`python scripts/train.py` with the tiny settings; extra flags are appended."""

    def make(*args: str) -> list[str]:
        return [sys.executable, TRAIN, *TINY, *args]

    return make


@pytest.fixture
def launch_cmd():
    """`accelerate launch` of scripts/train.py with the tiny settings."""

    def make(*launch_args: str) -> callable:
        def with_args(*args: str) -> list[str]:
            return [*accelerate_launch(*launch_args), TRAIN, *TINY, *args]

        return with_args

    return make
