"""Switch the conversation's language (/lang zh, /lang en)."""

from __future__ import annotations

from flows.conversation.context import TurnContext


async def set_language(ctx: TurnContext, arg: str) -> None:
    """Speak `arg` from now on, and say again where the person is, in that language."""
    language = arg.lower()
    if language not in ctx.services.flows.languages:
        ctx.say(ctx.t("language_usage"))
        return
    ctx.conv.language = language
    ctx.dirty = True
    await ctx.save()
    if ctx.conv.state is not None:
        ctx.say(ctx.t("language_set"))
        await ctx.ask_current()
    else:
        await ctx.show_menu(prefix=ctx.t("language_set"))
