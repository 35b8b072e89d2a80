"""Open SQLite the way the bot needs it, and run blocking work on the connection's own thread."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sqlite3
import stat
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite

from storage.errors import StorageError

log = logging.getLogger(__name__)

T = TypeVar("T")


# The database holds people's complaints, names and phones: only the bot's user may read it,
# like the evidence files (written 0600). SQLite gives its -wal and -shm files the database's mode.
FILE_MODE = 0o600
_COMPANIONS = ("", "-wal", "-shm")


def prepare_file(path: Path) -> None:
    """Create the database's folder and file (0600), and narrow a file others can read."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise StorageError(
            f"storage.db_path: cannot create the folder {str(path.parent)!r}: "
            f"{e.strerror or e} (check the path, and that the bot's user may write there)"
        ) from e
    try:
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, FILE_MODE))
        for suffix in _COMPANIONS:
            companion = Path(f"{path}{suffix}")
            with contextlib.suppress(FileNotFoundError):
                mode = stat.S_IMODE(companion.stat().st_mode)
                if mode & 0o077:
                    companion.chmod(FILE_MODE)
                    log.warning(
                        "database file %s was readable by others (%04o); now %04o",
                        companion,
                        mode,
                        FILE_MODE,
                    )
    except OSError as e:
        raise StorageError(
            f"storage.db_path: cannot open {str(path)!r}: {e.strerror or e}"
            " (is it a folder, or on a read-only disk?)"
        ) from e


class FileIdentity:
    """Notice the database file deleted or replaced under the open connection.

    SQLite keeps writing to the file it opened even after it was deleted: every step would
    still commit, to a file nobody can find, and be gone at the next start. Writes check the
    path still names that same file (device and inode) first; once it does not, they are
    refused until a restart, so nothing is accepted that would be lost.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._identity = _identity(path)
        self.lost = False

    def check(self) -> None:
        """Raise StorageError when the file is no longer the one opened (a stat: a few us)."""
        if not self.lost and _identity(self.path) == self._identity:
            return
        message = (
            f"database: the file {str(self.path)!r} was deleted or replaced while the bot was"
            " running; nothing more is written to the lost copy (restore it, then restart)"
        )
        if not self.lost:
            self.lost = True
            log.error("%s", message)
        raise StorageError(message)


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_dev, found.st_ino


async def connect(path: str | Path) -> aiosqlite.Connection:
    """Open the database at `path`, creating its folder, with WAL, foreign keys and a timeout."""
    in_memory = str(path) == ":memory:"
    if not in_memory:
        await asyncio.to_thread(prepare_file, Path(path))
    try:
        # isolation_level=None: we issue BEGIN IMMEDIATE/COMMIT ourselves, so the sqlite3
        # module must not open transactions behind our back.
        conn = await aiosqlite.connect(path, isolation_level=None)
    except sqlite3.Error as e:
        raise StorageError(
            f"database: cannot open {str(path)!r}: {e} (is the folder writable?)"
        ) from e
    try:
        conn.row_factory = sqlite3.Row
        if not in_memory:
            mode = await conn.execute_fetchall("PRAGMA journal_mode=WAL")
            if next(iter(mode))[0] != "wal":
                # Some file systems (network shares) refuse WAL; SQLite still works, only slower.
                log.warning("database %s: WAL refused, journal_mode is %s", path, mode)
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA busy_timeout=5000")
        await conn.execute("PRAGMA synchronous=NORMAL")
    except sqlite3.Error as e:
        await conn.close()
        raise StorageError(f"database: cannot set up {str(path)!r}: {e}") from e
    return conn


async def run_sync(conn: aiosqlite.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
    """Run `fn` with the underlying sqlite3 connection on aiosqlite's thread, in one hop."""
    # Every await on aiosqlite is a thread hop (~100 us) and lets other coroutines issue
    # statements on the same connection in between; running a whole step as one function
    # costs one hop and nothing can interleave with it. aiosqlite offers no public way to
    # do this; `_execute` has been stable for years and the dependency is pinned below 0.23.
    # Reaching `_conn` inside the lambda keeps it on the worker thread.
    try:
        result = await conn._execute(lambda: fn(conn._conn))  # type: ignore[no-untyped-call]
    except sqlite3.Error as e:
        raise StorageError(f"database: {e}") from e
    return cast(T, result)


def write_transaction(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
    """Run `fn` in one write transaction: all of its statements commit, or none of them."""
    # IMMEDIATE takes the write lock up front, so a read inside `fn` cannot go stale before
    # its write (another process, or a CLI, may share the file).
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


def select_by_case(
    conn: sqlite3.Connection, table: str, columns: str, order: str, case_ids: list[int]
) -> list[sqlite3.Row]:
    """Return `columns` (and case_id) of `table` rows belonging to `case_ids`, in `order`."""
    rows: list[sqlite3.Row] = []
    # Chunks stay under SQLite's limit on bound parameters; order holds within each case.
    for start in range(0, len(case_ids), 500):
        chunk = case_ids[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        rows += conn.execute(
            f"SELECT case_id, {columns} FROM {table} WHERE case_id IN ({marks}) ORDER BY {order}",
            chunk,
        ).fetchall()
    return rows


def to_iso(value: datetime, what: str) -> str:
    """Return `value` as ISO-8601 text, refusing naive datetimes (they would sort wrongly)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise StorageError(f"{what}: expected a timezone-aware datetime, got naive {value!r}")
    return value.isoformat()


def to_utc_iso(value: datetime, what: str) -> str:
    """Return `value` as fixed-width UTC ISO-8601 text, which compares right as plain text.

    Columns compared in SQL (`due_at <= ?`) are written only through this, and so are the
    values bound against them: one offset and one width make text order the order in time,
    and let an index answer the comparison.
    """
    to_iso(value, what)  # refuses naive datetimes
    try:
        utc = value.astimezone(UTC)
    except OverflowError as e:
        raise StorageError(
            f"{what}: expected a datetime within years 1-9999 in UTC, got {value!r}"
        ) from e
    return utc.isoformat(timespec="microseconds")


def from_iso(text: str) -> datetime:
    """Parse ISO-8601 text written by `to_iso`."""
    return datetime.fromisoformat(text)


def to_json(value: Any, what: str) -> str:
    """Return `value` as JSON text, keeping non-ASCII characters as they are."""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError) as e:
        raise StorageError(f"{what}: expected JSON-serialisable data, got {e}") from e


def from_json(text: str) -> Any:
    """Parse JSON text written by `to_json`."""
    return json.loads(text)
