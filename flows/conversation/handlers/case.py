"""A message about a filed case: follow-up answers, "I sent it", ratings and comments."""

from __future__ import annotations

from flows.conversation.callbacks import GLOBAL, Press, data_number, encode
from flows.conversation.context import TurnContext
from flows.conversation.followup import OUTCOMES, SNOOZE_DAYS
from flows.conversation.handlers import paperwork
from flows.definition.typed_text import normalised
from flows.model import Button

NOTE_LIMIT = 500  # characters of a ticket number or an answer kept for the letters

# What a move asks first, so the next letter can quote it: the ticket number the channel gave,
# or what it answered. Both can be skipped.
_NOTE_FIRST = {"no_answer": "ticket", "unsatisfied": "answer"}
# After "I sent it" (recorded at once), the ticket number is asked for and kept as its own event.
_NOTE_AFTER = {"ticket": "ticket"}


async def on_followup(ctx: TurnContext, press: Press) -> None:
    """Take an answer to "has the channel answered?" (g:fu:NUMBER:OUTCOME)."""
    number, _, arg = press.arg.partition(":")
    if arg in _NOTE_FIRST and ctx.conv.state is None:
        await ask_case_note(ctx, number, arg)
    elif arg in OUTCOMES:
        followups, key = ctx.services.followups, ctx.conv.key
        before = await ctx.services.store.get_case(key, number)
        ctx.replies += await followups.apply(key, number, arg, ctx.lang)
        after = await ctx.services.store.get_case(key, number)
        if before is not None and after is not None and after.rung != before.rung:
            await paperwork.after_escalation(ctx, number)
    else:
        await ctx.expired()


async def on_sent(ctx: TurnContext, press: Press) -> None:
    """Record "I sent it" (the deadline counts from today), then ask for the ticket number."""
    number, _, _ = press.arg.partition(":")
    key = ctx.conv.key
    ctx.replies += await ctx.services.followups.apply(key, number, "sent", ctx.lang)
    if ctx.conv.state is not None:
        return  # an intake is in progress: its next text is an answer, not a ticket number
    case = await ctx.services.store.get_case(key, number)
    if case is not None and any(e.kind == "sent" for e in case.events[-1:]):
        await ask_case_note(ctx, number, "ticket")


async def on_note_skip(ctx: TurnContext, press: Press) -> None:
    """Move the case without the ticket number or answer asked for (g:note:NUMBER:skip)."""
    _, _, arg = press.arg.partition(":")
    if arg == "skip" and ctx.conv.pending.get("case_note"):
        await take_case_note(ctx, None)
    else:
        await ctx.expired()


async def on_snooze(ctx: TurnContext, press: Press) -> None:
    """Ask when to remind again, or snooze the reminder by the days chosen."""
    number, _, arg = press.arg.partition(":")
    followups = ctx.services.followups
    if not arg:
        ctx.replies.append(followups.snooze_question(number, ctx.lang))
    elif (days := data_number(arg)) in SNOOZE_DAYS:
        ctx.replies += await followups.apply(ctx.conv.key, number, "snooze", ctx.lang, days=days)
    else:
        await ctx.expired()


async def on_replied(ctx: TurnContext, press: Press) -> None:
    """Ask how the channel replied ("they replied" under the case view)."""
    number, _, _ = press.arg.partition(":")
    case = await ctx.services.store.get_case(ctx.conv.key, number)
    if case is None:
        ctx.say(ctx.t("case_not_found", number=number[:40]))
    else:
        ctx.replies.append(ctx.services.followups.question(case, ctx.lang, key="replied_question"))


async def on_rate(ctx: TurnContext, press: Press) -> None:
    """Take a 1-5 rating of a resolved case."""
    number, _, arg = press.arg.partition(":")
    if (rating := data_number(arg)) is not None and 1 <= rating <= 5:
        await rate(ctx, number, rating)
    else:
        await ctx.expired()


async def on_comment_skip(ctx: TurnContext, press: Press) -> None:
    """Leave the comment on a rating out."""
    ctx.conv.pending.pop("comment_for", None)
    ctx.dirty = True
    await ctx.save()
    await ctx.ask_current()


async def ask_case_note(ctx: TurnContext, number: str, trigger: str) -> None:
    """Ask for the ticket number or the answer before moving the case by `trigger`."""
    case = await ctx.services.store.get_case(ctx.conv.key, number)
    if case is None:
        ctx.say(ctx.t("case_not_found", number=number[:40]))
        return
    refusal = (
        ctx.services.followups.refusal(case, trigger, ctx.lang) if trigger in _NOTE_FIRST else None
    )
    if refusal is not None:
        ctx.replies.append(refusal)
        return
    what = _NOTE_FIRST.get(trigger) or _NOTE_AFTER[trigger]
    ctx.conv.pending["case_note"] = {"number": number, "then": trigger, "ask": what}
    ctx.dirty = True
    await ctx.save()
    channel = ctx.services.followups.current_channel(case, ctx.lang)
    skip = Button(ctx.t("skip"), encode(GLOBAL, "note", f"{number}:skip"))
    ctx.say(ctx.t(f"note_{what}_ask", channel=channel), ((skip,),))


