"""Forget me: after a confirmation, delete everything the bot keeps about the person."""

from __future__ import annotations

from flows.conversation.callbacks import Press, encode
from flows.conversation.turn import Turn
from flows.model import Button

FORGET_VERB = "fgt"  # TURN:fgt:yes|no; a confirmation from an older turn has expired
_ASKED = "forget_asked"  # in the conversation's scratch: the turn the question was asked at


class ForgetTurn(Turn):
    """Ask before forgetting; forget only on the answer to the latest question, sent next.

    Whatever the person sends after the question other than its answer (a photo, /start, a
    typed answer) withdraws it, so an old "yes" found later in the chat deletes nothing.
    """

    forget_asked: int | None = None

    async def withdraw_forget(self) -> None:
        """Take the pending forget question out of the conversation (saved at once)."""
        self.forget_asked = self.conv.pending.pop(_ASKED, None)
        if self.forget_asked is not None:
            self.dirty = True
            await self.save()

    async def ask_forget(self) -> None:
        """Ask whether to delete everything; a new turn, so older confirmations expire."""
        if self.fresh:
            self.say(self.t("forget_nothing"))
            return
        self.conv.turn += 1
        self.conv.pending[_ASKED] = self.conv.turn
        self.dirty = True
        await self.save()
        turn = self.conv.turn
        self.say(
            self.t("forget_confirm"),
            (
                (
                    Button(self.t("forget_yes"), encode(turn, FORGET_VERB, "yes")),
                    Button(self.t("forget_no"), encode(turn, FORGET_VERB, "no")),
                ),
            ),
        )

    async def on_forget_button(self, press: Press) -> None:
        """Delete on "yes"; on "no" keep everything and go on where the person was."""
        if self.forget_asked != self.conv.turn:
            await self.ask_current(prefix=self.t("button_expired"))
            return
        if press.arg == "yes":
            await self.e.store.forget(self.conv.key)
            # Nothing is saved after this: the person is gone until they write again.
            self.dirty = False
            self.say(self.t("forgotten"))
            return
        self.conv.turn += 1  # the "yes" under the same question must not work later
        self.dirty = True
        await self.save()
        if self.conv.state is not None:
            await self.ask_current(prefix=self.t("forget_kept"))
        else:
            self.say(self.t("forget_kept"))
