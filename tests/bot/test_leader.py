"""Leader and standbys on one PostgreSQL database: one leads, another takes over, never both.

Each `Leadership` here holds its lock on its own session, as a separate process would; what the
role does is written to one journal, so the order of "leads" and "steps down" across the two is
what is checked. The timings are shortened (the defaults are in bot/leader.py); the real
processes, killed with SIGKILL, are in test_failover.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
import pytest

from bot.leader import Leadership
from storage.postgres.leader_lock import SESSION_TCP, LeaderLock

FAST = {"retry": 0.1, "check": 0.05, "lease": 0.3, "settle": 0.5, "patience": 1.0}
WAIT = 20  # seconds, only so that a broken test ends


class CountingLock(LeaderLock):
    """The real lock, counting how many times it was tried."""

    def __init__(self, url: str) -> None:
        super().__init__(url, "telegram")
        self.tries = 0
        self.tried = asyncio.Event()

    async def try_acquire(self) -> bool:
        self.tries += 1
        self.tried.set()
        return await super().try_acquire()

    async def tried_again(self, times: int) -> None:
        """Wait until the lock was tried `times` more times."""
        target = self.tries + times
        while self.tries < target:
            self.tried.clear()
            await self.tried.wait()


class StallingLock(CountingLock):
    """The real lock, whose checks can be made to hang, as on a network that went silent."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.stalled = False

    async def held(self) -> bool:
        if self.stalled:
            await asyncio.sleep(3600)
        return await super().held()


class Role:
    """A role that only writes what it was told to do into the journal."""

    def __init__(self, name: str, journal: list[str]) -> None:
        self.name, self.journal = name, journal

    async def lead(self) -> None:
        self.journal.append(f"{self.name} leads")

    async def step_down(self) -> None:
        self.journal.append(f"{self.name} steps down")


class Process:
    """One would-be leader: its lock, its leadership loop and how to stop it."""

    def __init__(self, name: str, url: str, journal: list[str]) -> None:
        self.lock = StallingLock(url)
        self.leadership = Leadership(self.lock, **FAST)
        self.stopping = asyncio.Event()
        self.task = asyncio.create_task(self.leadership.run(Role(name, journal), self.stopping))

    async def leads(self) -> None:
        await asyncio.wait_for(self.leadership.leading.wait(), WAIT)

    async def stop(self) -> None:
        self.stopping.set()
        await asyncio.wait_for(self.task, WAIT)


@asynccontextmanager
async def processes() -> AsyncIterator[list[Process]]:
    started: list[Process] = []
    try:
        yield started
    finally:
        for process in started:
            await process.stop()


async def test_one_of_two_leads_and_the_other_takes_over_when_it_stops(pg_url: str) -> None:
    journal: list[str] = []
    async with processes() as running:
        a = Process("a", pg_url, journal)
        running.append(a)
        await a.leads()
        b = Process("b", pg_url, journal)
        running.append(b)
        await asyncio.wait_for(b.lock.tried_again(3), WAIT)
        assert not b.leadership.leading.is_set()
        assert journal == ["a leads"]

        await a.stop()  # its session ends with it, and the lock with the session
        await b.leads()
        assert journal == ["a leads", "a steps down", "b leads"]


async def test_a_leader_whose_session_is_cut_stops_before_the_standby_starts(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.leader")
    journal: list[str] = []
    async with processes() as running:
        a = Process("a", pg_url, journal)
        running.append(a)
        await a.leads()
        b = Process("b", pg_url, journal)
        running.append(b)
        await asyncio.wait_for(b.lock.tried_again(2), WAIT)

        # The database ends the leader's lock session (a restart, an operator, a network cut)
        # while the leader process itself runs on.
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (a.lock.backend_pid,))
        await b.leads()
        assert journal == ["a leads", "a steps down", "b leads"]
        assert "leader: lost the lock on the database" in caplog.text

        # The old leader competes again, as a standby now, and leads once b is gone.
        await asyncio.wait_for(a.lock.tried_again(2), WAIT)
        assert not a.leadership.leading.is_set()
        await b.stop()
        await a.leads()
        assert journal == ["a leads", "a steps down", "b leads", "b steps down", "a leads"]
        assert a.leadership.terms == 2
    assert caplog.text.count("standby: waiting for the leader") == 2  # b, then a: once each


async def test_a_leader_that_hears_nothing_stops_before_the_standby_starts(pg_url: str) -> None:
    journal: list[str] = []
    async with processes() as running:
        a = Process("a", pg_url, journal)
        running.append(a)
        await a.leads()
        b = Process("b", pg_url, journal)
        running.append(b)
        await asyncio.wait_for(b.lock.tried_again(2), WAIT)

        # The leader's checks go unanswered, and its session is gone on the server's side: it
        # cannot know yet, and acts on until its lease runs out. The standby gets the lock at
        # once and must not start before then.
        a.lock.stalled = True
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (a.lock.backend_pid,))
        await b.leads()
        assert journal == ["a leads", "a steps down", "b leads"]


async def test_a_standby_without_the_database_says_so_once_and_keeps_trying(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.leader")
    journal: list[str] = []
    # Nothing listens on port 1: every try fails at once.
    lock = CountingLock("postgresql://bot@127.0.0.1:1/complaints?connect_timeout=1")
    leadership = Leadership(lock, **FAST)
    stopping = asyncio.Event()
    task = asyncio.create_task(leadership.run(Role("a", journal), stopping))
    await asyncio.wait_for(lock.tried_again(3), WAIT)
    stopping.set()
    await asyncio.wait_for(task, WAIT)
    assert journal == []
    assert caplog.text.count("standby: cannot reach the database for the leader lock") == 1
    assert "127.0.0.1:1" in caplog.text


def test_a_new_leader_waits_longer_than_the_old_one_may_act() -> None:
    lock = LeaderLock("postgresql://bot@127.0.0.1:1/complaints", "telegram")
    with pytest.raises(ValueError, match="settle: expected more than the lease"):
        Leadership(lock, lease=2.0, settle=1.0)


async def test_the_lock_session_gives_up_on_a_silent_machine_within_seconds(pg_url: str) -> None:
    # A dead machine closes no socket: only the server's TCP settings end its session (and
    # free the lock). Its defaults would keep it for hours; the lock's session sets its own.
    lock = LeaderLock(pg_url, "telegram")
    try:
        assert await lock.try_acquire()
        conn = lock._conn
        assert conn is not None
        for name, value in SESSION_TCP.items():
            cursor = await conn.execute(f"SHOW {name}")
            row = await cursor.fetchone()
            assert row is not None and row[0] == value, (name, row)
    finally:
        await lock.release()
