"""atomic_files: a file is replaced whole or not at all, and no temporary file stays behind."""

from __future__ import annotations

import io
import stat

import pytest

from goodpulse_dagster import atomic_files


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_write_bytes_and_text_replace_the_file_and_create_its_folder(tmp_path):
    target = tmp_path / "new" / "folder" / "object.parquet"
    atomic_files.write_bytes(target, b"first")
    atomic_files.write_bytes(target, b"second")
    assert target.read_bytes() == b"second"
    text = tmp_path / "report.md"
    atomic_files.write_text(text, "a\nb\n", newline="\n", mode=0o644)
    assert text.read_bytes() == b"a\nb\n"
    assert stat.S_IMODE(text.stat().st_mode) == 0o644
    assert _names(target.parent) == ["object.parquet"]


def test_copy_stream_copies_the_rest_of_the_stream(tmp_path):
    source = io.BytesIO(b"header|" + bytes(range(256)) * 10_000)
    source.read(7)  # already consumed: not copied
    atomic_files.copy_stream(tmp_path / "member.csv", source, block_size=4096)
    assert (tmp_path / "member.csv").read_bytes() == bytes(range(256)) * 10_000


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary_one(tmp_path):
    target = tmp_path / "state.json"
    atomic_files.write_text(target, '{"old": true}')
    with pytest.raises(RuntimeError, match="disk gone"), atomic_files.replacing(target) as tmp:
        tmp.write_text("half a fi")
        # The temporary file is hidden (the lake's listings skip dot files) and beside the target.
        assert tmp.parent == tmp_path and tmp.name.startswith(".state.json.")
        raise RuntimeError("disk gone")
    assert target.read_text() == '{"old": true}'
    assert _names(tmp_path) == ["state.json"]
