"""Ordering, albums, bursts and flood control on a messenger that is not Telegram.

`NoteMessenger` is the smallest messenger there is: a "note" arrives, goes through the shared
intake (the same one Telegram's update processor uses), and its replies are recorded. The host
holds each message until the test lets it go, so order is shown by events, never by timing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace

from bot.messengers.base import Delivery, Host, Limits, Messenger
from bot.messengers.bursts import Bursts, Group, Kind
from bot.messengers.fitting import fit
from bot.messengers.flood import FloodGate
from bot.messengers.intake import Arrival, Intake
from flows.model import ConversationKey, Incoming, Reply
from flows.records import Reminder

WAIT = 0.05  # how long a group must be quiet to be complete (a wait, not an assertion)
SLOW_DOWN = "slow down"


@dataclass(frozen=True, slots=True)
class Note:
    """One message on the note messenger."""

    person: str
    text: str
    seq: int  # its place in the person's chat
    group: Group | None = None


class Gates:
    """The host's answers: each message is held until the test releases its text."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.finished: list[str] = []
        self.batches: list[list[str]] = []
        self._open: dict[str, asyncio.Event] = {}
        self._seen: dict[str, asyncio.Event] = {}

    def gate(self, text: str) -> asyncio.Event:
        return self._open.setdefault(text, asyncio.Event())

    def seen(self, text: str) -> asyncio.Event:
        return self._seen.setdefault(text, asyncio.Event())

    def hold(self, *texts: str) -> None:
        for text in texts:
            self.gate(text)

    def release(self, text: str) -> None:
        self.gate(text).set()


class NoteHost:
    """A Host that answers every message with its text, after its gate opens (if it has one)."""

    def __init__(self, gates: Gates) -> None:
        self.gates = gates
        self.languages: Sequence[str] = ("zh", "en")
        self.default_language = "zh"

    async def handle(self, incoming: Incoming) -> list[Reply]:
        text = incoming.text or ""
        self.gates.started.append(text)
        self.gates.seen(text).set()
        self.gates.batches.append([text, *(part.text or "" for part in incoming.batch)])
        if text in self.gates._open:
            await self.gates.gate(text).wait()
        self.gates.finished.append(text)
        return [Reply(f"got {text}")]

    async def language(self, key: ConversationKey) -> str:
        return self.default_language

    def text(self, name: str, language: str) -> str:
        return SLOW_DOWN if name == "slow_down" else name


class NoteMessenger:
    """A messenger of notes, using the shared intake exactly as Telegram's processor does."""

    name = "note"
    limits = Limits(max_text=100)

    def __init__(self, flood: FloodGate | None = None) -> None:
        self.intake: Intake[Note] = Intake(Bursts(WAIT, WAIT, lambda n: n.seq), flood)
        self.sent: dict[str, list[str]] = {}
        self.dropped: list[Note] = []
        self.tasks: list[asyncio.Task[None]] = []
        self._host: Host | None = None

    async def start(self, host: Host) -> None:
        self._host = host
        self.intake.warn = self.slow_down
        self.intake.dropped = self.drop

    async def stop(self) -> None:
        await asyncio.gather(*self.tasks)

    def arrive(self, note: Note) -> None:
        """A note comes in (as a webhook or a poll would hand it over)."""
        arrival = Arrival(note, lane=note.person, sender=note.person, group=note.group)
        self.tasks.append(asyncio.create_task(self.intake.process(arrival, self.on_note(note))))

    async def on_note(self, note: Note) -> None:
        assert self._host is not None
        notes = [note]
        if note.group is not None:
            notes = await self.intake.bursts.collect(note.group) or notes
        parts = [self.incoming(n) for n in notes]
        incoming = replace(parts[0], batch=tuple(parts[1:]))
        await self.send_replies(incoming.key, note.person, await self._host.handle(incoming))

    def incoming(self, note: Note) -> Incoming:
        return Incoming(ConversationKey(self.name, note.person), note.person, text=note.text)

    async def send_replies(
        self, key: ConversationKey, chat_id: str, replies: Sequence[Reply]
    ) -> None:
        for reply in fit(replies, self.limits):
            self.sent.setdefault(chat_id, []).append(reply.text)

    async def deliver_reminder(self, reminder: Reminder, reply: Reply) -> Delivery:
        await self.send_replies(reminder.key, reminder.chat_id, [reply])
        return Delivery.SENT

    async def slow_down(self, note: Note) -> None:
        assert self._host is not None
        language = await self._host.language(ConversationKey(self.name, note.person))
        self.sent.setdefault(note.person, []).append(self._host.text("slow_down", language))

    async def drop(self, note: Note) -> None:
        self.dropped.append(note)


