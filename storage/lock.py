"""One bot process per SQLite database: a lock file beside it, held for the process's life.

Two `complaint-bot run` on one database would both poll Telegram (each cutting the other's
long poll with "Conflict") and both send every due reminder, since a reminder is read, sent and
only then marked. The lock is `flock` on `DB_PATH.lock`: the kernel drops it when the process
ends, however it ends (a SIGKILL included), so a restart after a crash is never refused and no
stale file needs cleaning up. Operator commands (`cases`, `users forget`) do not take it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from pathlib import Path
from types import TracebackType

from storage.db import prepare_file
from storage.errors import StorageError


class DatabaseLock:
    """The exclusive right of this process to run a bot on one SQLite database."""

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = Path(db_path)
        self.path = Path(f"{db_path}.lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise StorageError naming the process that holds it."""
        if self._fd is not None:
            return
        prepare_file(self.db_path)  # its folder, so the lock file can sit beside it
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
        except OSError as e:
            raise StorageError(
                f"storage.db_path: cannot create the lock file {str(self.path)!r}:"
                f" {e.strerror or e} (check that the bot's user may write there)"
            ) from e
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            holder = _read_pid(fd)
            os.close(fd)
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise StorageError(
                    f"storage.db_path: cannot lock {str(self.path)!r}: {e.strerror or e}"
                ) from e
            who = f"process {holder}" if holder else "another process"
            raise StorageError(
                f"storage.db_path: {who} is already running a bot on {str(self.db_path)!r};"
                " stop it first, or give this one another storage.db_path"
            ) from None
        # The pid is only for the message above; the lock itself is the flock.
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        """Let another process take the database (the OS also does this when we exit)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def __enter__(self) -> DatabaseLock:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


def _read_pid(fd: int) -> str:
    with contextlib.suppress(OSError, ValueError):
        text = os.pread(fd, 32, 0).decode().strip()
        if text.isdigit():
            return text
    return ""
