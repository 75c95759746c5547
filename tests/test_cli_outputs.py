"""Atomic output files: missing folders and failed writes are one-line input errors."""

from __future__ import annotations

import pytest

from adapter.errors import InputError
from adapter.outputs import replacing, write_atomically


def test_write_creates_file_with_usual_mode(tmp_path):
    target = tmp_path / "out.xml"

    write_atomically(target, b"<a/>")

    assert target.read_bytes() == b"<a/>"
    assert target.stat().st_mode & 0o044 == 0o044
    assert list(tmp_path.glob(".out.xml.*")) == []


def test_missing_folder_names_it(tmp_path):
    target = tmp_path / "missing" / "out.xml"

    with pytest.raises(InputError) as caught:
        write_atomically(target, b"<a/>")

    assert str(caught.value) == f"output folder {target.parent} does not exist; create it or choose another -o path"


def test_failed_rename_names_path(tmp_path):
    target = tmp_path / "taken"
    target.mkdir()

    with pytest.raises(InputError) as caught:
        write_atomically(target, b"<a/>")

    assert str(caught.value).startswith(f"failed to write {target}: ")
    assert list(tmp_path.glob(".taken.*")) == []


def test_error_in_block_keeps_old_file(tmp_path):
    target = tmp_path / "out.xml"
    target.write_bytes(b"old")

    with pytest.raises(RuntimeError), replacing(target) as temporary:
        temporary.write_bytes(b"half")
        raise RuntimeError("stop")

    assert target.read_bytes() == b"old"
    assert list(tmp_path.glob(".out.xml.*")) == []