async def started(flood: FloodGate | None = None) -> tuple[NoteMessenger, Gates]:
    gates = Gates()
    messenger = NoteMessenger(flood)
    as_messenger: Messenger = messenger  # it is a Messenger: the Protocol is all it implements
    await as_messenger.start(NoteHost(gates))
    return messenger, gates


async def test_one_conversation_waits_its_turn_while_another_goes_ahead() -> None:
    messenger, gates = await started()
    gates.hold("a1")
    messenger.arrive(Note("alice", "a1", 1))
    messenger.arrive(Note("alice", "a2", 2))
    messenger.arrive(Note("bob", "b1", 1))
    await gates.seen("b1").wait()  # Bob is answered while Alice's first message is held
    await gates.seen("a1").wait()
    assert "a2" not in gates.started  # Alice's second waits for her first
    gates.release("a1")
    await messenger.stop()
    assert gates.finished.index("a1") < gates.started.index("a2")
    assert messenger.sent == {"alice": ["got a1", "got a2"], "bob": ["got b1"]}
    assert len(messenger.intake.lanes) == 0  # idle conversations are forgotten


async def test_many_messages_of_one_conversation_are_answered_in_the_order_sent() -> None:
    messenger, gates = await started()
    gates.hold("m0")
    for seq in range(20):
        messenger.arrive(Note("alice", f"m{seq}", seq))
    await gates.seen("m0").wait()
    gates.release("m0")
    await messenger.stop()
    assert gates.started == [f"m{seq}" for seq in range(20)]
    assert messenger.sent["alice"] == [f"got m{seq}" for seq in range(20)]


async def test_an_album_is_answered_once_with_all_its_parts_in_order() -> None:
    messenger, gates = await started()
    album = Group(Kind.ALBUM, "album-1")
    for seq in (2, 1, 3):  # the parts may arrive out of order
        messenger.arrive(Note("alice", f"photo {seq}", seq, album))
    await messenger.stop()
    assert gates.batches == [["photo 1", "photo 2", "photo 3"]]
    assert messenger.sent == {"alice": ["got photo 1"]}


async def test_a_burst_of_forwards_is_one_batch_and_the_next_message_comes_after_it() -> None:
    messenger, gates = await started()
    forwards = Group(Kind.BURST, "alice")
    for seq in range(1, 4):
        messenger.arrive(Note("alice", f"fwd {seq}", seq, forwards))
    await messenger.stop()
    messenger.arrive(Note("alice", "after", 4))
    await messenger.stop()
    assert gates.batches == [["fwd 1", "fwd 2", "fwd 3"], ["after"]]


async def test_a_flood_gets_one_slow_down_the_rest_is_dropped_and_others_are_answered() -> None:
    messenger, gates = await started(FloodGate(3, 60.0))
    for seq in range(6):
        messenger.arrive(Note("alice", f"a{seq}", seq))
    messenger.arrive(Note("bob", "b0", 0))
    await messenger.stop()
    assert messenger.sent["alice"] == ["got a0", "got a1", "got a2", SLOW_DOWN]
    assert [note.text for note in messenger.dropped] == ["a4", "a5"]
    assert messenger.sent["bob"] == ["got b0"]
    assert "a3" not in gates.started  # over the limit: never handled


async def test_an_album_counts_once_against_the_flood_limit() -> None:
    messenger, gates = await started(FloodGate(2, 60.0))
    album = Group(Kind.ALBUM, "album-1")
    for seq in range(1, 6):
        messenger.arrive(Note("alice", f"photo {seq}", seq, album))
    messenger.arrive(Note("alice", "text", 6))
    await messenger.stop()
    assert gates.batches == [[f"photo {seq}" for seq in range(1, 6)], ["text"]]
    assert SLOW_DOWN not in messenger.sent["alice"]


async def test_each_forward_of_a_burst_counts_and_one_over_the_limit_is_left_out() -> None:
    messenger, gates = await started(FloodGate(2, 60.0))
    forwards = Group(Kind.BURST, "alice")
    for seq in range(1, 4):
        messenger.arrive(Note("alice", f"fwd {seq}", seq, forwards))
    await messenger.stop()
    assert gates.batches == [["fwd 1", "fwd 2"]]
    assert messenger.sent["alice"] == ["got fwd 1", SLOW_DOWN]  # the warning in its turn
