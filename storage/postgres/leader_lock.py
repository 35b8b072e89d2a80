"""The leader lock: a session-level advisory lock on a connection of its own, not the pool's.

Several bot processes may share one PostgreSQL database; only one of them (the leader) may poll
a messenger and send reminders. The right to lead is `pg_try_advisory_lock` on a dedicated
connection: PostgreSQL drops it the moment that session ends, whether the process was killed,
its machine died or the server restarted, so no stale lock is ever left to clean up. It must
not be a pooled connection (the pool would hand the session, and the lock, to other work), nor
go through PgBouncer in transaction mode (which breaks session locks).

A process that serves several messengers (`serve` with Telegram and WeChat) leads them all or
none: it takes one lock per messenger (`LeaderLock(url, ["telegram 1", "wecom ab12"])`), so a
`run` of the same Telegram bot, or a `serve` of the same WeCom accounts without Telegram,
cannot lead the same messenger beside it. The keys are taken in one order and given back when
one of them is held elsewhere, so two processes never each hold half.

The connection is psycopg's async one, so that a check stuck on a dead network can be cancelled
by a timeout instead of blocking a thread.

A killed process closes its socket and the server ends the session at once. A machine that
dies, or a network that drops, closes nothing: with the server's default TCP settings the
session (and the lock) would live on for up to two hours of keepalive or fifteen minutes of
retransmissions. The lock's session therefore asks the server to give up on a silent peer
within about 10 s (`SESSION_TCP`: keepalives, and a timeout for data left unacknowledged).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Sequence
from typing import Any

import psycopg

from storage.errors import StorageError
from storage.postgres.store import redact

# The server's side of the lock's TCP connection (ignored on a Unix socket, which cannot go
# silent): probe after 5 s idle, every 2 s, give up after 3 unanswered probes; and drop the
# connection when data sent stays unacknowledged for 10 s (the leader checks every 0.5 s, so
# there is nearly always some in flight when its machine dies).
SESSION_TCP = {
    "tcp_keepalives_idle": "5",
    "tcp_keepalives_interval": "2",
    "tcp_keepalives_count": "3",
    "tcp_user_timeout": "10000",
}
_OPTIONS = " ".join(f"-c {name}={value}" for name, value in SESSION_TCP.items())

_TAKE = "SELECT pg_try_advisory_lock(%s)"
_GIVE_BACK = "SELECT pg_advisory_unlock(%s)"
# A bigint advisory key shows in pg_locks as classid (high 32 bits) and objid (low 32 bits).
_HELD = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND pid = pg_backend_pid() AND classid = %s AND objid = %s AND objsubid = 1"
)
_HOLDER = (
    "SELECT a.pid, a.client_addr, a.application_name, a.backend_start FROM pg_locks l"
    " JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted"
    " AND l.classid = %s AND l.objid = %s AND l.objsubid = 1"
)


def lock_key(name: str) -> int:
    """Return the advisory lock key (a signed bigint) of the leadership called `name`."""
    digest = hashlib.sha256(f"complaint-bot leader:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _halves(key: int) -> tuple[int, int]:
    unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
    return unsigned >> 32, unsigned & 0xFFFF_FFFF


class LeaderLock:
    """The right to lead `names` on the database at `url`, held by at most one session.

    `names` is one name, or the names of every messenger the process leads (all or none).
    """

    def __init__(
        self, url: str, names: str | Sequence[str], *, connect_timeout: float = 5.0
    ) -> None:
        self.url = url
        wanted = [names] if isinstance(names, str) else list(names)
        if not wanted:
            raise ValueError("a leader lock needs a name")
        self.name = ", ".join(wanted)
        # Sorted by key: every process takes them in the same order.
        self.keys = sorted({lock_key(n) for n in wanted})
        self._connect_timeout = connect_timeout
        self._conn: psycopg.AsyncConnection[Any] | None = None

    async def try_acquire(self) -> bool:
        """Take the locks if nobody holds any; return whether this session holds them all now."""
        try:
            if self._conn is None or self._conn.closed:
                self._conn = await psycopg.AsyncConnection.connect(
                    self.url,
                    autocommit=True,
                    connect_timeout=max(1, round(self._connect_timeout)),
                    application_name=f"complaint-bot leader lock ({self.name})"[:63],
                    options=_OPTIONS,
                )
            taken: list[int] = []
            for key in self.keys:
                cursor = await self._conn.execute(_TAKE, (key,))
                row = await cursor.fetchone()
                if not (row and row[0]):
                    # Another process leads one of them: hold none, so it may take the rest.
                    for given in taken:
                        await self._conn.execute(_GIVE_BACK, (given,))
                    return False
                taken.append(key)
        except psycopg.Error as e:
            await self.release()
            raise StorageError(f"storage.url: leader lock on {redact(self.url)!r}: {e}") from e
        return True

    async def held(self) -> bool:
        """Return whether this session still holds the lock (False once the session is gone).

        Raises nothing for a dead connection: a lost session is simply a lost lock.
        """
        conn = self._conn
        if conn is None or conn.closed:
            return False
        try:
            for key in self.keys:
                cursor = await conn.execute(_HELD, _halves(key))
                row = await cursor.fetchone()
                if not (row and row[0]):
                    return False
        except psycopg.Error:
            await self.release()
            return False
        return True

    async def holder(self) -> str | None:
        """Describe a session holding one of the locks (pid, client, since when), or None."""
        conn = self._conn
        if conn is None or conn.closed:
            return None
        row = None
        try:
            for key in self.keys:
                cursor = await conn.execute(_HOLDER, _halves(key))
                if (row := await cursor.fetchone()) is not None:
                    break
        except psycopg.Error:
            return None
        if row is None:
            return None
        pid, addr, app, since = row
        return f"backend {pid} from {addr or 'local socket'} ({app}) since {since:%H:%M:%S}"

    @property
    def backend_pid(self) -> int | None:
        """Return the server process id of the lock's session (for operators and tests)."""
        conn = self._conn
        if conn is None or conn.closed:
            return None
        return int(conn.info.backend_pid)

    async def release(self) -> None:
        """Let go of the lock by ending the session (closing twice is fine)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error, OSError):
                await conn.close()
