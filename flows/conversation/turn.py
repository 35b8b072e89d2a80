"""Moving one conversation through its flow: enter steps, save answers, file or drop the case."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from flows.conversation.callbacks import GLOBAL, decode, encode
from flows.definition import actions
from flows.definition.machine import FILED, FlowMachine
from flows.definition.schema import REMEDIES, Step
from flows.definition.texts import pick
from flows.model import Button, Incoming, Reply
from flows.records import CaseEvent, Conversation, NewCase, NewReminder, StepCommit

if TYPE_CHECKING:
    from flows.conversation.engine import Engine


CANCEL_VERB = "cxl"  # TURN:cxl:yes|no, the answer to "cancel this complaint?"
_CANCEL_ASKED = "cancel_asked"  # in the conversation's scratch: the turn it was asked at


class Turn:
    """The handling of one message: reads the conversation, changes it, saves, then speaks."""

    cancel_asked: int | None = None

    def __init__(self, engine: Engine, conv: Conversation, incoming: Incoming, fresh: bool) -> None:
        self.e = engine
        self.conv = conv
        self.incoming = incoming.valid()
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

    async def after_filing(self, number: str) -> None:
        """Follow a filing up (the letter); the paperwork turn fills this in."""

    async def after_escalation(self, number: str) -> None:
        """Follow a step up the ladder with the letter to the new channel (paperwork turn)."""

    def case_row(self, number: str) -> tuple[tuple[Button, ...], ...]:
        """Return the buttons every view of a case ends with (letter, channels, export)."""
        return ()

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

    async def advance(self, value: Any, prefix: str = "") -> None:
        """Save the answer to the current step and move to the step its routes lead to.

        `prefix` is said before the next question (what a typed answer was read as).
        """
        machine, conv, step = self.machine, self.conv, self.step
        assert machine is not None
        changed = conv.answers.get(step.id, value) != value
        conv.answers[step.id] = value
        for name in step.actions:
            conv.answers.update(actions.ACTIONS[name](conv.answers))
        if changed:
            self.drop_unoffered()
        target = await machine.fire("next", step.id, conv.answers)
        if target is None:
            raise RuntimeError(f"{machine.flow.ref}: no route out of '{step.id}'")
        conv.history.append(step.id)
        if conv.pending.get("editing"):
            if changed:
                self.event("edited", label=self.e.render.label(step, self.lang))
            # Only the questions the change opened up are asked; the rest keep their answers.
            while target != machine.flow.confirm_step and target in conv.answers:
                conv.history.append(target)
                target = machine.next_step(target, conv.answers) or machine.flow.confirm_step
        self.enter(target)
        await self.save()
        if step.expect == "choice" and (option := step.option(str(value))) and option.advice:
            self.say(pick(option.advice, self.lang))
        await self.ask_current(prefix=prefix)

    def drop_unoffered(self) -> None:
        """Drop what later answers chose that the changed answers no longer offer.

        A remedy offered for spam ("stop texting me") must not stay in a case changed to missing
        codes; a multi answer left empty, or a choice no longer offered, is asked again.
        """
        assert self.machine is not None
        answers = self.conv.answers
        for other in self.machine.flow.steps.values():
            answer = answers.get(other.id)
            if other.expect not in ("choice", "multi") or answer is None:
                continue
            offered = {o.id for o in other.shown(answers)}
            if other.expect == "choice" and answer not in offered:
                del answers[other.id]
            elif isinstance(answer, dict):
                kept = [o for o in answer.get("selected", []) if o in offered]
                if kept == list(answer.get("selected", [])):
                    continue
                if kept or answer.get("other"):
                    answers[other.id] = {**answer, "selected": kept}
                else:
                    del answers[other.id]

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

    async def retire_draft(self) -> None:
        """Drop an intake whose flow version is no longer deployed, and say so."""
        self.abandon()
        await self.save()
        self.say(self.t("flow_retired"))

    async def ask_cancel(self) -> None:
        """Ask before dropping the complaint; only the answer sent right after counts."""
        self.conv.pending[_CANCEL_ASKED] = self.conv.turn
        self.dirty = True
        await self.save()
        turn = self.conv.turn
        self.say(
            self.t("cancel_confirm"),
            (
                (
                    Button(self.t("cancel_yes"), encode(turn, CANCEL_VERB, "yes")),
                    Button(self.t("cancel_no"), encode(turn, CANCEL_VERB, "no")),
                ),
            ),
        )

    async def withdraw_cancel(self) -> None:
        """Take the pending cancel question out of the conversation (saved at once).

        Whatever the person sends next other than its answer withdraws it, so a "yes" found
        later in the chat cancels nothing.
        """
        self.cancel_asked = self.conv.pending.pop(_CANCEL_ASKED, None)
        if self.cancel_asked is not None:
            self.dirty = True
            await self.save()

    async def on_cancel_button(self, yes: bool) -> None:
        """Cancel on "yes" to the latest question; on "no" show the summary again."""
        if self.cancel_asked != self.conv.turn or self.conv.state is None:
            await self.ask_current(prefix=self.t("button_expired"))
        elif yes:
            await self.cancel()
        else:
            await self.ask_current(prefix=self.t("cancel_kept"))

    async def cancel(self) -> None:
        if self.conv.state is None:
            self.say(self.t("nothing_to_cancel"))
            return
        self.abandon()
        await self.save()
        self.say(self.t("cancelled"), ((Button(self.t("new_case"), encode(GLOBAL, "new")),),))

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
        # Only the questions on the final path make the case; derived answers are derived again
        # from them, so nothing from a branch the person later routed around slips in.
        answers = {s: conv.answers[s] for s in conv.history if s in conv.answers}
        for step_id in conv.history:
            for name in flow.steps[step_id].actions:
                answers.update(actions.ACTIONS[name](answers))
        remedies = answers.get(REMEDIES) or {}
        chosen = list(remedies.get("selected", [])) + (["other"] if remedies.get("other") else [])
        followups = self.e.followups
        filing = followups.filing(flow, answers, self.now, self.lang)
        due = filing.due
        self.commit.new_case = NewCase(
            category=flow.id,
            problem=answers.get("problem"),
            flow_id=flow.id,
            flow_version=flow.version,
            language=self.lang,
            answers=answers,
            remedies=chosen,
            created_at=self.now,
            state=followups.lifecycle.initial,
            rung=filing.rung,
            due_at=due.at if due else None,
            reminder=NewReminder("deadline", due.at) if due else None,
        )
        self.event("filed")
        if due is not None:
            channel = flow.ladder[filing.rung].channel
            self.event("deadline_set", channel=channel, day=due.day.isoformat())
        conv.flow_id = conv.flow_version = conv.state = None
        conv.answers, conv.history, conv.pending = {}, [], {}
        conv.turn += 1
        self.dirty = True
        number = await self.save()
        assert number is not None
        followups.filed(due)
        self.say(
            f"{self.t('filed', number=number)}\n\n{filing.message}",
            (
                (
                    Button(self.t("view_case"), encode(GLOBAL, "case", number)),
                    Button(self.t("new_case"), encode(GLOBAL, "new")),
                ),
            ),
        )
        await self.after_filing(number)
