"""A suspicious message: explain it, and open a pre-filled case about it in one tap.

The engine does not analyse text itself: an `Explainer` (bot/explain.py over bot/analysis.py)
turns a message into a verdict with reasons and advice in the person's language, and a
`TextReader` (bot/ocr.py) reads the text off a screenshot. Both are injected, so `flows/` stays
free of the analyser's rules and of the OCR package; without a reader, screenshots are refused
with a clear message and everything else works.

What was checked waits in the conversation's scratch (`pending["check"]`) until the person
presses "file a complaint": then the matching category's intake starts with what the message
tells (problem, sender, date, text) already answered and the message attached as evidence, and
only the questions it could not answer are asked before the summary.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from flows import actions
from flows.answers import typed_answer
from flows.callbacks import Press, encode
from flows.evidence import acceptable, origin_meta, sniff, summary_of
from flows.model import Attachment, Button, Incoming, Reply
from flows.schema import Flow, Step
from flows.store import EvidenceRecord
from flows.texts import pick
from flows.turn import Turn

VERDICT_ORDER = ("fraud", "marketing", "unknown", "legit")  # the worst first
BATCH_MAX = 10  # messages explained from one burst; the rest are only counted
SUSPECT_VERBS = frozenset({"sfile", "sok", "snext"})


@dataclass(frozen=True, slots=True)
class Explanation:
    """What the analyser says about one message, in the person's language."""

    verdict: str  # fraud | marketing | legit | unknown
    title: str  # e.g. "⚠️ 很可能是诈骗"
    reasons: tuple[str, ...]
    advice: tuple[str, ...]
    sender: str | None  # the SMS sender number it settled on, if any
    body: str = ""  # the message itself, without a sender line pasted above it


class Explainer(Protocol):
    """Explain a message: verdict, reasons and advice (bot/explain.py)."""

    def explain(self, text: str, sender: str | None, at: datetime | None, lang: str) -> Explanation:
        """Return the verdict on `text`, sent by `sender` at `at`, told in `lang`."""
        ...


class TextReader(Protocol):
    """Read the text of a screenshot (OCR); bot/ocr.py."""

    async def read(self, data: bytes) -> str:
        """Return the text in the image, lines joined by newlines ("" when there is none)."""
        ...


@dataclass(frozen=True, slots=True)
class Suspect:
    """One message to check, as far as we know where it came from."""

    text: str
    origin: str  # "forward:user" | "forward:hidden_user" | "forward:chat" | "forward:channel"
    # | "pasted" | "image"
    sender_name: str | None = None  # who a forward came from (Telegram name or channel)
    sender_id: str | None = None
    at: datetime | None = None
    image: dict[str, Any] | None = None  # {sha256, path, size, mime, name} of its screenshot

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "origin": self.origin,
            "sender_name": self.sender_name,
            "sender_id": self.sender_id,
            "at": self.at.isoformat() if self.at else None,
            "image": self.image,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Suspect:
        at = data.get("at")
        return cls(
            text=str(data.get("text") or ""),
            origin=str(data.get("origin") or "pasted"),
            sender_name=data.get("sender_name"),
            sender_id=data.get("sender_id"),
            at=datetime.fromisoformat(at) if at else None,
            image=data.get("image"),
        )


def looks_like_a_message(text: str) -> bool:
    """Return True for pasted text worth checking, False for chit-chat such as "hi"."""
    stripped = text.strip()
    if len(stripped) >= 12:
        return True
    digits = sum(c.isdigit() for c in stripped)
    return "http" in stripped.lower() or ("." in stripped and digits >= 1) or digits >= 6


def worst(verdicts: list[str]) -> str:
    """Return the verdict of a batch: the worst of its messages."""
    return min(verdicts, key=VERDICT_ORDER.index) if verdicts else "unknown"


