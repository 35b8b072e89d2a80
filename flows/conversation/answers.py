"""Taking answers to the current step: typed text, choices, multi-choices, files and forwards."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date
from typing import Any

from flows.conversation.callbacks import Press, encode
from flows.conversation.context import TurnContext
from flows.conversation.evidence import Intake, summary_of
from flows.conversation.handlers.cancel import ask_cancel
from flows.conversation.handlers.intake import advance, back, edit, file_case
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


async def on_step_button(ctx: TurnContext, press: Press) -> None:
    """Take a button pressed under the current question (back, an option, done, file...)."""
    step, conv = ctx.step, ctx.conv
    verb, arg = press.verb, press.arg
    if verb == "back" and conv.pending.get("awaiting_other"):
        conv.pending["awaiting_other"] = False  # back from "other…" is back to the list
        await redraw(ctx)
    elif verb == "back":
        await back(ctx)
    elif verb == "keep" and step.id in conv.answers:
        await advance(ctx, conv.answers[step.id])
    elif verb == "skip" and (step.optional or (step.expect == "files" and step.min_files == 0)):
        await advance(ctx, conv.answers.get(step.id) or None)
    elif verb == "opt" and step.expect == "choice" and _offered(step, arg, conv.answers):
        await advance(ctx, arg)
    elif verb == "tog" and step.expect == "multi" and _offered(step, arg, conv.answers):
        selected = conv.pending.setdefault("selected", [])
        if arg in selected:
            selected.remove(arg)
        else:
            selected.append(arg)
        await redraw(ctx)
    elif verb == "oth" and step.expect == "multi" and step.other:
        conv.pending["awaiting_other"] = True
        ctx.dirty = True
        await ctx.save()
        rows = ((Button(ctx.t("back"), encode(conv.turn, "back")),),)
        ctx.replies.append(Reply(ctx.t("other_ask"), rows, expects_text=True))
    elif verb == "ok" and step.expect == "multi":
        await finish_multi(ctx)
    elif verb == "ok" and step.expect == "files":
        await finish_files(ctx)
    elif verb == "file" and step.expect == "confirm":
        await file_case(ctx)
    elif verb == "edit" and step.expect == "confirm" and arg in conv.history:
        await edit(ctx, arg)
    elif verb == "cancel":
        await ask_cancel(ctx)
    else:
        await ctx.ask_current(prefix=ctx.t("button_expired"))


async def redraw(ctx: TurnContext) -> None:
    """Save the step's scratch and show the question again (in place when a button was pressed)."""
    assert ctx.machine is not None
    ctx.dirty = True
    await ctx.save()
    pressed = ctx.incoming.button is not None
    render = ctx.services.render.redraw if pressed else ctx.services.render.question
    ctx.replies.append(render(ctx.machine, ctx.conv))


async def on_input(ctx: TurnContext) -> None:
    """Take what was typed or sent as the answer to the current question."""
    step, incoming = ctx.step, ctx.incoming
    if incoming.unsupported:
        await ctx.ask_current(prefix=ctx.t("unsupported_media"))
    elif step.expect == "files":
        if incoming.attachments or incoming.forward is not None:
            await take_files(ctx)
        else:
            await ctx.ask_current(prefix=ctx.t("files_text_instead"))
    elif incoming.attachments or not incoming.text:
        await ctx.ask_current(prefix=ctx.t("text_expected"))
    elif step.expect == "text":
        await answer_text(ctx, incoming.text)
    elif step.expect == "multi" and ctx.conv.pending.get("awaiting_other"):
        await take_other(ctx, incoming.text)
    elif step.expect in ("choice", "multi") and (option := match_option(ctx, incoming.text)):
        if step.expect == "choice":
            await advance(ctx, option)
        else:
            await on_step_button(ctx, Press(str(ctx.conv.turn), "tog", option))
    else:
        hint = "choose_or_other" if step.expect == "multi" and step.other else "choose_from_buttons"
        await ctx.ask_current(prefix=ctx.t(hint))