async def drop_stale_case_note(ctx: TurnContext) -> None:
    """Forget the ticket/answer question once the person moves on.

    A move it was asked before ("no answer", "not satisfied") still happens, without it: the
    person pressed that button, and the case must not wait on a question they passed over.
    """
    asking = ctx.conv.pending.get("case_note")
    ctx.drop_question_on_move("case_note", "note")
    dropped = isinstance(asking, dict) and "case_note" not in ctx.conv.pending
    if dropped and isinstance(asking, dict) and asking.get("then") in _NOTE_FIRST:
        await move_case(ctx, str(asking["number"]), str(asking["then"]), None)


def takes_case_note(ctx: TurnContext) -> bool:
    """Return True when this message answers the ticket or answer question."""
    return ctx.conv.state is None and ctx.answers_question("case_note")


async def take_typed_case_note(ctx: TurnContext) -> None:
    """Move the case as the person asked, with the ticket number or answer just typed."""
    await take_case_note(ctx, ctx.incoming.text)


async def take_case_note(ctx: TurnContext, text: str | None) -> None:
    """Move the case as the person asked, with the ticket number or answer they typed."""
    asking = dict(ctx.conv.pending.pop("case_note"))
    ctx.dirty = True
    number, trigger, what = str(asking["number"]), str(asking["then"]), str(asking["ask"])
    note = {what: " ".join(text.split())[:NOTE_LIMIT]} if text and text.strip() else None
    if trigger in _NOTE_AFTER:
        if note is not None:
            await ctx.services.followups.note(ctx.conv.key, number, note)
            ctx.say(ctx.t("note_saved", number=number))
        await ctx.save()
        return
    await move_case(ctx, number, trigger, note)
    await ctx.save()


async def move_case(
    ctx: TurnContext, number: str, trigger: str, note: dict[str, str] | None
) -> None:
    """Move the case by `trigger`, with what the person told; a new rung gets its letter."""
    before = await ctx.services.store.get_case(ctx.conv.key, number)
    ctx.replies += await ctx.services.followups.apply(
        ctx.conv.key, number, trigger, ctx.lang, note=note
    )
    after = await ctx.services.store.get_case(ctx.conv.key, number)
    if before is not None and after is not None and after.rung != before.rung:
        await paperwork.after_escalation(ctx, number)


async def rate(ctx: TurnContext, number: str, rating: int) -> None:
    """Record the rating, then ask for an optional comment."""
    if not await ctx.services.followups.rate(ctx.conv.key, number, rating, ctx.lang):
        await show_case(ctx, number)
        return
    if ctx.conv.state is not None:
        # An intake is in progress: its next text is an answer, not a comment.
        ctx.say(ctx.t("rated_busy"))
        await ctx.ask_current()
        return
    ctx.conv.pending["comment_for"] = number
    ctx.dirty = True
    await ctx.save()
    ctx.say(ctx.t("rated"), ((Button(ctx.t("skip"), encode(GLOBAL, "cmt", number)),),))


def takes_comment(ctx: TurnContext) -> bool:
    """Return True when this message is the comment asked for after a rating."""
    return ctx.conv.state is None and bool(ctx.conv.pending.get("comment_for"))


async def take_comment(ctx: TurnContext) -> None:
    """Keep the typed comment on the rating just given (empty: show the menu)."""
    number = str(ctx.conv.pending.pop("comment_for"))
    ctx.dirty = True
    text = (ctx.incoming.text or "").strip()
    if text and await ctx.services.followups.comment(ctx.conv.key, number, text):
        await ctx.save()
        ctx.say(ctx.t("comment_saved", number=number))
        return
    await ctx.save()
    await ctx.show_menu()


async def list_cases(ctx: TurnContext, arg: str) -> None:
    """List the person's cases, newest first (/cases)."""
    cases = await ctx.services.store.list_cases(ctx.conv.key)
    ctx.replies.append(ctx.services.render.case_list(cases, ctx.lang))


async def on_case_view(ctx: TurnContext, press: Press) -> None:
    """Show the case under the button (g:case:NUMBER)."""
    await show_case(ctx, press.arg)


async def show_case(ctx: TurnContext, number: str) -> None:
    """Show one of the person's cases with its follow-up buttons (/case NUMBER)."""
    number = normalised(number).strip().upper()  # typed full-width or with zero-width marks
    if not number:
        ctx.say(ctx.t("case_usage"))
        return
    case = await ctx.services.store.get_case(ctx.conv.key, number[:40])
    if case is None:
        ctx.say(ctx.t("case_not_found", number=number[:40]))
        return
    followups = ctx.services.followups
    ctx.replies.append(
        ctx.services.render.case_view(
            case,
            ctx.lang,
            extra=followups.case_lines(case, ctx.lang),
            actions=(
                *followups.case_buttons(case, ctx.lang),
                *paperwork.case_row(ctx, case.number),
            ),
        )
    )
