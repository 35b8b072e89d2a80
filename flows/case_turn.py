"""A message about a filed case: follow-up answers, "I sent it", ratings and comments."""

from __future__ import annotations

from flows.callbacks import GLOBAL, Press, encode
from flows.followup import OUTCOMES, SNOOZE_DAYS
from flows.model import Button
from flows.turn import Turn
from flows.typed_text import normalised

# Global button verbs about a case: g:VERB:NUMBER[:ARG]
CASE_VERBS = frozenset({"fu", "snz", "sent", "ans", "rate", "cmt"})


class CaseTurn(Turn):
    """Handle the buttons of follow-up questions and of the case view."""

    async def on_case_button(self, press: Press) -> None:
        number, _, arg = press.arg.partition(":")
        followups = self.e.followups
        key, lang = self.conv.key, self.lang
        if press.verb == "fu" and arg in OUTCOMES:
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
