"""Take files and forwarded messages as evidence: check them, store them, describe them."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flows.conversation.filetype import EXTENSIONS, MAX_EVIDENCE_PIXELS, FileType, detect
from flows.model import Attachment, Incoming
from flows.ports import ConversationStore
from flows.records import EvidenceRecord

_SIDE = math.isqrt(MAX_EVIDENCE_PIXELS)  # the limit said as a square: 10000×10000 px
# The types kept as evidence files (a forwarded text is kept too, but not as a file).
_KEPT = {mime: extension for mime, extension in EXTENSIONS.items() if mime != "text/plain"}


def acceptable(attachment: Attachment) -> bool:
    """Return True for photos, images and PDFs (by what the messenger claims)."""
    if attachment.kind == "photo":
        return True
    mime = (attachment.mime_type or "").lower()
    name = (attachment.file_name or "").lower()
    return mime in _KEPT or name.endswith(tuple(f".{e}" for e in _KEPT.values()))


def human_size(size: int) -> str:
    """Return a size as people read it: 512 KB, 23.4 MB."""
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} KB"
    return f"{size / (1024 * 1024):.1f} MB"


@dataclass(slots=True)
class Intake:
    """What one message added: records to store, problems to tell the person (text key, values)."""

    records: list[EvidenceRecord] = field(default_factory=list)
    problems: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


class EvidenceTaker:
    """Check and store the files and forwards of one message."""

    def __init__(self, store: ConversationStore, max_file_size: int) -> None:
        self.store = store
        self.max_file_size = max_file_size

    async def take(
        self,
        incoming: Incoming,
        *,
        draft_id: str,
        step: str,
        known: set[str],
        room: int,
        now: datetime,
    ) -> Intake:
        """Return the new evidence of `incoming`, at most `room` pieces, none already `known`."""
        intake = Intake()
        limit = room + len(known)
        extra = 0
        forward_meta = _forward_meta(incoming)
        for attachment in incoming.attachments:
            # Past the limit nothing is downloaded or stored: a file written and then not kept
            # would stay on disk with no row pointing to it, out of reach of "forget me".
            if len(intake.records) >= room:
                extra += 1
                continue
            record = await self._file(attachment, intake, draft_id, step, forward_meta, now, known)
            if record is not None:
                self._keep(record, intake, known)
        if incoming.forward is not None and incoming.text:
            if len(intake.records) >= room:
                extra += 1
            elif _sha256(incoming.text.encode("utf-8")) in known:
                name = f"forwarded-{_sha256(incoming.text.encode('utf-8'))[:8]}.txt"
                intake.problems.append(("file_duplicate", {"name": name}))
            else:
                record = await self.text(
                    incoming.text, "forward", "forwarded", draft_id, step, forward_meta, now
                )
                self._keep(record, intake, known)
        if extra > 0:
            intake.problems.append(("files_too_many", {"max": limit, "extra": extra}))
        return intake

    async def text(
        self,
        text: str,
        kind: str,
        name: str,
        draft_id: str,
        step: str,
        meta: dict[str, Any],
        now: datetime,
    ) -> EvidenceRecord:
        """Store a message's text as a piece of evidence, a file `NAME-<hash>.txt`."""
        blob = await self.store.put_blob(text.encode("utf-8"))
        return EvidenceRecord(
            draft_id=draft_id,
            step=step,
            kind=kind,
            sha256=blob.sha256,
            path=blob.path,
            size=blob.size,
            file_name=f"{name}-{blob.sha256[:8]}.txt",
            mime_type="text/plain",
            text=text,
            meta=meta,
            created_at=now,
        )

    def _keep(self, record: EvidenceRecord, intake: Intake, known: set[str]) -> None:
        if record.sha256 in known:
            intake.problems.append(("file_duplicate", {"name": record.file_name}))
            return
        known.add(record.sha256)
        intake.records.append(record)

    async def _file(
        self,
        attachment: Attachment,
        intake: Intake,
        draft_id: str,
        step: str,
        meta: dict[str, Any],
        now: datetime,
        known: set[str],
    ) -> EvidenceRecord | None:
        name = attachment.file_name or f"{attachment.kind}-{attachment.file_unique_id or 'file'}"
        limit = human_size(self.max_file_size)
        # Check the size the messenger announces before downloading anything.
        if attachment.size is not None and attachment.size > self.max_file_size:
            size = human_size(attachment.size)
            intake.problems.append(("file_too_big", {"name": name, "size": size, "limit": limit}))
            return None
        if not acceptable(attachment) or attachment.fetch is None:
            intake.problems.append(("file_bad_type", {"name": name}))
            return None
        data = await attachment.fetch()
        if len(data) > self.max_file_size:
            size = human_size(len(data))
            intake.problems.append(("file_too_big", {"name": name, "size": size, "limit": limit}))
            return None
        found = detect(data)
        claimed = (attachment.mime_type or "").lower()
        if found is None or (
            claimed in _KEPT and claimed != found.mime and attachment.kind != "photo"
        ):
            intake.problems.append(("file_mismatch", {"name": name}))
            return None
        if found.pixels > MAX_EVIDENCE_PIXELS:
            # Read from the header: nothing was decoded. Said like a size that is too big.
            limit = FileType(found.mime, _SIDE, _SIDE).dimensions
            intake.problems.append(
                ("file_too_big", {"name": name, "size": found.dimensions, "limit": limit})
            )
            return None
        real = found.mime
        sha256 = _sha256(data)
        if attachment.file_name is None:
            name = f"{attachment.kind}-{sha256[:8]}.{found.extension}"
        if sha256 in known:
            # Not stored again: a file put but never referenced would outlive its draft.
            intake.problems.append(("file_duplicate", {"name": name}))
            return None
        blob = await self.store.put_blob(data)
        return EvidenceRecord(
            draft_id=draft_id,
            step=step,
            kind=attachment.kind,
            sha256=blob.sha256,
            path=blob.path,
            size=blob.size,
            file_name=name,
            mime_type=real,
            file_id=attachment.file_id,
            file_unique_id=attachment.file_unique_id,
            group_id=attachment.group_id,
            meta=meta,
            created_at=now,
        )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _forward_meta(incoming: Incoming) -> dict[str, Any]:
    forward = incoming.forward
    if forward is None:
        return {}
    return origin_meta(
        "forwarded_from", forward.origin, forward.sender, forward.sender_id, forward.date
    )


def origin_meta(
    key: str, origin: str, sender: str | None, sender_id: str | None, date: datetime | None
) -> dict[str, Any]:
    """Return the evidence meta saying where a message came from: `{key: origin, sender...}`."""
    meta: dict[str, Any] = {key: origin}
    if sender:
        meta["sender"] = sender
    if sender_id:
        meta["sender_id"] = sender_id
    if date:
        meta["date"] = date.isoformat()
    json.dumps(meta)  # evidence meta is stored as JSON: fail here, not in the transaction
    return meta


def summary_of(record: EvidenceRecord) -> dict[str, Any]:
    """Return what the conversation keeps about a piece of evidence (the rest is in its row)."""
    return {"sha256": record.sha256, "name": record.file_name, "kind": record.kind}
