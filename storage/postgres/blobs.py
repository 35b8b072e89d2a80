"""Evidence bytes in PostgreSQL, by content: the `blobs` table, keyed by sha256.

A file's `path` is the same `evidence/ab/cd/<sha256>` as on SQLite's disk, so a database copied
from SQLite keeps its evidence rows as they are, and the sha256 is read back out of the path.
"""

from __future__ import annotations

import hashlib
import re

from flows.records import BlobRef
from storage.blobs import FOLDER, relative_path
from storage.postgres.connection import Connection

_PATH = re.compile(rf"{FOLDER}/([0-9a-f]{{2}})/([0-9a-f]{{2}})/([0-9a-f]{{64}})")


def sha256_of(path: str) -> str:
    """Return the sha256 a stored file's path names, refusing any other path (ValueError)."""
    match = _PATH.fullmatch(path)
    if match is None or not match[3].startswith(match[1] + match[2]):
        raise ValueError(f"blob path: expected {FOLDER}/ab/cd/<sha256>, got {path!r}")
    return match[3]


def ref_of(data: bytes) -> BlobRef:
    """Return where `data` is stored (its sha256 and path), without storing it."""
    sha256 = hashlib.sha256(data).hexdigest()
    return BlobRef(sha256=sha256, path=relative_path(sha256), size=len(data))


def put(conn: Connection, ref: BlobRef, data: bytes, at: str) -> None:
    """Store `data` under `ref` (nothing when the same content is there already)."""
    conn.execute(
        "INSERT INTO blobs (sha256, size, data, created_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (sha256) DO NOTHING",
        (ref.sha256, ref.size, data, at),
    )


def read(conn: Connection, path: str) -> bytes | None:
    """Return the stored bytes of `path`, or None when they are gone."""
    found = conn.execute("SELECT data FROM blobs WHERE sha256 = ?", (sha256_of(path),)).fetchone()
    return None if found is None else bytes(found[0])


def delete(conn: Connection, paths: list[str]) -> None:
    """Delete the bytes of `paths` (those still stored)."""
    for path in paths:
        conn.execute("DELETE FROM blobs WHERE sha256 = ?", (sha256_of(path),))


def missing(conn: Connection, paths: list[str]) -> list[str]:
    """Return those of `paths` whose bytes are not stored."""
    return [
        path
        for path in dict.fromkeys(paths)
        if conn.execute("SELECT 1 FROM blobs WHERE sha256 = ?", (sha256_of(path),)).fetchone()
        is None
    ]
