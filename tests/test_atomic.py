"""data.atomic: a folder or a file is replaced whole or not at all."""

from __future__ import annotations

import pytest

from data.atomic import atomic_file, atomic_folder


def test_a_finished_write_replaces_the_folder(tmp_path):
    out = tmp_path / "export"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with atomic_folder(out) as tmp:
        assert tmp != out and tmp.parent == out.parent
        (tmp / "new.txt").write_text("new")
        assert (out / "old.txt").is_file()  # readers still see the old folder meanwhile
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]
    assert sorted(p.name for p in out.iterdir()) == ["new.txt"]


def test_a_failed_write_leaves_the_old_folder_and_no_temporary(tmp_path):
    out = tmp_path / "export"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_folder(out) as tmp:
            (tmp / "half.txt").write_text("half")
            raise RuntimeError("disk full")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]
    assert (out / "old.txt").read_text() == "old"


def test_leftovers_of_an_interrupted_write_are_cleared(tmp_path):
    out = tmp_path / "result"
    (tmp_path / ".result.tmp").mkdir()
    (tmp_path / ".result.tmp" / "stale.txt").write_text("stale")
    with atomic_folder(out) as tmp:
        assert list(tmp.iterdir()) == []
        (tmp / "a.txt").write_text("a")
    assert sorted(p.name for p in out.iterdir()) == ["a.txt"]


def test_a_finished_file_write_replaces_the_file_and_keeps_the_suffix(tmp_path):
    import numpy as np

    out = tmp_path / "stats.npz"
    out.write_bytes(b"old")
    with atomic_file(out) as tmp:
        assert tmp.parent == out.parent and tmp.suffix == ".npz" and tmp.name.startswith(".")
        assert out.read_bytes() == b"old"  # untouched until the write finishes
        np.savez(tmp, x=np.arange(3))  # adds .npz unless the name has it
    assert np.load(out)["x"].tolist() == [0, 1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stats.npz"]


def test_a_failed_file_write_leaves_the_old_file_and_no_temporary(tmp_path):
    out = tmp_path / "sub" / "image.png"
    out.parent.mkdir()
    out.write_bytes(b"old")
    with pytest.raises(OSError, match="disk full"):
        with atomic_file(out) as tmp:
            tmp.write_bytes(b"half")
            raise OSError("disk full")
    assert out.read_bytes() == b"old"
    assert [p.name for p in out.parent.iterdir()] == ["image.png"]
