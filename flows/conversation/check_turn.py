"""Check forwarded, pasted and screenshotted messages, and explain them in one reply.

What was checked waits in the conversation's scratch (`pending["check"]`) until the person
presses "file a complaint" (flows/conversation/check_filing.py).
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from flows.conversation.callbacks import Press, encode
from flows.conversation.check_filing import CheckFilingTurn
from flows.conversation.evidence import acceptable
from flows.conversation.filetype import detect, too_large_to_read
from flows.conversation.suspect import BATCH_MAX, Suspect, is_worse, looks_like_a_message, worst
from flows.definition.steps import kind_of
from flows.model import Attachment, Button, Incoming, Reply
from flows.records import Explanation


class SuspectTurn(CheckFilingTurn):
    """Check forwarded, pasted and screenshotted messages; file a case about them."""

    # ------------------------------------------------------------------------ reading

    def wants_check(self) -> bool:
        """Return True when this message is a message to check, not an answer or a command."""
        incoming = self.incoming
        if self.e.explainer is None or incoming.unsupported:
            return False
        forwarded = incoming.forward is not None or bool(incoming.batch)
        if self.conv.state is not None:
            # In an intake, whatever is typed is an answer (or is asked again): only a message
            # explicitly forwarded at a step that takes no text or files is checked.
            return forwarded and not kind_of(self.step).forward_answers(self.conv.pending)
        if self.conv.pending.get("check_next"):
            return bool(incoming.text or incoming.attachments)
        if forwarded or incoming.attachments:
            return True
        return bool(incoming.text) and self.pasted_message(incoming.text or "")

    def pasted_message(self, text: str) -> bool:
        """Return True when typed text is a message pasted to be checked, not the person's story."""
        flows = self.e.flows
        described = flows.describing.about(text, [f.id for f in flows.categories()])
        return looks_like_a_message(text) and described is None

    async def suspects_of(self, incoming: Incoming) -> tuple[list[Suspect], list[str]]:
        """Return the messages to check in `incoming` (and its burst), and problems to tell."""
        found: list[Suspect] = []
        problems: list[str] = []
        for part in (incoming, *incoming.batch):
            origin = "pasted"
            name = sender_id = None
            at = None
            if part.forward is not None:
                origin = f"forward:{part.forward.origin}"
                name, sender_id, at = part.forward.sender, part.forward.sender_id, part.forward.date
            for attachment in part.attachments:
                suspect = await self._read_image(attachment, problems, name, sender_id, at)
                if suspect is not None:
                    found.append(suspect)
            if part.text and part.text.strip():
                found.append(Suspect(part.text.strip(), origin, name, sender_id, at))
        return found, problems

    async def _read_image(
        self,
        attachment: Attachment,
        problems: list[str],
        name: str | None,
        sender_id: str | None,
        at: datetime | None,
    ) -> Suspect | None:
        label = attachment.file_name or self.t("check_screenshot")
        if not acceptable(attachment) or attachment.fetch is None:
            problems.append(self.t("file_bad_type", name=label))
            return None
        if self.e.reader is None:
            problems.append(self.t("check_no_ocr"))
            return None
        limit = self.e.evidence.max_file_size
        if attachment.size is not None and attachment.size > limit:
            problems.append(self.t("check_image_too_big", name=label))
            return None
        data = await attachment.fetch()
        found = detect(data)
        if len(data) > limit or found is None or found.mime == "application/pdf":
            problems.append(self.t("file_mismatch", name=label))
            return None
        if too_large_to_read(found):  # from its header, before anything is decoded
            problems.append(self.t("check_image_too_big", name=label))
            return None
        mime = found.mime
        text = (await self.e.reader.read(data)).strip()
        if not text:
            problems.append(self.t("check_no_text", name=label))
            return None
        if self.conv.state is not None:
            # Checked during a complaint, it is only explained, never kept to file later: a
            # file stored now would have nothing pointing to it.
            return Suspect(text, "image", name, sender_id, at)
        sha256 = hashlib.sha256(data).hexdigest()
        waiting = self._waiting_screenshots()
        if sha256 in waiting:  # checked again: the file is already stored (and claimed)
            path, size = waiting[sha256]
        else:
            blob = await self.e.store.put_blob(data)
            path, size = blob.path, blob.size
        image = {
            "sha256": sha256,
            "path": path,
            "size": size,
            "mime": mime,
            "name": attachment.file_name,
            "file_id": attachment.file_id,
            "file_unique_id": attachment.file_unique_id,
        }
        return Suspect(text, "image", name, sender_id, at, image)

    def _waiting_screenshots(self) -> dict[str, tuple[str, int]]:
        """Return {sha256: (path, size)} of the screenshots of the check waiting to be filed."""
        check = self.conv.pending.get("check")
        items = check.get("items", []) if isinstance(check, dict) else []
        return {
            str(image["sha256"]): (str(image["path"]), int(image["size"]))
            for item in items
            if isinstance(item, dict) and isinstance(image := item.get("image"), dict)
        }

    # ------------------------------------------------------------------------ checking

    async def check(self, suspects: list[Suspect], problems: list[str]) -> None:
        """Explain `suspects` in one reply; keep them for "file a complaint"."""
        explainer = self.e.explainer
        assert explainer is not None
        conv = self.conv
        conv.pending.pop("check_next", None)
        if not suspects:
            self.dirty = True
            await self.save()
            self.say("\n".join(problems) or self.t("check_nothing"))
            return
        shown = suspects[:BATCH_MAX]
        explained = [
            await explainer.explain(s.text, None, s.at or self.now, self.lang) for s in shown
        ]
        verdict = worst([x.verdict for x in explained])
        together = None
        if len(shown) > 1:
            # Several messages at once are often one conversation: "I changed my number", then
            # "pay into this account". Read together they can say more than each alone.
            together = await explainer.explain_conversation([s.text for s in shown], self.lang)
            if is_worse(together.verdict, verdict):
                verdict = together.verdict
            else:
                together = None
        in_intake = conv.state is not None
        if not in_intake:
            conv.turn += 1  # buttons of an earlier verdict expire
            conv.pending["check"] = {
                "items": [s.to_json() for s in shown],
                "verdict": verdict,
                "senders": [x.sender for x in explained],
                "bodies": [x.body or s.text for x, s in zip(explained, shown, strict=True)],
            }
        self.event("checked", verdict=verdict, count=len(shown))
        self.dirty = True
        await self.save()
        text = self._verdict_text(shown, explained, problems, len(suspects) - len(shown), together)
        if in_intake:
            self.say(f"{text}\n\n{self.t('check_in_intake')}")
            await self.ask_current()
            return
        turn = conv.turn
        buttons = (
            (Button(self.t("check_file"), encode(turn, "sfile")),),
            (
                Button(self.t("check_fine"), encode(turn, "sok")),
                Button(self.t("check_another"), encode(turn, "snext")),
            ),
        )
        self.replies.append(Reply(text, buttons))

    def _verdict_text(
        self,
        suspects: list[Suspect],
        explained: list[Explanation],
        problems: list[str],
        left_out: int,
        together: Explanation | None = None,
    ) -> str:
        lines: list[str] = list(problems)
        if len(explained) == 1:
            only, suspect = explained[0], suspects[0]
            if suspect.origin == "image":
                lines.append(self.t("check_read_text", text=_quote(suspect.text)))
            lines.append(only.title)
            lines += [f"• {reason}" for reason in only.reasons]
        else:
            lines.append(self.t("check_batch", count=len(explained)))
            for index, (suspect, one) in enumerate(zip(suspects, explained, strict=True), 1):
                lines.append("")
                lines.append(f"{index}. {one.title} — {_quote(suspect.text, 60)}")
                lines += [f"   • {reason}" for reason in one.reasons[:3]]
        if left_out > 0:
            lines.append(self.t("check_left_out", count=left_out))
        if together is not None:
            lines += ["", together.title, *(f"• {reason}" for reason in together.reasons)]
        advice: list[str] = []
        for one in ([together] if together is not None else []) + explained:
            advice += [a for a in one.advice if a not in advice]
        if advice:
            lines += ["", self.t("check_advice")]
            lines += [f"👉 {a}" for a in advice]
        if any(s.origin == "image" for s in suspects):
            lines += ["", self.t("check_correct_hint")]
        return "\n".join(lines)

    # ------------------------------------------------------------------------ buttons

    async def on_check_button(self, press: Press) -> None:
        conv = self.conv
        if press.verb == "snext":
            conv.pending.pop("check", None)
            await self.ask_for_message()
        elif press.verb == "sok":
            conv.pending.pop("check", None)
            conv.turn += 1
            self.dirty = True
            await self.save()
            self.say(self.t("check_ok"))
        elif press.verb == "sfile" and isinstance(conv.pending.get("check"), dict):
            await self.file_from_check(conv.pending["check"])
        else:
            await self.ask_current(prefix=self.t("button_expired"))

    async def ask_for_message(self) -> None:
        """Ask for the message to check; the next text or screenshot is checked, however short."""
        self.conv.pending["check_next"] = True
        self.dirty = True
        await self.save()
        self.replies.append(Reply(self.t("check_send"), expects_text=True))


def _quote(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return f"「{flat[:limit]}{'…' if len(flat) > limit else ''}」"
