"""Taking answers: typed text, choices, multi-choices, files and forwards, per step kind.

What a press or a typed text means is the step kind's (`flows.definition.steps`); this applies
the outcome: it saves, moves on, asks again, and stores the files that arrive.
"""

from __future__ import annotations

from flows.conversation.callbacks import Press
from flows.conversation.context import TurnContext
from flows.conversation.evidence import Intake, summary_of
from flows.conversation.handlers.cancel import ask_cancel
from flows.conversation.handlers.intake import advance, back, edit, file_case
from flows.definition.steps import kind_of
from flows.definition.steps.kind import Answer, Change, Hand, Moment, Refuse, Taken, visible_length
from flows.definition.steps.text import typed_answer

__all__ = ["on_input", "on_step_button", "typed_answer", "visible_length"]


def moment(ctx: TurnContext) -> Moment:
    """Return the conversation as the step's kind sees it, today in the configured zone."""
    today = ctx.now.astimezone(ctx.services.timezone).date()
    return ctx.services.render.moment(ctx.conv, today)


async def on_step_button(ctx: TurnContext, press: Press) -> None:
    """Take a button pressed under the current question (an option, back, keep, cancel...)."""
    step, conv = ctx.step, ctx.conv
    verb, arg = press.verb, press.arg
    taken = kind_of(step).press(step, verb, arg, moment(ctx))
    if taken is not None:
        await apply_taken(ctx, taken)
    elif verb == "back":
        await back(ctx)
    elif verb == "keep" and step.id in conv.answers:
        await advance(ctx, conv.answers[step.id])
    elif verb == "cancel":
        await ask_cancel(ctx)
    else:
        await ctx.ask_current(prefix=ctx.t("button_expired"))


async def apply_taken(ctx: TurnContext, taken: Taken) -> None:
    """Do what the step's kind made of a press or a typed text."""
    render = ctx.services.render
    if isinstance(taken, Answer):
        await advance(ctx, taken.value, prefix=taken.note)
    elif isinstance(taken, Refuse) and taken.prompt is not None:
        ctx.replies.append(render.prompt(taken.prompt, ctx.conv))
    elif isinstance(taken, Refuse):
        await ctx.ask_current(prefix=taken.text)
    elif isinstance(taken, Change):
        ctx.conv.pending.update(taken.pending)
        if taken.prompt is None:
            await redraw(ctx)
            return
        ctx.dirty = True
        await ctx.save()
        ctx.replies.append(render.prompt(taken.prompt, ctx.conv))
    elif isinstance(taken, Hand) and taken.action == "file":
        await file_case(ctx)
    elif isinstance(taken, Hand) and taken.action == "edit" and taken.arg in ctx.conv.history:
        await edit(ctx, taken.arg)
    else:
        await ctx.ask_current(prefix=ctx.t("button_expired"))


async def redraw(ctx: TurnContext) -> None:
    """Save and show the current question again (edited in place when a button was pressed)."""
    assert ctx.machine is not None
    ctx.dirty = True
    await ctx.save()
    pressed = ctx.incoming.button is not None
    render = ctx.services.render.redraw if pressed else ctx.services.render.question
    ctx.replies.append(render(ctx.machine, ctx.conv))


async def on_input(ctx: TurnContext) -> None:
    """Take what was typed or sent as the answer to the current step."""
    step, incoming = ctx.step, ctx.incoming
    kind = kind_of(step)
    if incoming.unsupported:
        await ctx.ask_current(prefix=ctx.t("unsupported_media"))
    elif kind.takes_files and (incoming.attachments or incoming.forward is not None):
        await take_files(ctx)
    elif not kind.takes_files and (incoming.attachments or not incoming.text):
        await ctx.ask_current(prefix=ctx.t("text_expected"))
    else:
        await apply_taken(ctx, kind.typed(step, incoming.text or "", moment(ctx)))


async def take_files(ctx: TurnContext) -> None:
    """Store the files and forwards that arrived as evidence for the current step."""
    step, conv = ctx.step, ctx.conv
    assert conv.draft_id is not None
    kept = list(conv.answers.get(step.id) or [])
    known = {k["sha256"] for k in kept}
    intake = Intake()
    for part in (ctx.incoming, *ctx.incoming.batch):  # a burst of forwards is one message
        taken = await ctx.services.evidence.take(
            part,
            draft_id=conv.draft_id,
            step=step.id,
            known=known,
            room=max(0, step.max_files - len(kept) - len(intake.records)),
            now=ctx.now,
        )
        intake.records += taken.records
        intake.problems += taken.problems
    problems = [ctx.t(key, **values) for key, values in intake.problems]
    if intake.records:
        kept.extend(summary_of(r) for r in intake.records)
        conv.answers[step.id] = kept
        ctx.commit.evidence.extend(intake.records)
        ctx.event("evidence", count=len(intake.records))
        ctx.dirty = True
        await ctx.save()
        problems.insert(0, ctx.t("files_received", count=len(intake.records), total=len(kept)))
    assert ctx.machine is not None
    ctx.replies.append(ctx.services.render.question(ctx.machine, conv, "\n".join(problems)))
