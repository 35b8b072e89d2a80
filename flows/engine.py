"""The engine: one message in, replies out; every step committed before the replies are returned."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from flows import actions
from flows.callbacks import GLOBAL, Press, decode, encode
from flows.evidence import EvidenceTaker, summary_of
from flows.machine import FILED, FlowMachine
from flows.model import Button, Incoming, Reply
from flows.render import Renderer
from flows.schema import FlowSet, Step
from flows.store import CaseEvent, Conversation, NewCase, StepCommit, Store
from flows.texts import pick

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
    ) -> None:
        self.flows = flows
        self.store = store
        self.timezone = timezone
        self.clock = clock
        self.default_language = default_language
        self.machines = {key: FlowMachine(flow) for key, flow in flows.flows.items()}
        self.render = Renderer(flows, timezone)
        self.evidence = EvidenceTaker(store, max_file_size)

    async def handle(self, incoming: Incoming) -> list[Reply]:
        """Answer one message; on any failure nothing is half-saved and the person is told."""
        conv = await self.store.load_conversation(incoming.key)
        language = conv.language if conv else self.default_language
        try:
            turn = _Turn(self, conv or self._new(incoming), incoming, fresh=conv is None)
            await turn.run()
        except Exception:
            log.exception("could not handle a message from %s", incoming.key.messenger)
            return [Reply(self.flows.catalog("internal_error", language))]
        return turn.replies

    def _new(self, incoming: Incoming) -> Conversation:
        return Conversation(incoming.key, incoming.chat_id, self.default_language)


class _Turn:
    """The handling of one message: reads the conversation, changes it, saves, then speaks."""

    def __init__(self, engine: Engine, conv: Conversation, incoming: Incoming, fresh: bool) -> None:
        self.e = engine
        self.conv = conv
        self.incoming = incoming
        self.fresh = fresh
        self.replies: list[Reply] = []
        self.commit = StepCommit(conv)
        self.dirty = False
        self.now = engine.clock()
        conv.chat_id = incoming.chat_id

    @property
    def lang(self) -> str:
        return self.conv.language

    def t(self, key: str, **values: Any) -> str:
        return self.e.flows.catalog(key, self.lang, **values)

    def say(self, text: str, buttons: tuple[tuple[Button, ...], ...] = ()) -> None:
        self.replies.append(Reply(text, buttons))

    def event(self, kind: str, **data: Any) -> None:
        self.commit.events.append(CaseEvent(kind, self.now, data))

    async def save(self) -> str | None:
        """Commit what this message changed; return the case number when one was filed."""
        if not (self.dirty or self.commit.events or self.commit.evidence or self.commit.new_case):
            return None
        self.conv.updated_at = self.now
        number = await self.e.store.commit(self.commit)
        self.commit = StepCommit(self.conv)
        self.dirty = False
        return number

    # -- dispatch -------------------------------------------------------------------------

    async def run(self) -> None:
        command = self.incoming.command
        if command is not None:
            await self.on_command(*command)
        elif self.incoming.button is not None:
            await self.on_button(self.incoming.button)
        elif self.conv.state is None or self.machine is None:
            await self.show_menu(prefix=self.t("idle_hint") if not self.fresh else "")
        else:
            await self.on_input()

    @property
    def machine(self) -> FlowMachine | None:
        conv = self.conv
        if conv.flow_id is None or conv.flow_version is None:
            return None
        return self.e.machines.get((conv.flow_id, conv.flow_version))

    @property
    def step(self) -> Step:
        assert self.machine is not None and self.conv.state is not None
        return self.machine.flow.steps[self.conv.state]

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
        elif name == "help":
            self.say(self.t("help"))
        else:
            self.say(self.t("unknown_command", command=f"/{name}"[:40]))

    async def on_button(self, data: str) -> None:
        press = decode(data)
        if press is not None and press.is_global:
            await self.on_global(press)
        elif press is None or int(press.turn) != self.conv.turn:
            await self.ask_current(prefix=self.t("button_expired"))
        elif self.conv.state is None or self.machine is None:
            if press.verb == "cat" and self.e.flows.get(press.arg) is not None:
                await self.start_flow(press.arg)
            else:
                await self.ask_current(prefix=self.t("button_expired"))
        else:
            await self.on_step_button(press)

    async def on_global(self, press: Press) -> None:
        if press.verb == "case":
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

    # -- moving through a flow -------------------------------------------------------------

    async def show_menu(self, *, greeting: bool = False, prefix: str = "") -> None:
        self.conv.turn += 1
        self.dirty = True
        await self.save()
        menu = self.e.render.menu(self.conv, greeting=greeting)
        text = f"{prefix}\n\n{menu.text}" if prefix else menu.text
        self.replies.append(Reply(text, menu.buttons))

    async def ask_current(self, prefix: str = "") -> None:
        if self.conv.state is None or self.machine is None:
            await self.show_menu(prefix=prefix)
            return
        self.replies.append(self.e.render.question(self.machine, self.conv, prefix))

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

    async def start_flow(self, flow_id: str) -> None:
        flow = self.e.flows.get(flow_id)
        assert flow is not None
        conv = self.conv
        conv.flow_id, conv.flow_version = flow.id, flow.version
        conv.answers, conv.history = {}, []
        conv.draft_id = uuid.uuid4().hex
        self.enter(flow.first)
        self.event("started", flow=flow.ref)
        await self.save()
        if flow.intro:
            self.say(pick(flow.intro, self.lang))
        await self.ask_current()

    def enter(self, state: str) -> None:
        """Move to `state`: a new turn (older buttons expire) and fresh scratch for the step."""
        conv = self.conv
        editing = conv.pending.get("editing") and state != self.machine_confirm()
        conv.state = state
        conv.turn += 1
        conv.pending = {"editing": True} if editing else {}
        step = self.step
        previous = conv.answers.get(state)
        if step.expect == "multi" and isinstance(previous, dict):
            conv.pending["selected"] = list(previous.get("selected", []))
            conv.pending["other"] = previous.get("other")
        self.dirty = True

    def machine_confirm(self) -> str:
        assert self.machine is not None
        return self.machine.flow.confirm_step

    async def advance(self, value: Any) -> None:
        """Save the answer to the current step and move to the step its routes lead to."""
        machine, conv, step = self.machine, self.conv, self.step
        assert machine is not None
        conv.answers[step.id] = value
        for name in step.actions:
            conv.answers.update(actions.ACTIONS[name](conv.answers))
        target = await machine.fire("next", step.id, conv.answers)
        if target is None:
            raise RuntimeError(f"{machine.flow.ref}: no route out of '{step.id}'")
        conv.history.append(step.id)
        if conv.pending.get("editing"):
            self.event("edited", label=self.e.render.label(step, self.lang))
            # Only the questions the change opened up are asked; the rest keep their answers.
            while target != machine.flow.confirm_step and target in conv.answers:
                conv.history.append(target)
                target = machine.next_step(target, conv.answers) or machine.flow.confirm_step
        self.enter(target)
        await self.save()
        if step.expect == "choice" and (option := step.option(str(value))) and option.advice:
            self.say(pick(option.advice, self.lang))
        await self.ask_current()

    async def back(self) -> None:
        conv = self.conv
        if not conv.history:
            self.abandon()
            await self.show_menu()
            return
        conv.pending.pop("editing", None)
        self.enter(conv.history.pop())
        await self.save()
        await self.ask_current()

    def abandon(self) -> None:
        """Drop the intake in progress, with the evidence uploaded for it."""
        conv = self.conv
        if conv.draft_id and conv.state is not None:
            self.commit.discard_draft = conv.draft_id
        conv.flow_id = conv.flow_version = conv.state = None
        conv.answers, conv.history, conv.pending = {}, [], {}
        self.dirty = True

    async def cancel(self) -> None:
        if self.conv.state is None:
            self.say(self.t("nothing_to_cancel"))
            return
        self.abandon()
        await self.save()
        self.say(self.t("cancelled"), ((Button(self.t("new_case"), encode(GLOBAL, "new")),),))

    # -- answers ---------------------------------------------------------------------------

    async def on_step_button(self, press: Press) -> None:
        step, conv = self.step, self.conv
        verb, arg = press.verb, press.arg
        if verb == "back":
            await self.back()
        elif verb == "keep" and step.id in conv.answers:
            await self.advance(conv.answers[step.id])
        elif verb == "skip" and (step.optional or (step.expect == "files" and step.min_files == 0)):
            await self.advance(conv.answers.get(step.id) or None)
        elif verb == "opt" and step.expect == "choice" and step.option(arg):
            await self.advance(arg)
        elif verb == "tog" and step.expect == "multi" and step.option(arg):
            selected = conv.pending.setdefault("selected", [])
            if arg in selected:
                selected.remove(arg)
            else:
                selected.append(arg)
            await self.redraw()
        elif verb == "oth" and step.expect == "multi" and step.other:
            conv.pending["awaiting_other"] = True
            self.dirty = True
            await self.save()
            back = ((Button(self.t("back"), encode(conv.turn, "back")),),)
            self.replies.append(Reply(self.t("other_ask"), back, expects_text=True))
        elif verb == "ok" and step.expect == "multi":
            await self.finish_multi()
        elif verb == "ok" and step.expect == "files":
            await self.finish_files()
        elif verb == "file" and step.expect == "confirm":
            await self.file_case()
        elif verb == "edit" and step.expect == "confirm" and arg in conv.history:
            await self.edit(arg)
        elif verb == "cancel":
            await self.cancel()
        else:
            await self.ask_current(prefix=self.t("button_expired"))

    async def redraw(self) -> None:
        assert self.machine is not None
        self.dirty = True
        await self.save()
        pressed = self.incoming.button is not None
        render = self.e.render.redraw if pressed else self.e.render.question
        self.replies.append(render(self.machine, self.conv))

    async def on_input(self) -> None:
        step, incoming = self.step, self.incoming
        if incoming.unsupported:
            await self.ask_current(prefix=self.t("unsupported_media"))
        elif step.expect == "files":
            if incoming.attachments or incoming.forward is not None:
                await self.take_files()
            else:
                await self.ask_current(prefix=self.t("files_text_instead"))
        elif incoming.attachments or not incoming.text:
            await self.ask_current(prefix=self.t("text_expected"))
        elif step.expect == "text":
            await self.answer_text(incoming.text)
        elif step.expect == "multi" and self.conv.pending.get("awaiting_other"):
            self.conv.pending["other"] = incoming.text.strip()[: step.max_length]
            self.conv.pending["awaiting_other"] = False
            await self.redraw()
        elif step.expect in ("choice", "multi") and (option := self.match_option(incoming.text)):
            if step.expect == "choice":
                await self.advance(option)
            else:
                await self.on_step_button(Press(str(self.conv.turn), "tog", option))
        else:
            await self.ask_current(prefix=self.t("choose_from_buttons"))

    def match_option(self, text: str) -> str | None:
        wanted = text.strip().casefold()
        for option in self.step.options:
            if wanted in (option.id, *(label.casefold() for label in option.label.values())):
                return option.id
        return None

    async def answer_text(self, text: str) -> None:
        step = self.step
        stripped = text.strip()
        if len(stripped) < step.min_length:
            await self.ask_current(prefix=self.t("too_short", min=step.min_length))
            return
        if len(text) > step.max_length:
            await self.ask_current(prefix=self.t("too_long", length=len(text), max=step.max_length))
            return
        value: Any = text  # free text is kept exactly as the person wrote it
        try:
            if step.pattern is not None and not step.pattern.fullmatch(stripped):
                raise actions.Invalid(text)
            if step.validate is not None:
                today = self.now.astimezone(self.e.timezone).date()
                context = actions.ValidationContext(today=today, currency=step.currency)
                value = actions.VALIDATORS[step.validate](text, context)
        except actions.Invalid:
            await self.ask_current(prefix=pick(step.hint or {}, self.lang))
            return
        await self.advance(value)

    async def finish_multi(self) -> None:
        pending = self.conv.pending
        selected = [o.id for o in self.step.options if o.id in pending.get("selected", [])]
        other = pending.get("other") or None
        if not selected and not other:
            await self.ask_current(prefix=self.t("multi_none_selected"))
            return
        await self.advance({"selected": selected, "other": other})

    async def take_files(self) -> None:
        step, conv = self.step, self.conv
        assert conv.draft_id is not None
        kept = list(conv.answers.get(step.id) or [])
        intake = await self.e.evidence.take(
            self.incoming,
            draft_id=conv.draft_id,
            step=step.id,
            known={k["sha256"] for k in kept},
            room=max(0, step.max_files - len(kept)),
            now=self.now,
        )
        problems = [self.t(key, **values) for key, values in intake.problems]
        if intake.records:
            kept.extend(summary_of(r) for r in intake.records)
            conv.answers[step.id] = kept
            self.commit.evidence.extend(intake.records)
            self.event("evidence", count=len(intake.records))
            self.dirty = True
            await self.save()
            problems.insert(0, self.t("files_received", count=len(intake.records), total=len(kept)))
        assert self.machine is not None
        self.replies.append(self.e.render.question(self.machine, conv, "\n".join(problems)))

    async def finish_files(self) -> None:
        kept = self.conv.answers.get(self.step.id) or []
        if len(kept) < self.step.min_files:
            await self.ask_current(prefix=self.t("files_need_more", min=self.step.min_files))
            return
        await self.advance(kept or None)

    async def edit(self, step_id: str) -> None:
        machine, conv = self.machine, self.conv
        assert machine is not None and conv.state is not None
        target = await machine.fire(f"edit_{step_id}", conv.state, conv.answers)
        if target is None:
            await self.ask_current(prefix=self.t("button_expired"))
            return
        conv.history = conv.history[: conv.history.index(step_id)]
        conv.pending = {"editing": True}
        self.enter(target)
        await self.save()
        await self.ask_current()

    async def file_case(self) -> None:
        machine, conv = self.machine, self.conv
        assert machine is not None and conv.state is not None
        if await machine.fire("confirm", conv.state, conv.answers) != FILED:
            await self.ask_current(prefix=self.t("button_expired"))
            return
        flow = machine.flow
        on_path = set(conv.history)
        # Answers to questions the person later routed around are not part of the case.
        answers = {k: v for k, v in conv.answers.items() if k in on_path or k not in flow.steps}
        remedies = answers.get("remedies") or {}
        chosen = list(remedies.get("selected", [])) + (["other"] if remedies.get("other") else [])
        self.commit.new_case = NewCase(
            category=flow.id,
            problem=answers.get("problem"),
            flow_id=flow.id,
            flow_version=flow.version,
            language=self.lang,
            answers=answers,
            remedies=chosen,
            created_at=self.now,
        )
        self.event("filed")
        conv.flow_id = conv.flow_version = conv.state = None
        conv.answers, conv.history, conv.pending = {}, [], {}
        conv.turn += 1
        self.dirty = True
        number = await self.save()
        assert number is not None
        self.say(
            self.t("filed", number=number),
            (
                (
                    Button(self.t("view_case"), encode(GLOBAL, "case", number)),
                    Button(self.t("new_case"), encode(GLOBAL, "new")),
                ),
            ),
        )

    # -- settings and cases ----------------------------------------------------------------

    async def set_language(self, language: str) -> None:
        if language not in self.e.flows.languages:
            self.say(self.t("language_usage"))
            return
        self.conv.language = language
        self.dirty = True
        await self.save()
        self.say(self.t("language_set"))
        if self.conv.state is not None:
            await self.ask_current()

    async def show_case(self, number: str) -> None:
        number = number.strip().upper()
        if not number:
            self.say(self.t("case_usage"))
            return
        case = await self.e.store.get_case(self.conv.key, number[:40])
        if case is None:
            self.say(self.t("case_not_found", number=number[:40]))
            return
        self.replies.append(self.e.render.case_view(case, self.lang))
