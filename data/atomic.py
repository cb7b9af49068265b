"""Files and folders written all at once: a reader sees the old version or the new one, never half.

The writer fills a hidden temporary sibling, then renames it into place; a crash leaves the old
version whole (and a temporary that the next write clears). Used for datasets, caches, exports,
training checkpoints, translated images and ``enot.fit`` results.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def temporary_sibling(folder: Path, tag: str = "tmp") -> Path:
    """``.NAME.tmp`` beside ``folder``, emptied of what an interrupted write left there."""
    tmp = folder.with_name(f".{folder.name}.{tag}")
    if tmp.exists():
        shutil.rmtree(tmp)
    return tmp


def swap_in(tmp: Path, folder: Path) -> Path:
    """Replace ``folder`` by the finished ``tmp``: the old one is renamed away before the new
    one takes its name, and deleted only after."""
    if not folder.exists():
        os.replace(tmp, folder)
        return folder
    old = temporary_sibling(folder, "old")
    os.replace(folder, old)
    os.replace(tmp, folder)
    shutil.rmtree(old)
    return folder


@contextmanager
def atomic_folder(folder: str | Path) -> Iterator[Path]:
    """``with atomic_folder(out) as tmp:`` write into ``tmp``; on success it becomes ``out``.
    On an exception the temporary folder is removed and ``out`` is left as it was."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(folder)
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    swap_in(tmp, folder)


@contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """``with atomic_file(out) as tmp:`` write the file ``tmp``; on success it becomes ``out``.

    ``tmp`` is hidden, carries the process id (concurrent writers, such as the ranks of one run,
    never share it) and keeps ``out``'s suffix, so writers that add one (``np.savez``) or pick the
    format by it still agree. On an exception it is removed and ``out`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
