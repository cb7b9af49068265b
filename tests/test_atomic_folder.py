"""enot.atomic_folder: a folder is replaced whole or not at all."""

from __future__ import annotations

import pytest

from enot.atomic_folder import atomic_folder


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
