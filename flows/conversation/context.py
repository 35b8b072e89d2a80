"""What a handler gets for one message: the conversation, its replies, its commit, the services.

A handler (flows/conversation/handlers/) reads and changes `ctx.conv`, says things with
`ctx.say`, records case events with `ctx.event` and commits with `ctx.save`; what it needs from
outside the conversation it finds in `ctx.services`, never in the Engine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from flows.conversation.callbacks import decode
from flows.conversation.evidence import EvidenceTaker
from flows.conversation.followup import FollowUps
from flows.conversation.once import OnceStore
from flows.conversation.render import Renderer
from flows.definition.machine import FlowMachine
from flows.definition.schema import FlowSet, Step
from flows.model import Button, Incoming, Reply
from flows.ports import Explainer, Paperwork, TextReader
from flows.records import CaseEvent, Conversation, StepCommit


@dataclass(frozen=True, slots=True)
class Services:
    """The parts a handler may use besides the conversation; built once, shared by all messages."""

    flows: FlowSet
    store: OnceStore  # a message's first write records its delivery ids
    render: Renderer
    evidence: EvidenceTaker
    followups: FollowUps
    machines: Mapping[tuple[str, int], FlowMachine]
    timezone: tzinfo
    clock: Callable[[], datetime]
    explainer: Explainer | None = None  # None: messages are not checked (no analyser wired in)
    reader: TextReader | None = None  # None: screenshots cannot be read (no OCR installed)
    paperwork: Paperwork | None = None  # None: no letters or exports (no templates wired in)


class TurnContext:
    """The handling of one message: reads the conversation, changes it, saves, then speaks."""

    def __init__(
        self, services: Services, conv: Conversation, incoming: Incoming, *, fresh: bool
    ) -> None:
        self.services = services
        self.conv = conv
        self.incoming = incoming.valid()
        self.fresh = fresh  # the person never wrote before (nothing was loaded)
        self.replies: list[Reply] = []
        self.commit = StepCommit(conv)
        self.dirty = False  # the conversation changed and must be saved
        self.now = services.clock()
        # Confirmations taken out of the conversation as this message arrived, by scratch key:
        # the turn each was asked at. Only a button sent right after its question answers it.
        self.withdrawn: dict[str, Any] = {}
        conv.chat_id = incoming.chat_id

    @property
    def lang(self) -> str:
        """Return the language the person reads."""
        return self.conv.language

    def t(self, key: str, **values: Any) -> str:
        """Return the catalog text `key` in the person's language."""
        return self.services.flows.catalog(key, self.lang, **values)

    def say(self, text: str, buttons: tuple[tuple[Button, ...], ...] = ()) -> None:
        """Add a reply (text and buttons) to what this message answers."""
        self.replies.append(Reply(text, buttons))

    def event(self, kind: str, **data: Any) -> None:
        """Record a case event, committed with this step."""
        self.commit.events.append(CaseEvent(kind, self.now, data))

    async def save(self) -> str | None:
        """Commit what this message changed; return the case number when one was filed."""
        commit = self.commit
        if not (self.dirty or commit.events or commit.evidence or commit.new_case):
            return None
        self.conv.updated_at = self.now
        number = await self.services.store.commit(commit)
        self.commit = StepCommit(self.conv)
        self.dirty = False
        return number

    @property
    def machine(self) -> FlowMachine | None:
        """Return the machine of the intake in progress (None when idle or its flow is gone)."""
        conv = self.conv
        if conv.flow_id is None or conv.flow_version is None:
            return None
        return self.services.machines.get((conv.flow_id, conv.flow_version))

    @property
    def step(self) -> Step:
        """Return the step being asked (only during an intake)."""
        assert self.machine is not None and self.conv.state is not None
        return self.machine.flow.steps[self.conv.state]

    @property
    def idle(self) -> bool:
        """Return True when no intake is in progress."""
        return self.conv.state is None or self.machine is None

    def drop_question_on_move(self, key: str, skip_verb: str) -> None:
        """Forget the pending question `key` once the person moves on: a command, another button.

        Its own skip button (`skip_verb`) and typed text keep it.
        """
        if not self.conv.pending.get(key):
            return
        incoming = self.incoming
        press = decode(incoming.button) if incoming.button else None
        if incoming.command is not None or (press is not None and press.verb != skip_verb):
            self.conv.pending.pop(key)
            self.dirty = True

    def answers_question(self, key: str) -> bool:
        """Return True when this message is typed text that answers the pending question `key`."""
        incoming = self.incoming
        return bool(self.conv.pending.get(key)) and bool(
            incoming.text and incoming.forward is None and not incoming.batch
        )

    async def show_menu(self, *, greeting: bool = False, prefix: str = "") -> None:
        """Show the category menu (a new turn: older buttons expire)."""
        self.conv.turn += 1
        self.dirty = True
        await self.save()
        menu = self.services.render.menu(self.conv, greeting=greeting)
        text = f"{prefix}\n\n{menu.text}" if prefix else menu.text
        self.replies.append(Reply(text, menu.buttons))

    async def ask_current(self, prefix: str = "") -> None:
        """Ask the current question again, or show the menu when no intake is in progress."""
        if self.conv.state is None or self.machine is None:
            await self.show_menu(prefix=prefix)
            return
        self.replies.append(self.services.render.question(self.machine, self.conv, prefix))

    async def expired(self) -> None:
        """Say that the pressed button has expired, and where the conversation is now."""
        prefix = self.t("button_expired")
        if self.idle and not self.fresh:
            # Nothing moved on, so the menu keeps its turn: a new one would expire the menu
            # sent just before, and two presses in flight would then expire each other forever.
            menu = self.services.render.menu(self.conv)
            self.replies.append(Reply(f"{prefix}\n\n{menu.text}", menu.buttons))
            return
        await self.ask_current(prefix=prefix)
