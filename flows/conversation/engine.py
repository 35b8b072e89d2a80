"""The engine: one message in, replies out; every step committed before the replies are returned."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

from flows.conversation.answers import AnswerTurn
from flows.conversation.callbacks import GLOBAL, Press, decode, encode
from flows.conversation.case_turn import CASE_VERBS, CaseTurn
from flows.conversation.describe_turn import DESCRIBED_VERB, DescribeTurn
from flows.conversation.evidence import EvidenceTaker
from flows.conversation.followup import FollowUps
from flows.conversation.forget import FORGET_VERB, ForgetTurn
from flows.conversation.once import OnceStore, delivering
from flows.conversation.paperwork_turn import PAPERWORK_VERBS, PaperworkTurn
from flows.conversation.render import Renderer
from flows.conversation.suspect import SUSPECT_VERBS, Suspect
from flows.conversation.turn import CANCEL_VERB
from flows.definition.ladder import WeekdayDeadlines
from flows.definition.machine import FlowMachine
from flows.definition.schema import FlowSet
from flows.definition.texts import pick
from flows.errors import AlreadyHandled, StorageError
from flows.model import Button, Incoming, Reply
from flows.ports import DeadlinePolicy, Explainer, Paperwork, Store, TextReader
from flows.records import Conversation, Deliveries, Reminder

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
    ) -> None:
        self.flows = flows
        self.store = OnceStore(store)  # a message's first write records its delivery ids
        self.timezone = timezone
        self.clock = clock
        self.default_language = default_language
        self.machines = {key: FlowMachine(flow) for key, flow in flows.flows.items()}
        self.render = Renderer(flows, timezone)
        self.evidence = EvidenceTaker(self.store, max_file_size)
        policy = deadlines or WeekdayDeadlines(timezone)
        self.followups = FollowUps(flows, self.store, policy, clock, timezone, on_reminder)
        self.explainer = explainer  # None: messages are not checked (no analyser wired in)
        self.reader = reader  # None: screenshots cannot be read (no OCR package installed)
        self.paperwork = paperwork  # None: no letters or exports (no templates wired in)

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
                conv = await self.store.load_conversation(incoming.key)
                language = conv.language if conv else language
                turn = _MessageTurn(self, conv or self._new(incoming), incoming, fresh=conv is None)
                await turn.run()
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
                return [Reply(self.flows.catalog("internal_error", language))]
        return turn.replies

    async def reminder_prompt(self, reminder: Reminder) -> Reply | None:
        """Return what a due reminder asks its case's owner, or None if it no longer applies."""
        return await self.followups.prompt(reminder)

    async def reminder_delivered(self, reminder: Reminder) -> None:
        """Record that a reminder reached its case's owner."""
        await self.followups.delivered(reminder)

    def _new(self, incoming: Incoming) -> Conversation:
        return Conversation(incoming.key, incoming.chat_id, self.default_language)


