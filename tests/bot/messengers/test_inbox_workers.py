"""Workers sharing one inbox on PostgreSQL: each update handled once, in order, whoever is killed.

Two `Inbox`es, each with its own store and its own conversation locks (their own sessions on one
real PostgreSQL database, as two processes have), drain the updates of many people that arrive
interleaved, in batches, as a poller keeps them. Handling an update here is the step's work
done in one transaction with finishing it (`keep_replies`), run in each worker's per-person
lanes as the messengers' intake runs them. Then one worker hangs in the middle of people's
updates and is killed (its tasks end unfinished, its sessions end, as with SIGKILL): the other
must take over its people and answer everything left, once and in order.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from pg_server import make_postgres_store

from bot.messengers.inbox import LOOK_EVERY, Inbox
from flows.model import ConversationKey
from flows.records import Inbound, InboxEntry
from storage.postgres.conversation_locks import ConversationLocks
from storage.postgres.store import PostgresStore

TELEGRAM = "telegram"
PEOPLE = 12
WAIT = 30.0  # seconds, only so that a broken run ends


@dataclass
class Worker:
    """One process's share of the inbox: its store, its locks, what it handled."""

    name: str
    store: PostgresStore
    locks: ConversationLocks
    done: list[tuple[str, int]]  # (person, n) as handled by every worker, in order
    handled: int = 0  # how many of them this worker handled
    hang: asyncio.Event | None = None  # set: every update waits here before any work
    broken: int | None = None  # the update number whose handling always raises
    lanes: dict[str | None, asyncio.Lock] = field(default_factory=lambda: defaultdict(asyncio.Lock))
    inbox: Inbox | None = None

    async def dispatch(self, entry: InboxEntry, recovered: bool) -> None:
        async with self.lanes[entry.user_id]:  # one person's one after another, as the intake
            await self._handle(entry)

    async def _handle(self, entry: InboxEntry) -> None:
        if self.hang is not None:
            await asyncio.Event().wait()  # stuck mid-step, until killed
        await asyncio.sleep(0.001 * (entry.payload["n"] % 3))  # steps take a little while
        if entry.payload["n"] == self.broken:
            raise RuntimeError("a bug in handling this update")
        assert entry.user_id is not None
        key = ConversationKey(TELEGRAM, entry.user_id)
        n = entry.payload["n"]
        await self.store.keep_replies(key, entry.user_id, [], done=[entry.delivery_id])
        self.done.append((entry.user_id, n))
        self.handled += 1


async def start_worker(name: str, url: str, done: list[tuple[str, int]]) -> Worker:
    worker = Worker(name, await make_postgres_store(url), ConversationLocks(url), done)
    worker.inbox = Inbox(worker.store, TELEGRAM, worker.dispatch, locks=worker.locks)
    worker.inbox.start()
    return worker


async def kill(worker: Worker) -> None:
    """End the worker as SIGKILL would: nothing it has in hand runs on; its sessions end."""
    inbox = worker.inbox
    assert inbox is not None
    tasks = [inbox._drain, *inbox._serving, *inbox._running]
    for task in tasks:
        if task is not None:
            task.cancel()
    await asyncio.gather(*(t for t in tasks if t is not None), return_exceptions=True)
    await worker.locks.close()
    await worker.store.close()


async def send(poller: PostgresStore, people: range, rounds: range, ids: Iterator[int]) -> None:
    """Keep each person's updates of `rounds`, one batch per person, as a poller would."""
    for p in people:
        batch = [Inbound(f"1:{next(ids)}", f"u{p}", {"n": n}) for n in rounds]
        await poller.accept_updates(TELEGRAM, batch)


async def until(what: str, predicate: object) -> None:
    assert callable(predicate)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not predicate():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


def by_person(done: list[tuple[str, int]]) -> dict[str, list[int]]:
    seen: dict[str, list[int]] = defaultdict(list)
    for person, n in done:
        seen[person].append(n)
    return seen


async def test_two_workers_handle_every_update_once_in_order_and_survive_a_kill(
    pg_url: str,
) -> None:
    poller = await make_postgres_store(pg_url)
    done: list[tuple[str, int]] = []
    a, b = await start_worker("a", pg_url, done), await start_worker("b", pg_url, done)
    ids = itertools.count(1)
    people = range(PEOPLE)
    try:
        # Both working: 12 people x 6 updates, kept in rounds while the workers drain.
        for rounds in (range(0, 2), range(2, 4), range(4, 6)):
            await send(poller, people, rounds, ids)
        await until("every update handled", lambda: len(done) >= 6 * PEOPLE)
        assert by_person(done) == {f"u{p}": list(range(6)) for p in people}
        assert a.handled and b.handled, f"one worker did everything: {a.handled}, {b.handled}"

        # a hangs in the middle of people's steps, holding them, and is killed. (Who takes a
        # person is a race: rounds are sent until a has taken someone.)
        a.hang, handled_by_a = asyncio.Event(), a.handled
        assert a.inbox is not None
        inbox, last = a.inbox, 6
        while not inbox._held:
            assert last < 30, "a never took anyone"
            await send(poller, people, range(last, last + 1), ids)
            last += 1
            await asyncio.sleep(0.1)
        await kill(a)
        await send(poller, people, range(last, last + 1), ids)
        last += 1

        await until("b to answer what a left", lambda: len(done) >= last * PEOPLE)
        assert by_person(done) == {f"u{p}": list(range(last)) for p in people}
        assert a.handled == handled_by_a, "a handled something after it hung"
        assert await poller.pending_updates(TELEGRAM) == []
        print(f"workers test: a handled {a.handled}, b {b.handled}")
    finally:
        assert b.inbox is not None
        await b.inbox.stop()
        await b.store.close()
        if a.inbox is not None and a.inbox._drain is not None and not a.inbox._drain.done():
            await kill(a)
        await poller.close()


async def test_an_update_whose_handling_fails_is_left_pending_and_the_rest_go_on(
    pg_url: str,
) -> None:
    poller = await make_postgres_store(pg_url)
    done: list[tuple[str, int]] = []
    worker = await start_worker("a", pg_url, done)
    worker.broken = 1
    ids = itertools.count(1)
    try:
        await send(poller, range(2), range(3), ids)
        await until("the others handled", lambda: len(done) >= 4)
        # Nobody is held on to for it, even once taken again by a later look (every
        # LOOK_EVERY s: the update is still pending): another worker may take them meanwhile.
        assert worker.inbox is not None
        inbox = worker.inbox
        await asyncio.sleep(LOOK_EVERY * 1.5)
        await until("both people given back", lambda: not inbox._held)
        # The worker is not stuck on it: what comes next is answered too.
        await send(poller, range(2), range(3, 4), ids)
        await until("the next ones handled", lambda: len(done) >= 6)

        assert by_person(done) == {"u0": [0, 2, 3], "u1": [0, 2, 3]}
        left = await poller.pending_updates(TELEGRAM)
        assert sorted((e.user_id, e.payload["n"]) for e in left) == [("u0", 1), ("u1", 1)]
    finally:
        assert worker.inbox is not None
        await worker.inbox.stop()
        await worker.store.close()
        await poller.close()
