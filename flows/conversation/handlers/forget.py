"""Forget me: after a confirmation, delete everything the bot keeps about the person.

Forget only on the answer to the latest question, sent next: whatever the person sends after
the question other than its answer (a photo, /start, a typed answer) withdraws it, so an old
"yes" found later in the chat deletes nothing.
"""

from __future__ import annotations

from flows.conversation.callbacks import Press, encode
from flows.conversation.context import TurnContext
from flows.model import Button

FORGET_VERB = "fgt"  # TURN:fgt:yes|no; a confirmation from an older turn has expired
_ASKED = "forget_asked"  # in the conversation's scratch: the turn the question was asked at


async def withdraw_forget(ctx: TurnContext) -> None:
    """Before anything else: take the pending forget question out of the conversation (saved)."""
    asked = ctx.conv.pending.pop(_ASKED, None)
    ctx.withdrawn[_ASKED] = asked
    if asked is not None:
        ctx.dirty = True
        await ctx.save()


async def ask_forget(ctx: TurnContext, arg: str) -> None:
    """Ask whether to delete everything; a new turn, so older confirmations expire."""
    if ctx.fresh:
        ctx.say(ctx.t("forget_nothing"))
        return
    ctx.conv.turn += 1
    ctx.conv.pending[_ASKED] = ctx.conv.turn
    ctx.dirty = True
    await ctx.save()
    turn = ctx.conv.turn
    ctx.say(
        ctx.t("forget_confirm"),
        (
            (
                Button(ctx.t("forget_yes"), encode(turn, FORGET_VERB, "yes")),
                Button(ctx.t("forget_no"), encode(turn, FORGET_VERB, "no")),
            ),
        ),
    )


async def on_forget_button(ctx: TurnContext, press: Press) -> None:
    """Delete on "yes"; on "no" keep everything and go on where the person was."""
    if ctx.withdrawn.get(_ASKED) != ctx.conv.turn:
        await ctx.expired()
        return
    if press.arg == "yes":
        await ctx.services.store.forget(ctx.conv.key)
        # Nothing is saved after this: the person is gone until they write again.
        ctx.dirty = False
        ctx.say(ctx.t("forgotten"))
        return
    ctx.conv.turn += 1  # the "yes" under the same question must not work later
    ctx.dirty = True
    await ctx.save()
    if ctx.conv.state is not None:
        await ctx.ask_current(prefix=ctx.t("forget_kept"))
    else:
        ctx.say(ctx.t("forget_kept"))
