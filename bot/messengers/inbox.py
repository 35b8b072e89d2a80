"""The inbox: a messenger's updates kept before the platform is told they arrived, then handed on.

Whatever receives updates (Telegram's long polling, a webhook, WeChat's pull) calls `accept`
and acknowledges them only once it returned: a crash after that loses nothing, since the kept
updates are handed on again at the next start. Updates are handed on in the order they were
kept, each in its own task (the messenger's intake keeps one conversation's in order), and stay
pending until the messenger keeps their replies (`InboxStore.keep_replies`) or finishes them.

Shared by workers (given `Locks`: several processes on one PostgreSQL database, `telegram.workers`
above 1), a process hands on only the updates of conversations it has taken: it takes the free
ones waiting whenever an update is kept anywhere (or every `LOOK_EVERY` seconds), then for each
sends what that person's outbox still holds (replies a dead worker kept and never sent), hands
on their pending updates in order, picks up more of theirs as they come, and gives the
conversation back once none is pending and none in hand. One conversation's updates thus run
in one process at a time, in order; a killed worker's lock ends with its session, and its
pending updates and unsent replies are taken by the next process that looks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from flows.errors import StorageError
from flows.ports import InboxStore
from flows.records import Inbound, InboxEntry

log = logging.getLogger(__name__)

# Pending updates read at a time.
BATCH = 200
# How long to wait before reading the inbox again when the database refused.
RETRY_SECONDS = 1.0
# Shared: seconds between looks for waiting conversations when no notice came (a lost one).
LOOK_EVERY = 1.0
# Shared: most conversations one process takes at one look, so that others get their share.
TAKE_AT_ONCE = 50

# Hands one kept update to the messenger; `recovered` when it may have been handled before.
Dispatch = Callable[[InboxEntry, bool], Awaitable[None]]
# Sends what the outbox holds for one person (their user id), before their next update.
Resend = Callable[[str], Awaitable[None]]


@dataclass(slots=True)
class InboxCounts:
    """What a shared inbox did, logged when it stops: where its time went (benchmarks read it)."""

    looks: int = 0  # queries for waiting people
    empty_looks: int = 0  # of which took nobody (none waiting, or others were quicker)
    taken: int = 0  # people taken by those looks
    notices: int = 0  # wake-ups by a notice that updates were kept
    timeouts: int = 0  # wake-ups by the LOOK_EVERY timer
    handed: int = 0  # updates handed on
    # Seconds they waited in the inbox before that, summed: from the keeping process's clock
    # to this one's, so across machines it is only as good as their clocks agree.
    waited: float = 0.0

    def __str__(self) -> str:
        mean = self.waited / self.handed * 1000 if self.handed else 0.0
        return (
            f"{self.looks} looks ({self.empty_looks} took nobody), {self.taken} people taken,"
            f" {self.notices} notices, {self.timeouts} timeouts, {self.handed} updates handed on"
            f" after {mean:.1f} ms in the inbox on average"
        )


class Locks(Protocol):
    """Which process handles which conversation, when several share the inbox."""

    async def take_waiting(self, messenger: str, held: Collection[str], limit: int) -> list[str]:
        """Take free conversations with pending updates or unsent replies; return their lanes."""
        ...

    async def take(self, messenger: str, lane: str) -> bool:
        """Take one conversation if it is free; return whether this process holds it now."""
        ...

    async def give_back(self, messenger: str, lane: str) -> None:
        """Let another process take this conversation."""
        ...

    async def wait_for_news(self, messenger: str, seconds: float) -> set[str] | None:
        """Wait up to `seconds` for updates kept anywhere; return whose (None: unknown)."""
        ...

    async def close(self) -> None:
        """Give back every conversation this process holds."""
        ...


class Inbox:
    """Keep a messenger's updates, then hand each on once, in the order they came."""

    def __init__(
        self,
        store: InboxStore,
        messenger: str,
        dispatch: Dispatch,
        *,
        locks: Locks | None = None,
        resend: Resend | None = None,
    ) -> None:
        """Hand on every kept update, or with `locks` only those of conversations taken here."""
        self.store = store
        self.messenger = messenger
        self._dispatch = dispatch
        self._locks = locks
        self._resend = resend
        self._wake = asyncio.Event()
        self._drain: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._started_at = datetime.now(UTC)
        # Shared: the conversations held here, each with what wakes its handler.
        self._held: dict[str, asyncio.Event] = {}
        self._serving: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._failed: set[int] = set()  # kept updates whose handling raised here
        self.counts = InboxCounts()

    @property
    def shared(self) -> bool:
        """Return whether other processes drain this inbox too (conversations are taken)."""
        return self._locks is not None

    async def accept(self, updates: Sequence[Inbound]) -> None:
        """Return once these updates are kept (new ones are then handed on).

        When the database refuses to keep them, they are handed on from memory instead: the
        person is answered (if the database refuses every write, with "could not save, send
        it again") rather than not at all, and the caller may acknowledge them.
        """
        if not updates:
            return
        try:
            new = await self.store.accept_updates(self.messenger, updates)
        except StorageError:
            log.warning("could not keep %s updates; handling them unkept", len(updates))
            now = datetime.now(UTC)
            for update in updates:
                entry = InboxEntry(0, update.delivery_id, update.user_id, update.payload, now)
                self._hand_on(entry, recovered=False)
            return
        if new < len(updates):
            log.info("%s %s updates delivered again; ignored", len(updates) - new, self.messenger)
        self._wake.set()

    def wake(self) -> None:
        """Look for kept updates now: another process may have kept some (it said so)."""
        self._wake.set()

    @property
    def running(self) -> bool:
        """Return whether kept updates are being handed on (started and not stopped)."""
        return self._drain is not None

    def start(self) -> None:
        """Start handing on kept updates: first those an earlier process left, then new ones."""
        self._started_at = datetime.now(UTC)
        self._stopping = False
        drain = self._run() if self._locks is None else self._look()
        self._drain = asyncio.create_task(drain, name=f"inbox:{self.messenger}")

    async def stop(self) -> None:
        """Stop handing on updates; those already handed on are finished first."""
        if self._drain is not None:
            self._drain.cancel()
            await asyncio.gather(self._drain, return_exceptions=True)
            self._drain = None
        self._stopping = True
        for wake in self._held.values():
            wake.set()  # each handler finishes what it has in hand, then gives its person back
        if self._serving:
            await asyncio.gather(*self._serving, return_exceptions=True)
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
        if self._locks is not None:
            log.info("inbox %s, shared: %s", self.messenger, self.counts)
            await self._locks.close()

    async def _run(self) -> None:
        after = 0
        while True:
            self._wake.clear()
            try:
                entries = await self.store.pending_updates(self.messenger, after, BATCH)
            except StorageError:
                log.warning("could not read the inbox; trying again", exc_info=True)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            for entry in entries:
                after = entry.id
                # Kept before this process started: its step may have committed before a crash.
                self._hand_on(entry, recovered=entry.received_at < self._started_at)
            if len(entries) < BATCH:
                await self._wake.wait()

    async def _look(self) -> None:
        """Take the conversations waiting, whenever an update is kept anywhere (shared)."""
        locks = self._locks
        assert locks is not None
        loop = asyncio.get_running_loop()
        heard: set[str] | None = None  # whose updates were kept since the last look (None: any)
        looked = -LOOK_EVERY
        while True:
            # Notices naming only people held here need no look, but a look is due every
            # LOOK_EVERY s all the same: a killed worker's people send nothing more while
            # they wait for their answer, and would wait as long as the others keep writing.
            due = loop.time() - looked >= LOOK_EVERY
            if heard is None or not heard <= self._held.keys() or due:
                looked = loop.time()
                try:
                    taken = await locks.take_waiting(self.messenger, self._held, TAKE_AT_ONCE)
                except StorageError:
                    log.warning("could not look for waiting people; trying again", exc_info=True)
                    await asyncio.sleep(RETRY_SECONDS)
                    continue
                self.counts.looks += 1
                self.counts.taken += len(taken)
                self.counts.empty_looks += not taken
                for lane in taken:
                    self._held[lane] = asyncio.Event()
                    task = asyncio.create_task(self._serve(lane), name=f"inbox:{lane}")
                    self._serving.add(task)
                    task.add_done_callback(self._serving.discard)
                if len(taken) == TAKE_AT_ONCE:
                    heard = None  # more may be waiting
                    continue
            # A person held here: their handler reads again (an album's next part, say).
            for lane in self._held if heard is None else heard & self._held.keys():
                self._held[lane].set()
            try:
                heard = await locks.wait_for_news(self.messenger, LOOK_EVERY)
                if heard == set():
                    self.counts.timeouts += 1
                else:
                    self.counts.notices += 1
            except StorageError:
                log.warning("could not listen for kept updates", exc_info=True)
                await asyncio.sleep(RETRY_SECONDS)
                heard = None

    async def _serve(self, lane: str) -> None:
        """Hand on one taken person's updates until none is pending or in hand, then give back."""
        locks = self._locks
        assert locks is not None
        wake = self._held[lane]
        in_hand: set[asyncio.Task[None]] = set()
        after = 0
        holding = True
        try:
            if self._resend is not None:
                await self._resend(lane)  # replies of an earlier message first
            while not self._stopping:
                wake.clear()
                entries = await self.store.pending_updates(
                    self.messenger, after, BATCH, user_id=lane
                )
                for entry in entries:
                    after = entry.id
                    if entry.id in self._failed:
                        continue  # as unshared: left for the next start (or another worker)
                    self.counts.handed += 1
                    self.counts.waited += (datetime.now(UTC) - entry.received_at).total_seconds()
                    # Taken over from a killed worker, its step may have committed: the host
                    # checks (one read) rather than this guessing from times.
                    in_hand.add(self._hand_on(entry, recovered=True))
                in_hand = {task for task in in_hand if not task.done()}
                if in_hand:
                    woken = asyncio.ensure_future(wake.wait())
                    await asyncio.wait({*in_hand, woken}, return_when=asyncio.FIRST_COMPLETED)
                    woken.cancel()
                    continue
                # Nothing left: give them back, then look once more. An update kept while
                # they were held here was announced to the others as held (they did not
                # look for it), and the person, just answered, often writes again right now.
                wake.clear()
                holding = False
                await locks.give_back(self.messenger, lane)
                if not wake.is_set() and not await self.store.pending_updates(
                    self.messenger, after, 1, user_id=lane
                ):
                    return  # anything kept from now on is announced as nobody's here
                if not await locks.take(self.messenger, lane):
                    return  # another process took them
                holding = True
            # Stopping: what is in hand is finished; the rest is left for the others.
            await asyncio.gather(*in_hand, return_exceptions=True)
        except Exception:
            # The updates stay pending: taken again, here or elsewhere, once given back.
            log.exception("could not hand on the updates of one conversation")
            if in_hand:
                await asyncio.gather(*in_hand, return_exceptions=True)
        finally:
            if holding:
                try:
                    await locks.give_back(self.messenger, lane)
                except StorageError:  # the session is lost, and its locks with it
                    log.warning("could not give a conversation back", exc_info=True)
            # Only now: a look here meanwhile would take them again on this same session.
            del self._held[lane]

    def _hand_on(self, entry: InboxEntry, *, recovered: bool) -> asyncio.Task[None]:
        task = asyncio.create_task(self._run_one(entry, recovered))
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return task

    async def _run_one(self, entry: InboxEntry, recovered: bool) -> None:
        try:
            await self._dispatch(entry, recovered)
        except Exception:
            # Left pending: handed on again at the next start.
            log.exception("could not handle kept update %s", entry.delivery_id)
            self._failed.add(entry.id)
