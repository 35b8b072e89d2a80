"""Taking answers: typed text, choices, multi-choices, files and forwards, per step kind."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date
from typing import Any

from flows.conversation.callbacks import Press, encode
from flows.conversation.evidence import Intake, summary_of
from flows.conversation.turn import Turn
from flows.conversation.typed_choice import typed_option
from flows.definition import actions, typed_date
from flows.definition.schema import Step
from flows.definition.texts import pick
from flows.model import Button, Reply

# Spaces, controls, line separators and format marks (zero-width, BOM, RTL/LTR marks) show nothing.
_INVISIBLE = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf"})


def visible_length(text: str) -> int:
    """Return how many characters of `text` show on screen (an answer of none is empty)."""
    return sum(unicodedata.category(ch) not in _INVISIBLE for ch in text)


def typed_answer(step: Step, text: str, today: date) -> Any:
    """Return the answer `text` gives a text step: checked, and parsed by its validator.

    Free text is kept exactly as written. Raises `actions.Invalid` when the step's pattern or
    validator refuses it (length is the caller's to check: it words those problems itself).
    """
    if step.pattern is not None and not step.pattern.fullmatch(text.strip()):
        raise actions.Invalid(text)
    if step.validate is None:
        return text
    context = actions.ValidationContext(today=today, currency=step.currency)
    return actions.VALIDATORS[step.validate](text, context)


class AnswerTurn(Turn):
    """Read what the person sent as an answer to the current step."""

    async def on_step_button(self, press: Press) -> None:
        step, conv = self.step, self.conv
        verb, arg = press.verb, press.arg
        if verb == "back" and conv.pending.get("awaiting_other"):
            conv.pending["awaiting_other"] = False  # back from "other…" is back to the list
            await self.redraw()
        elif verb == "back":
            await self.back()
        elif verb == "keep" and step.id in conv.answers:
            await self.advance(conv.answers[step.id])
        elif verb == "skip" and (step.optional or (step.expect == "files" and step.min_files == 0)):
            await self.advance(conv.answers.get(step.id) or None)
        elif verb == "opt" and step.expect == "choice" and _offered(step, arg, conv.answers):
            await self.advance(arg)
        elif verb == "tog" and step.expect == "multi" and _offered(step, arg, conv.answers):
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
            await self.ask_cancel()
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
            await self.take_other(incoming.text)
        elif step.expect in ("choice", "multi") and (option := self.match_option(incoming.text)):
            if step.expect == "choice":
                await self.advance(option)
            else:
                await self.on_step_button(Press(str(self.conv.turn), "tog", option))
        else:
            hint = (
                "choose_or_other"
                if step.expect == "multi" and step.other
                else "choose_from_buttons"
            )
            await self.ask_current(prefix=self.t(hint))

    def match_option(self, text: str) -> str | None:
        return typed_option(self.step.shown(self.conv.answers), text, self.lang)

    def length_problem(self, text: str) -> str | None:
        """Return what to say when a typed answer is too short or too long for the step."""
        step = self.step
        if visible_length(text) < step.min_length:
            return self.t("too_short", min=step.min_length)
        if len(text) > step.max_length:
            return self.t("too_long", length=len(text), max=step.max_length)
        return None

    async def take_other(self, text: str) -> None:
        """Keep the typed "other" choice of a multi step, checked like any typed answer."""
        if problem := self.length_problem(text.strip()):
            # A new Reply (not an edit of the list): the person is answering a typed question.
            self.replies.append(
                Reply(
                    f"{problem}\n\n{self.t('other_ask')}",
                    ((Button(self.t("back"), encode(self.conv.turn, "back")),),),
                    expects_text=True,
                )
            )
            return
        self.conv.pending["other"] = text.strip()
        self.conv.pending["awaiting_other"] = False
        await self.redraw()

    async def answer_text(self, text: str) -> None:
        step = self.step
        if problem := self.length_problem(text):
            await self.ask_current(prefix=problem)
            return
        try:
            value = typed_answer(step, text, self.now.astimezone(self.e.timezone).date())
        except actions.Invalid as refused:
            await self.ask_current(prefix=self.refusal(refused))
            return
        await self.advance(value, prefix=self.read_as(value))

    def refusal(self, refused: actions.Invalid) -> str:
        """Return why a typed answer was refused: the validator's own hint, or the step's."""
        if refused.hint is None:
            return pick(self.step.hint or {}, self.lang)
        values = {
            k: typed_date.spoken(v, self.lang, weekday=False) if isinstance(v, date) else v
            for k, v in refused.values.items()
        }
        return self.t(refused.hint, **values)

    def read_as(self, value: Any) -> str:
        """Return what a date or amount was read as, when the person did not write it so."""
        if not isinstance(value, Mapping):
            return ""
        typed = str(value.get("text", ""))
        if "date" in value and not typed_date.read_in_full(typed):
            day = typed_date.spoken(date.fromisoformat(str(value["date"])), self.lang)
            key = "date_read_as_part" if value.get("part") else "date_read_as"
            return self.t(key, date=day, typed=typed)
        if "amount" in value and re.sub(r"[^\d.]", "", typed) != value["amount"]:
            shown = actions.spoken_amount(str(value["amount"]), str(value["currency"]), self.lang)
            return self.t("amount_read_as", amount=shown)
        return ""

    async def finish_multi(self) -> None:
        pending = self.conv.pending
        shown = self.step.shown(self.conv.answers)
        selected = [o.id for o in shown if o.id in pending.get("selected", [])]
        other = pending.get("other") or None
        if not selected and not other:
            await self.ask_current(prefix=self.t("multi_none_selected"))
            return
        await self.advance({"selected": selected, "other": other})

    async def take_files(self) -> None:
        step, conv = self.step, self.conv
        assert conv.draft_id is not None
        kept = list(conv.answers.get(step.id) or [])
        known = {k["sha256"] for k in kept}
        intake = Intake()
        for part in (self.incoming, *self.incoming.batch):  # a burst of forwards is one message
            taken = await self.e.evidence.take(
                part,
                draft_id=conv.draft_id,
                step=step.id,
                known=known,
                room=max(0, step.max_files - len(kept) - len(intake.records)),
                now=self.now,
            )
            intake.records += taken.records
            intake.problems += taken.problems
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


def _offered(step: Step, option_id: str, answers: Mapping[str, Any]) -> bool:
    """Return True when `option_id` is one of the options the step offers for these answers."""
    return any(o.id == option_id for o in step.shown(answers))
