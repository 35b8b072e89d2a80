"""The engine: one message in, replies out; every step committed before the replies are returned."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

from flows.conversation.callbacks import GLOBAL, encode
from flows.conversation.context import Services, TurnContext
from flows.conversation.evidence import EvidenceTaker
from flows.conversation.followup import FollowUps
from flows.conversation.once import OnceStore, delivering
from flows.conversation.registry import Registry, default_registry
from flows.conversation.render import Renderer
from flows.definition.ladder import WeekdayDeadlines
from flows.definition.machine import FlowMachine
from flows.definition.schema import FlowSet
from flows.errors import AlreadyHandled, StorageError
from flows.model import Button, Incoming, Reply
from flows.ports import DeadlinePolicy, Explainer, Paperwork, Store, TextReader
from flows.records import CaseChange, Conversation, Deliveries, Reminder

log = logging.getLogger(__name__)

DEFAULT_MAX_FILE_SIZE = 20 * 1024 * 1024  # what the Telegram Bot API lets a bot download
SHANGHAI = ZoneInfo("Asia/Shanghai")


class Engine:
    """Run the flows for every conversation; channel-agnostic and stateless between messages."""

    def __init__(
        self,
        flows: FlowSet,
        store: Store,
        *,
        timezone: tzinfo = SHANGHAI,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        default_language: str = "zh",
        max_file_size: int = DEFAULT_MAX_FILE_SIZE,
        deadlines: DeadlinePolicy | None = None,
        on_reminder: Callable[[datetime], None] | None = None,
        explainer: Explainer | None = None,
        reader: TextReader | None = None,
        paperwork: Paperwork | None = None,
        registry: Registry | None = None,
    ) -> None:
        self.flows = flows
        self.store = OnceStore(store)  # a message's first write records its delivery ids
        self.default_language = default_language
        self.registry = registry or default_registry()
        self.registry.check(flows.catalog)  # a command without its texts stops start-up
        policy = deadlines or WeekdayDeadlines(timezone)
        self.followups = FollowUps(flows, self.store, policy, clock, timezone, on_reminder)
        self.paperwork = paperwork  # None: no letters or exports (no templates wired in)
        self.services = Services(
            flows=flows,
            store=self.store,
            render=Renderer(flows, timezone),
            evidence=EvidenceTaker(self.store, max_file_size),
            followups=self.followups,
            machines={key: FlowMachine(flow) for key, flow in flows.flows.items()},
            timezone=timezone,
            clock=clock,
            explainer=explainer,
            reader=reader,
            paperwork=paperwork,
        )

    async def handle(self, incoming: Incoming) -> list[Reply]:
        """Answer one message; on any failure nothing is half-saved and the person is told.

        A message delivered again (same delivery ids) is answered with nothing: its effect
        and its answer happened the first time.
        """
        deliveries = Deliveries(incoming.key.messenger, incoming.deliveries)
        language = self.default_language
        with delivering(deliveries) as receipt:
            try:
                if receipt is not None and await self.store.handled(deliveries):
                    log.info("a %s message was delivered again; ignored", deliveries.messenger)
                    return []
                ctx = await self._context(incoming)
                language = ctx.conv.language
                await self.registry.dispatch(ctx)
                if receipt is not None and not receipt.recorded:
                    await self.store.mark_handled(deliveries)
            except AlreadyHandled:
                log.info("a %s message was delivered twice at once; ignored", deliveries.messenger)
                return []
            except StorageError:
                log.exception("could not save a message from %s", incoming.key.messenger)
                return [Reply(self.flows.catalog("save_failed", language))]
            except Exception:
                log.exception("could not handle a message from %s", incoming.key.messenger)
                if receipt is not None and receipt.recorded:
                    # Its step committed: sent again, it would answer the next question.
                    return await self._saved_but_failed(incoming, language)
                return [Reply(self.flows.catalog("internal_error", language))]
        return ctx.replies

    async def _saved_but_failed(self, incoming: Incoming, language: str) -> list[Reply]:
        """Tell a person whose message was saved before a failure where the conversation is."""
        try:
            ctx = await self._context(incoming)
            language = ctx.conv.language
            await ctx.ask_current(prefix=ctx.t("internal_error_saved"))
        except Exception:
            log.exception("could not show where a conversation is on %s", incoming.key.messenger)
            return [Reply(self.flows.catalog("internal_error_stuck", language))]
        return ctx.replies

    async def resume(self, incoming: Incoming, since: datetime) -> list[Reply]:
        """Answer again a message handled before a crash whose replies were lost with it.

        What it said cannot be said again word for word (it was never kept), so the person is
        told what matters: each case filed since `since` (when the message arrived), then
        where the conversation stands (the current question, or the menu).
        """
        language = self.default_language
        try:
            ctx = await self._context(incoming)
            language = ctx.conv.language
            filed = [c for c in await self.store.list_cases(incoming.key) if c.created_at >= since]
            for case in reversed(filed):  # listed newest first
                ctx.say(
                    ctx.t("filed", number=case.number),
                    ((Button(ctx.t("view_case"), encode(GLOBAL, "case", case.number)),),),
                )
            await ctx.ask_current()
        except StorageError:
            log.exception("could not resume a conversation on %s", incoming.key.messenger)
            return [Reply(self.flows.catalog("save_failed", language))]
        except Exception:
            log.exception("could not resume a conversation on %s", incoming.key.messenger)
            return [Reply(self.flows.catalog("internal_error", language))]
        return ctx.replies

    def command_menu(self, language: str) -> list[tuple[str, str]]:
        """Return the (command, description) pairs a messenger shows as its command menu."""
        return self.registry.menu(self.flows.catalog, language)

    async def reminder_prompt(self, reminder: Reminder) -> Reply | None:
        """Return what a due reminder asks its case's owner, or None if it no longer applies."""
        return await self.followups.prompt(reminder)

    async def reminder_delivered(self, reminder: Reminder) -> bool:
        """Mark a reminder sent with its record on the case; False if it had been already."""
        return await self.followups.delivered(reminder)

    async def reminder_delivery(self, reminder: Reminder) -> list[CaseChange]:
        """Return what sending a reminder records on its case (for a messenger that marks it
        sent in a transaction of its own, see `Host.reminder_delivery`)."""
        return await self.followups.delivery(reminder)

    async def _context(self, incoming: Incoming) -> TurnContext:
        """Return the turn of `incoming` on its person's saved conversation (or a new one)."""
        conv = await self.store.load_conversation(incoming.key)
        return TurnContext(self.services, conv or self._new(incoming), incoming, fresh=conv is None)

    def _new(self, incoming: Incoming) -> Conversation:
        return Conversation(incoming.key, incoming.chat_id, self.default_language)
