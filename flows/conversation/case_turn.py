"""A message about a filed case: follow-up answers, "I sent it", ratings and comments."""

from __future__ import annotations

from flows.conversation.callbacks import GLOBAL, Press, encode
from flows.conversation.followup import OUTCOMES, SNOOZE_DAYS
from flows.conversation.turn import Turn
from flows.definition.typed_text import normalised
from flows.model import Button

NOTE_LIMIT = 500  # characters of a ticket number or an answer kept for the letters

# Global button verbs about a case: g:VERB:NUMBER[:ARG]
CASE_VERBS = frozenset({"fu", "snz", "sent", "ans", "rate", "cmt", "note"})
# What a move asks first, so the next letter can quote it: the ticket number the channel gave,
# or what it answered. Both can be skipped.
_NOTE_FIRST = {"no_answer": "ticket", "unsatisfied": "answer"}
# After "I sent it" (recorded at once), the ticket number is asked for and kept as its own event.
_NOTE_AFTER = {"ticket": "ticket"}


class CaseTurn(Turn):
    """Handle the buttons of follow-up questions and of the case view."""

    async def on_case_button(self, press: Press) -> None:
        number, _, arg = press.arg.partition(":")
        followups = self.e.followups
        key, lang = self.conv.key, self.lang
        trigger = "sent" if press.verb == "sent" else arg if press.verb == "fu" else ""
        if trigger == "sent" and self.conv.state is None:
            # Recorded at once (the deadline counts from today), then the ticket is asked for.
            moved = await followups.apply(key, number, "sent", lang)
            self.replies += moved
            case = await self.e.store.get_case(key, number)
            if case is not None and any(e.kind == "sent" for e in case.events[-1:]):
                await self.ask_case_note(number, "ticket")
        elif trigger in _NOTE_FIRST and self.conv.state is None:
            await self.ask_case_note(number, trigger)
        elif press.verb == "note" and arg == "skip" and self.conv.pending.get("case_note"):
            await self.take_case_note(None)
        elif press.verb == "fu" and arg in OUTCOMES:
            before = await self.e.store.get_case(key, number)
            self.replies += await followups.apply(key, number, arg, lang)
            after = await self.e.store.get_case(key, number)
            if before is not None and after is not None and after.rung != before.rung:
                await self.after_escalation(number)
        elif press.verb == "snz" and not arg:
            self.replies.append(followups.snooze_question(number, lang))
        elif press.verb == "snz" and arg.isdigit() and int(arg) in SNOOZE_DAYS:
            self.replies += await followups.apply(key, number, "snooze", lang, days=int(arg))
        elif press.verb == "sent":
            self.replies += await followups.apply(key, number, "sent", lang)
        elif press.verb == "ans":
            case = await self.e.store.get_case(key, number)
            if case is None:
                self.say(self.t("case_not_found", number=number[:40]))
            else:
                self.replies.append(followups.question(case, lang, key="replied_question"))
        elif press.verb == "rate" and arg.isdigit() and 1 <= int(arg) <= 5:
            await self.rate(number, int(arg))
        elif press.verb == "cmt":
            self.conv.pending.pop("comment_for", None)
            self.dirty = True
            await self.save()
            await self.ask_current()
        else:
            await self.ask_current(prefix=self.t("button_expired"))

    async def ask_case_note(self, number: str, trigger: str) -> None:
        """Ask for the ticket number or the answer before moving the case by `trigger`."""
        case = await self.e.store.get_case(self.conv.key, number)
        if case is None:
            self.say(self.t("case_not_found", number=number[:40]))
            return
        refusal = (
            self.e.followups.refusal(case, trigger, self.lang) if trigger in _NOTE_FIRST else None
        )
        if refusal is not None:
            self.replies.append(refusal)
            return
        what = _NOTE_FIRST.get(trigger) or _NOTE_AFTER[trigger]
        self.conv.pending["case_note"] = {"number": number, "then": trigger, "ask": what}
        self.dirty = True
        await self.save()
        channel = self.e.followups.current_channel(case, self.lang)
        skip = Button(self.t("skip"), encode(GLOBAL, "note", f"{number}:skip"))
        self.say(self.t(f"note_{what}_ask", channel=channel), ((skip,),))

    async def drop_stale_case_note(self) -> None:
        """Forget the ticket/answer question once the person moves on.

        A move it was asked before ("no answer", "not satisfied") still happens, without it: the
        person pressed that button, and the case must not wait on a question they passed over.
        """
        asking = self.conv.pending.get("case_note")
        self.drop_question_on_move("case_note", "note")
        dropped = isinstance(asking, dict) and "case_note" not in self.conv.pending
        if dropped and isinstance(asking, dict) and asking.get("then") in _NOTE_FIRST:
            await self.move_case(str(asking["number"]), str(asking["then"]), None)

    def takes_case_note(self) -> bool:
        """Return True when this message answers the ticket or answer question."""
        return self.answers_question("case_note")

    async def take_case_note(self, text: str | None) -> None:
        """Move the case as the person asked, with the ticket number or answer they typed."""
        asking = dict(self.conv.pending.pop("case_note"))
        self.dirty = True
        number, trigger, what = str(asking["number"]), str(asking["then"]), str(asking["ask"])
        note = {what: " ".join(text.split())[:NOTE_LIMIT]} if text and text.strip() else None
        if trigger in _NOTE_AFTER:
            if note is not None:
                await self.e.followups.note(self.conv.key, number, note)
                self.say(self.t("note_saved", number=number))
            await self.save()
            return
        await self.move_case(number, trigger, note)
        await self.save()

    async def move_case(self, number: str, trigger: str, note: dict[str, str] | None) -> None:
        """Move the case by `trigger`, with what the person told; a new rung gets its letter."""
        before = await self.e.store.get_case(self.conv.key, number)
        self.replies += await self.e.followups.apply(
            self.conv.key, number, trigger, self.lang, note=note
        )
        after = await self.e.store.get_case(self.conv.key, number)
        if before is not None and after is not None and after.rung != before.rung:
            await self.after_escalation(number)

    async def rate(self, number: str, rating: int) -> None:
        if not await self.e.followups.rate(self.conv.key, number, rating, self.lang):
            await self.show_case(number)
            return
        if self.conv.state is not None:
            # An intake is in progress: its next text is an answer, not a comment.
            self.say(self.t("rated_busy"))
            await self.ask_current()
            return
        self.conv.pending["comment_for"] = number
        self.dirty = True
        await self.save()
        self.say(self.t("rated"), ((Button(self.t("skip"), encode(GLOBAL, "cmt", number)),),))

    async def take_comment(self) -> None:
        number = str(self.conv.pending.pop("comment_for"))
        self.dirty = True
        text = (self.incoming.text or "").strip()
        if text and await self.e.followups.comment(self.conv.key, number, text):
            await self.save()
            self.say(self.t("comment_saved", number=number))
            return
        await self.save()
        await self.show_menu()

    async def show_case(self, number: str) -> None:
        number = normalised(number).strip().upper()  # typed full-width or with zero-width marks
        if not number:
            self.say(self.t("case_usage"))
            return
        case = await self.e.store.get_case(self.conv.key, number[:40])
        if case is None:
            self.say(self.t("case_not_found", number=number[:40]))
            return
        followups = self.e.followups
        self.replies.append(
            self.e.render.case_view(
                case,
                self.lang,
                extra=followups.case_lines(case, self.lang),
                actions=(*followups.case_buttons(case, self.lang), *self.case_row(case.number)),
            )
        )