class SuspectTurn(Turn):
    """Check forwarded, pasted and screenshotted messages; file a case about them."""

    # ------------------------------------------------------------------------ reading

    def wants_check(self) -> bool:
        """Return True when this message is a message to check, not an answer or a command."""
        incoming = self.incoming
        if self.e.explainer is None or incoming.unsupported:
            return False
        if self.conv.state is not None:
            # In an intake, the step takes what it asks for; only a step that does not expect
            # text or files lets a forwarded or pasted message through to be checked.
            step = self.step
            if step.expect in ("text", "files"):
                return False
            if incoming.forward is not None or incoming.batch:
                return True
            return len((incoming.text or "").strip()) >= 20
        if self.conv.pending.get("check_next"):
            return bool(incoming.text or incoming.attachments)
        if incoming.forward is not None or incoming.batch:
            return True
        if incoming.attachments:
            return True
        return bool(incoming.text) and looks_like_a_message(incoming.text or "")

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
        mime = sniff(data)
        if len(data) > limit or mime is None or mime == "application/pdf":
            problems.append(self.t("file_mismatch", name=label))
            return None
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
        explained = [explainer.explain(s.text, None, s.at or self.now, self.lang) for s in shown]
        verdict = worst([x.verdict for x in explained])
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
        text = self._verdict_text(shown, explained, problems, len(suspects) - len(shown))
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
        advice: list[str] = []
        for one in explained:
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

    async def file_from_check(self, check: dict[str, Any]) -> None:
        """Start the matching intake with what the checked messages tell already answered."""
        suspects = [Suspect.from_json(item) for item in check.get("items", [])]
        senders = [s for s in check.get("senders", []) if s]
        verdict = str(check.get("verdict") or "unknown")
        if not suspects:
            await self.ask_current(prefix=self.t("button_expired"))
            return
        first = suspects[0]
        body = next(iter(check.get("bodies") or []), None) or first.text
        when = (first.at or self.now).astimezone(self.e.timezone).date().isoformat()
        telegram_only = not senders and all(s.origin.startswith("forward:") for s in suspects)
        if telegram_only and self.e.flows.get("other") is not None:
            flow_id = "other"
            who = first.sender_name or self.t("check_hidden_sender")
            if first.sender_id:
                who = f"{who} (id {first.sender_id})"
            prefill: dict[str, str] = {
                "problem": "something_else",
                "respondent": who,
                "what_happened": body,
                "happened_on": when,
            }
        else:
            flow_id = "sms"
            prefill = {
                "problem": "fraud" if verdict == "fraud" else "spam",
                "started": when,
                "content": body,
            }
            if senders:
                prefill["sender"] = senders[0]
        await self.start_prefilled(flow_id, prefill, suspects)

    async def start_prefilled(
        self, flow_id: str, prefill: dict[str, str], suspects: list[Suspect]
    ) -> None:
        flow = self.e.flows.get(flow_id)
        machine = self.e.machines.get((flow.id, flow.version)) if flow else None
        if flow is None or machine is None:
            await self.show_menu()
            return
        conv = self.conv
        conv.flow_id, conv.flow_version = flow.id, flow.version
        conv.answers, conv.history, conv.pending = {}, [], {}
        conv.draft_id = uuid.uuid4().hex
        self.event("started", flow=flow.ref, source="check")
        records = await self._evidence(suspects, conv.draft_id, flow)
        today = self.now.astimezone(self.e.timezone).date()
        for step in flow.steps.values():
            value = self._prefilled(step, prefill.get(step.id), records, today)
            if value is not None:
                conv.answers[step.id] = value
                for name in step.actions:
                    conv.answers.update(actions.ACTIONS[name](conv.answers))
        # Walk the answered steps from the start; the first open one is asked, and after it
        # (as when editing from the summary) only the questions still open are asked.
        state: str | None = flow.first
        while state is not None and state != flow.confirm_step and state in conv.answers:
            conv.history.append(state)
            state = machine.next_step(state, conv.answers)
        conv.pending = {"editing": True}
        self.commit.evidence.extend(records)
        self.enter(state or flow.confirm_step)
        await self.save()
        self.say(self.t("check_prefilled", title=pick(flow.title, self.lang)))
        await self.ask_current()

    def _prefilled(
        self, step: Step, raw: str | None, records: list[EvidenceRecord], today: date
    ) -> Any:
        """Return the answer the checked message gives `step`, or None when it gives none."""
        if step.expect == "files":
            return [summary_of(r) for r in records[: step.max_files]] or None
        if raw is None:
            return None
        if step.expect == "choice":
            return raw if step.option(raw) else None
        if step.expect != "text":
            return None
        try:
            return typed_answer(step, raw[: step.max_length], today)
        except actions.Invalid:
            return None

    async def _evidence(
        self, suspects: list[Suspect], draft_id: str, flow: Flow
    ) -> list[EvidenceRecord]:
        step = next((s.id for s in flow.steps.values() if s.expect == "files"), "evidence")
        records: list[EvidenceRecord] = []
        seen: set[str] = set()
        for suspect in suspects:
            meta = origin_meta(
                "checked_as", suspect.origin, suspect.sender_name, suspect.sender_id, suspect.at
            )
            if suspect.image:
                image = suspect.image
                record = EvidenceRecord(
                    draft_id=draft_id,
                    step=step,
                    kind="photo",
                    sha256=image["sha256"],
                    path=image["path"],
                    size=int(image["size"]),
                    file_name=image.get("name") or f"screenshot-{image['sha256'][:8]}.png",
                    mime_type=image.get("mime"),
                    file_id=image.get("file_id"),
                    file_unique_id=image.get("file_unique_id"),
                    text=suspect.text,
                    meta=meta,
                    created_at=self.now,
                )
            else:
                kind = "forward" if suspect.origin.startswith("forward:") else "message"
                record = await self.e.evidence.text(
                    suspect.text, kind, kind, draft_id, step, meta, self.now
                )
            if record.sha256 not in seen:
                seen.add(record.sha256)
                records.append(record)
        return records


def _quote(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return f"「{flat[:limit]}{'…' if len(flat) > limit else ''}」"