class _MessageTurn(DescribeTurn, PaperworkTurn, CaseTurn, AnswerTurn, ForgetTurn):
    """Dispatch one message: a command, a button, or an answer to the current step."""

    async def run(self) -> None:
        await self.withdraw_forget()
        await self.withdraw_cancel()
        self.drop_stale_profile_question()
        await self.drop_stale_case_note()
        if self.conv.state is not None and self.machine is None:
            await self.retire_draft()  # then the message is handled as from someone idle
        command = self.incoming.command
        if command is not None:
            await self.on_command(*command)
        elif self.incoming.button is not None:
            await self.on_button(self.incoming.button)
        elif self.conv.state is None and self.takes_profile():
            await self.take_profile(self.incoming.text)
        elif self.conv.state is None and self.conv.pending.get("comment_for"):
            await self.take_comment()
        elif self.conv.state is None and self.takes_case_note():
            await self.take_case_note(self.incoming.text)
        elif self.wants_check():
            await self.check(*await self.suspects_of(self.incoming))
        elif self.conv.state is None or self.machine is None:
            await self.offer_category(self.incoming.text or "")
        else:
            await self.on_input()

    async def on_command(self, name: str, arg: str) -> None:
        if name in ("start", "new"):
            if self.conv.state is not None and self.machine is not None:
                await self.offer_resume()
            else:
                await self.show_menu(greeting=name == "start" or self.fresh)
        elif name == "cancel":
            await self.cancel()
        elif name == "lang":
            await self.set_language(arg.lower())
        elif name == "cases":
            self.replies.append(
                self.e.render.case_list(await self.e.store.list_cases(self.conv.key), self.lang)
            )
        elif name == "case":
            await self.show_case(arg)
        elif name == "check":
            await self.on_check_command(arg)
        elif name == "letter":
            await self.on_letter_command(arg)
        elif name == "export":
            await self.on_export_command(arg)
        elif name == "channels":
            await self.on_channels_command(arg)
        elif name == "me":
            await self.show_me()
        elif name == "help":
            self.say(self.t("help"))
        elif name == "forget":
            await self.ask_forget()
        else:
            self.say(self.t("unknown_command", command=f"/{name}"[:40]))

    async def on_button(self, data: str) -> None:
        press = decode(data)
        if press is not None and press.is_global:
            await self.on_global(press)
        elif press is None or int(press.turn) != self.conv.turn:
            await self.ask_current(prefix=self.t("button_expired"))
        elif press.verb == FORGET_VERB:
            await self.on_forget_button(press)
        elif press.verb == CANCEL_VERB:
            await self.on_cancel_button(press.arg == "yes")
        elif self.conv.state is None or self.machine is None:
            if press.verb == "cat" and self.e.flows.get(press.arg) is not None:
                await self.start_flow(press.arg)
            elif press.verb in SUSPECT_VERBS:
                await self.on_check_button(press)
            elif press.verb == DESCRIBED_VERB:
                await self.check_described()
            else:
                await self.ask_current(prefix=self.t("button_expired"))
        else:
            await self.on_step_button(press)

    async def on_global(self, press: Press) -> None:
        if press.verb in CASE_VERBS:
            await self.on_case_button(press)
        elif press.verb in PAPERWORK_VERBS:
            await self.on_paperwork_button(press)
        elif press.verb == "case":
            await self.show_case(press.arg)
        elif press.verb == "new":
            await self.on_command("new", "")
        elif press.verb == "resume":
            await self.ask_current()
        elif press.verb == "restart":
            self.abandon()
            await self.show_menu()
        else:
            await self.ask_current(prefix=self.t("button_expired"))

    async def on_check_command(self, text: str) -> None:
        if self.e.explainer is None:
            self.say(self.t("check_unavailable"))
        elif text:
            await self.check([Suspect(text, "pasted")], [])
        elif self.conv.state is not None:  # the next text answers the step in progress
            self.say(self.t("check_usage"))
        else:
            await self.ask_for_message()

    async def offer_resume(self) -> None:
        conv, state = self.conv, self.conv.state
        assert self.machine is not None and state is not None
        total = len(conv.history) + self.machine.remaining(state, conv.answers)
        self.say(
            self.t(
                "resume_prompt",
                title=pick(self.machine.flow.title, self.lang),
                n=min(len(conv.history) + 1, total),
                total=total,
            ),
            (
                (
                    Button(self.t("continue"), encode(GLOBAL, "resume")),
                    Button(self.t("start_over"), encode(GLOBAL, "restart")),
                ),
            ),
        )

    async def set_language(self, language: str) -> None:
        if language not in self.e.flows.languages:
            self.say(self.t("language_usage"))
            return
        self.conv.language = language
        self.dirty = True
        await self.save()
        if self.conv.state is not None:
            self.say(self.t("language_set"))
            await self.ask_current()
        else:
            await self.show_menu(prefix=self.t("language_set"))
