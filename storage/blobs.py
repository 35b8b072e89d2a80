"""Evidence files stored by content: `evidence/ab/cd/<sha256>` under the data folder."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

from flows.records import BlobRef

FOLDER = "evidence"
# Files being written, renamed into place once whole. Kept apart, so that what a killed process
# left half-written is found at the next start without walking every stored file.
INCOMING = f"{FOLDER}/.incoming"


class BlobStore:
    """Write, locate and delete content-addressed files under one data folder."""

    def __init__(self, data_dir: str | Path) -> None:
        self.data_dir = Path(data_dir)

    async def put(self, data: bytes) -> BlobRef:
        """Store `data` under its sha256 (a no-op when it is already there) and return where."""
        # Hashing a large file and fsync both block; keep them off the event loop.
        return await asyncio.to_thread(self._put, data)

    def check_writable(self) -> None:
        """Create the evidence folder if needed and write a file there, or raise OSError."""
        folder = self.data_dir / FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-check.", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)

    def sweep_incoming(self) -> int:
        """Delete files a killed process left half-written; return how many.

        Call only while no other process writes here (start-up, under the database lock).
        """
        folder = self.data_dir / INCOMING
        if not folder.is_dir():
            return 0
        removed = 0
        for leftover in folder.iterdir():
            if leftover.is_file() and _unlink(leftover):
                removed += 1
        return removed

    def path_of(self, ref: BlobRef | str) -> Path:
        """Return the absolute path of a stored file, refusing paths outside the evidence folder."""
        relative = ref.path if isinstance(ref, BlobRef) else ref
        root = (self.data_dir / FOLDER).resolve()
        path = (self.data_dir / relative).resolve()
        if not path.is_relative_to(root) or path == root:
            raise ValueError(f"blob path: expected a file under {FOLDER}/, got {relative!r}")
        return path

    async def delete(self, ref: BlobRef | str) -> bool:
        """Remove a stored file; return False when it was already gone."""
        path = self.path_of(ref)
        return await asyncio.to_thread(_unlink, path)

    def _put(self, data: bytes) -> BlobRef:
        sha256 = hashlib.sha256(data).hexdigest()
        ref = BlobRef(sha256=sha256, path=relative_path(sha256), size=len(data))
        final = self.data_dir / ref.path
        with contextlib.suppress(FileNotFoundError):
            # Same name means same content; a wrong size means a torn earlier write: redo it.
            if final.stat().st_size == len(data):
                return ref
        final.parent.mkdir(parents=True, exist_ok=True)
        incoming = self.data_dir / INCOMING
        incoming.mkdir(parents=True, exist_ok=True)
        # Write aside and rename into place (one file system: atomic), so a reader (or a
        # crash) never sees a half-written file under the final name.
        fd, tmp = tempfile.mkstemp(dir=incoming, prefix=f".{sha256[:16]}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, final)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _fsync_dir(final.parent)
        return ref


def relative_path(sha256: str) -> str:
    """Return where a file with this sha256 lives, relative to the data folder."""
    return f"{FOLDER}/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def _unlink(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def _fsync_dir(folder: Path) -> None:
    # The rename is durable only once the folder entry is on disk; Windows cannot open folders.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
