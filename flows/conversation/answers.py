"""Taking answers: typed text, choices, multi-choices, files and forwards, per step kind.

What a press or a typed text means is the step kind's (`flows.definition.steps`); this applies
the outcome: it saves, moves on, asks again, and stores the files that arrive.
"""

from __future__ import annotations

from flows.conversation.callbacks import Press
from flows.conversation.evidence import Intake, summary_of
from flows.conversation.turn import Turn
from flows.definition.steps import kind_of
from flows.definition.steps.kind import Answer, Change, Hand, Moment, Refuse, Taken, visible_length
from flows.definition.steps.text import typed_answer

__all__ = ["AnswerTurn", "typed_answer", "visible_length"]


class AnswerTurn(Turn):
    """Read what the person sent as an answer to the current step."""

    def moment(self) -> Moment:
        """Return the conversation as the step's kind sees it, today in the configured zone."""
        return self.e.render.moment(self.conv, self.now.astimezone(self.e.timezone).date())

    async def on_step_button(self, press: Press) -> None:
        step, conv = self.step, self.conv
        verb, arg = press.verb, press.arg
        taken = kind_of(step).press(step, verb, arg, self.moment())
        if taken is not None:
            await self.apply_taken(taken)
        elif verb == "back":
            await self.back()
        elif verb == "keep" and step.id in conv.answers:
            await self.advance(conv.answers[step.id])
        elif verb == "cancel":
            await self.ask_cancel()
        else:
            await self.ask_current(prefix=self.t("button_expired"))

    async def apply_taken(self, taken: Taken) -> None:
        """Do what the step's kind made of a press or a typed text."""
        if isinstance(taken, Answer):
            await self.advance(taken.value, prefix=taken.note)
        elif isinstance(taken, Refuse) and taken.prompt is not None:
            self.replies.append(self.e.render.prompt(taken.prompt, self.conv))
        elif isinstance(taken, Refuse):
            await self.ask_current(prefix=taken.text)
        elif isinstance(taken, Change):
            self.conv.pending.update(taken.pending)
            if taken.prompt is None:
                await self.redraw()
                return
            self.dirty = True
            await self.save()
            self.replies.append(self.e.render.prompt(taken.prompt, self.conv))
        elif isinstance(taken, Hand) and taken.action == "file":
            await self.file_case()
        elif isinstance(taken, Hand) and taken.action == "edit" and taken.arg in self.conv.history:
            await self.edit(taken.arg)
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
        kind = kind_of(step)
        if incoming.unsupported:
            await self.ask_current(prefix=self.t("unsupported_media"))
        elif kind.takes_files and (incoming.attachments or incoming.forward is not None):
            await self.take_files()
        elif not kind.takes_files and (incoming.attachments or not incoming.text):
            await self.ask_current(prefix=self.t("text_expected"))
        else:
            await self.apply_taken(kind.typed(step, incoming.text or "", self.moment()))

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