def match_option(ctx: TurnContext, text: str) -> str | None:
    """Return the option typed text names among those the step offers, if one."""
    return typed_option(ctx.step.shown(ctx.conv.answers), text, ctx.lang)


def length_problem(ctx: TurnContext, text: str) -> str | None:
    """Return what to say when a typed answer is too short or too long for the step."""
    step = ctx.step
    if visible_length(text) < step.min_length:
        return ctx.t("too_short", min=step.min_length)
    if len(text) > step.max_length:
        return ctx.t("too_long", length=len(text), max=step.max_length)
    return None


async def take_other(ctx: TurnContext, text: str) -> None:
    """Keep the typed "other" choice of a multi step, checked like any typed answer."""
    if problem := length_problem(ctx, text.strip()):
        # A new Reply (not an edit of the list): the person is answering a typed question.
        ctx.replies.append(
            Reply(
                f"{problem}\n\n{ctx.t('other_ask')}",
                ((Button(ctx.t("back"), encode(ctx.conv.turn, "back")),),),
                expects_text=True,
            )
        )
        return
    ctx.conv.pending["other"] = text.strip()
    ctx.conv.pending["awaiting_other"] = False
    await redraw(ctx)


async def answer_text(ctx: TurnContext, text: str) -> None:
    """Check and take a typed answer to a text step, or ask again saying why not."""
    step = ctx.step
    if problem := length_problem(ctx, text):
        await ctx.ask_current(prefix=problem)
        return
    try:
        value = typed_answer(step, text, ctx.now.astimezone(ctx.services.timezone).date())
    except actions.Invalid as refused:
        await ctx.ask_current(prefix=refusal(ctx, refused))
        return
    await advance(ctx, value, prefix=read_as(ctx, value))


def refusal(ctx: TurnContext, refused: actions.Invalid) -> str:
    """Return why a typed answer was refused: the validator's own hint, or the step's."""
    if refused.hint is None:
        return pick(ctx.step.hint or {}, ctx.lang)
    values = {
        k: typed_date.spoken(v, ctx.lang, weekday=False) if isinstance(v, date) else v
        for k, v in refused.values.items()
    }
    return ctx.t(refused.hint, **values)


def read_as(ctx: TurnContext, value: Any) -> str:
    """Return what a date or amount was read as, when the person did not write it so."""
    if not isinstance(value, Mapping):
        return ""
    typed = str(value.get("text", ""))
    if "date" in value and not typed_date.read_in_full(typed):
        day = typed_date.spoken(date.fromisoformat(str(value["date"])), ctx.lang)
        key = "date_read_as_part" if value.get("part") else "date_read_as"
        return ctx.t(key, date=day, typed=typed)
    if "amount" in value and re.sub(r"[^\d.]", "", typed) != value["amount"]:
        shown = actions.spoken_amount(str(value["amount"]), str(value["currency"]), ctx.lang)
        return ctx.t("amount_read_as", amount=shown)
    return ""


async def finish_multi(ctx: TurnContext) -> None:
    """Take the options ticked (and the typed "other") as the answer."""
    pending = ctx.conv.pending
    shown = ctx.step.shown(ctx.conv.answers)
    selected = [o.id for o in shown if o.id in pending.get("selected", [])]
    other = pending.get("other") or None
    if not selected and not other:
        await ctx.ask_current(prefix=ctx.t("multi_none_selected"))
        return
    await advance(ctx, {"selected": selected, "other": other})


async def take_files(ctx: TurnContext) -> None:
    """Keep the files and forwards just sent as evidence for the step."""
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


async def finish_files(ctx: TurnContext) -> None:
    """Take the evidence sent so far as the answer, when there is enough."""
    kept = ctx.conv.answers.get(ctx.step.id) or []
    if len(kept) < ctx.step.min_files:
        await ctx.ask_current(prefix=ctx.t("files_need_more", min=ctx.step.min_files))
        return
    await advance(ctx, kept or None)


def _offered(step: Step, option_id: str, answers: Mapping[str, Any]) -> bool:
    """Return True when `option_id` is one of the options the step offers for these answers."""
    return any(o.id == option_id for o in step.shown(answers))
