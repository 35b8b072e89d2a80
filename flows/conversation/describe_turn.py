"""A person telling their own problem outside a complaint: offer the category it sounds like."""

from __future__ import annotations

from flows.conversation.callbacks import encode
from flows.conversation.check_turn import SuspectTurn
from flows.conversation.suspect import Suspect
from flows.definition.texts import pick
from flows.model import Button, Reply

DESCRIBED_VERB = "sdesc"  # TURN:sdesc: "it's a message I got", check the text just typed
TEXT_LIMIT = 4096  # what one Telegram message holds; a console may paste more
_DESCRIBED = "described"  # in the conversation's scratch: that text, until the button is pressed


class DescribeTurn(SuspectTurn):
    """Answer typed text that is not a message to check with the category menu."""

    async def offer_category(self, text: str) -> None:
        """Show the menu, the category `text` names first, and offer to check it after all."""
        flows = self.e.flows
        self.conv.pending.pop(_DESCRIBED, None)
        flow_id = flows.describing.about(text, [f.id for f in flows.categories()])
        flow = flows.get(flow_id) if flow_id else None
        if flow is None:
            await self.show_menu(prefix=self.t("idle_hint") if not self.fresh else "")
            return
        conv = self.conv
        conv.turn += 1
        conv.pending[_DESCRIBED] = text[:TEXT_LIMIT]
        self.dirty = True
        await self.save()
        menu = self.e.render.menu(conv, first=flow_id)
        prefix = self.t("describe_offer", title=pick(flow.title, self.lang))
        rows = menu.buttons
        # A first-person scam ("妈，我换号了…") reads like a story: one tap checks it after all.
        if self.e.explainer is not None:
            rows += ((Button(self.t("describe_check"), encode(conv.turn, DESCRIBED_VERB)),),)
        self.replies.append(Reply(f"{prefix}\n\n{menu.text}", rows))

    async def check_described(self) -> None:
        """Check the text the person typed, which they say is a message they got."""
        text = self.conv.pending.pop(_DESCRIBED, None)
        if not isinstance(text, str) or self.e.explainer is None:
            await self.ask_current(prefix=self.t("button_expired"))
            return
        await self.check([Suspect(text, "pasted")], [])
