"""Content-addressed evidence files."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from storage import SqliteStore
from storage.blobs import BlobStore


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


async def test_put_stores_bytes_under_their_sha256(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    data = "截图 screenshot".encode() * 100
    sha = hashlib.sha256(data).hexdigest()

    ref = await blobs.put(data)

    assert ref.sha256 == sha
    assert ref.size == len(data)
    assert ref.path == f"evidence/{sha[:2]}/{sha[2:4]}/{sha}"
    assert blobs.path_of(ref) == (tmp_path / ref.path).resolve()
    assert blobs.path_of(ref).read_bytes() == data
    assert files_under(tmp_path) == [tmp_path / ref.path]


async def test_putting_the_same_bytes_again_leaves_the_file_alone(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    first = await blobs.put(b"same bytes")
    before = blobs.path_of(first).stat()

    second = await blobs.put(b"same bytes")

    after = blobs.path_of(second).stat()
    assert second == first
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


async def test_a_torn_file_is_rewritten(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    ref = await blobs.put(b"complete content")
    blobs.path_of(ref).write_bytes(b"compl")

    assert await blobs.put(b"complete content") == ref
    assert blobs.path_of(ref).read_bytes() == b"complete content"


async def test_concurrent_puts_leave_only_final_files(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    payloads = [b"one" * 1000, b"two" * 1000, b"one" * 1000, b"three", b"two" * 1000] * 4

    refs = await asyncio.gather(*(blobs.put(p) for p in payloads))

    assert {ref.sha256 for ref in refs} == {hashlib.sha256(p).hexdigest() for p in payloads}
    # No temp file survives: only the three content-addressed files exist.
    assert files_under(tmp_path) == sorted({tmp_path / ref.path for ref in refs})
    for ref, payload in zip(refs, payloads, strict=True):
        assert blobs.path_of(ref).read_bytes() == payload


async def test_delete_reports_whether_the_file_was_there(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    ref = await blobs.put(b"to delete")

    assert await blobs.delete(ref.path) is True
    assert not blobs.path_of(ref).exists()
    assert await blobs.delete(ref) is False


@pytest.mark.parametrize("path", ["", "evidence", "../outside", "evidence/../bot.sqlite3", "/etc"])
def test_paths_outside_the_evidence_folder_are_refused(tmp_path: Path, path: str) -> None:
    with pytest.raises(ValueError, match="expected a file under evidence/"):
        BlobStore(tmp_path).path_of(path)


async def test_a_write_cut_short_by_a_kill_is_swept_at_the_next_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blobs = BlobStore(tmp_path)

    def killed(*args: object) -> None:  # SIGKILL before the rename: no clean-up runs either
        raise SystemExit

    with monkeypatch.context() as patched:
        patched.setattr("storage.blobs.os.replace", killed)
        patched.setattr("storage.blobs.os.unlink", lambda path: None)
        with pytest.raises(SystemExit):
            await blobs.put(b"half a screenshot")
    assert len(files_under(tmp_path)) == 1  # the half-written file

    store = await SqliteStore.open(tmp_path / "bot.sqlite3", tmp_path)
    try:
        await store.check_writable()  # what the next start does
    finally:
        await store.close()
    assert files_under(tmp_path / "evidence") == []
