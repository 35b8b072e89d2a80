"""A person telling their own problem outside a complaint: offer the category it sounds like."""

from __future__ import annotations

from flows.conversation.callbacks import Press, encode
from flows.conversation.context import TurnContext
from flows.conversation.handlers import check
from flows.conversation.suspect import Suspect
from flows.definition.texts import pick
from flows.model import Button, Reply

DESCRIBED_VERB = "sdesc"  # TURN:sdesc: "it's a message I got", check the text just typed
TEXT_LIMIT = 4096  # what one Telegram message holds; a console may paste more
_DESCRIBED = "described"  # in the conversation's scratch: that text, until the button is pressed


async def offer_category(ctx: TurnContext) -> None:
    """Show the menu, the category the typed text names first, and offer to check it after all."""
    text = ctx.incoming.text or ""
    flows = ctx.services.flows
    ctx.conv.pending.pop(_DESCRIBED, None)
    flow_id = flows.describing.about(text, [f.id for f in flows.categories()])
    flow = flows.get(flow_id) if flow_id else None
    if flow is None:
        await ctx.show_menu(prefix=ctx.t("idle_hint") if not ctx.fresh else "")
        return
    conv = ctx.conv
    conv.turn += 1
    conv.pending[_DESCRIBED] = text[:TEXT_LIMIT]
    ctx.dirty = True
    await ctx.save()
    menu = ctx.services.render.menu(conv, first=flow_id)
    prefix = ctx.t("describe_offer", title=pick(flow.title, ctx.lang))
    rows = menu.buttons
    # A first-person scam ("妈，我换号了…") reads like a story: one tap checks it after all.
    if ctx.services.explainer is not None:
        rows += ((Button(ctx.t("describe_check"), encode(conv.turn, DESCRIBED_VERB)),),)
    ctx.replies.append(Reply(f"{prefix}\n\n{menu.text}", rows))


async def check_described(ctx: TurnContext, press: Press) -> None:
    """Check the text the person typed, which they say is a message they got."""
    text = ctx.conv.pending.pop(_DESCRIBED, None)
    if not isinstance(text, str) or ctx.services.explainer is None:
        await ctx.expired()
        return
    await check.check(ctx, [Suspect(text, "pasted")], [])
