"""Cancel the complaint in progress (/cancel, or ❌ under a question), after a confirmation.

Only the answer sent right after the question counts: whatever else the person sends first
withdraws it, so a "yes" found later in the chat cancels nothing.
"""

from __future__ import annotations

from flows.conversation.callbacks import GLOBAL, Press, encode
from flows.conversation.context import TurnContext
from flows.conversation.handlers.intake import abandon
from flows.model import Button

CANCEL_VERB = "cxl"  # TURN:cxl:yes|no, the answer to "cancel this complaint?"
_CANCEL_ASKED = "cancel_asked"  # in the conversation's scratch: the turn it was asked at


async def ask_cancel(ctx: TurnContext) -> None:
    """Ask before dropping the complaint; only the answer sent right after counts."""
    ctx.conv.pending[_CANCEL_ASKED] = ctx.conv.turn
    ctx.dirty = True
    await ctx.save()
    turn = ctx.conv.turn
    ctx.say(
        ctx.t("cancel_confirm"),
        (
            (
                Button(ctx.t("cancel_yes"), encode(turn, CANCEL_VERB, "yes")),
                Button(ctx.t("cancel_no"), encode(turn, CANCEL_VERB, "no")),
            ),
        ),
    )


async def withdraw_cancel(ctx: TurnContext) -> None:
    """Before anything else: take the pending cancel question out of the conversation (saved).

    Whatever the person sends next other than its answer withdraws it, so a "yes" found
    later in the chat cancels nothing.
    """
    asked = ctx.conv.pending.pop(_CANCEL_ASKED, None)
    ctx.withdrawn[_CANCEL_ASKED] = asked
    if asked is not None:
        ctx.dirty = True
        await ctx.save()


async def on_cancel_button(ctx: TurnContext, press: Press) -> None:
    """Cancel on "yes" to the latest question; on "no" show the summary again."""
    yes = press.arg == "yes"
    if ctx.withdrawn.get(_CANCEL_ASKED) != ctx.conv.turn or ctx.conv.state is None:
        await ctx.expired()
    elif yes:
        await cancel(ctx)
    else:
        await ctx.ask_current(prefix=ctx.t("cancel_kept"))


async def cancel(ctx: TurnContext, arg: str = "") -> None:
    """Drop the complaint in progress (/cancel, or "yes" to the question), with its evidence."""
    if ctx.conv.state is None:
        ctx.say(ctx.t("nothing_to_cancel"))
        return
    abandon(ctx)
    await ctx.save()
    ctx.say(ctx.t("cancelled"), ((Button(ctx.t("new_case"), encode(GLOBAL, "new")),),))
