"""A whole case in one zip: letters, evidence files, answers and the timeline, readable and JSON."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from bot.case_json import case_to_json
from bot.letters import Templates, write_letter
from flows.conversation.climb import reached_rungs
from flows.conversation.filetype import detect, extension_of
from flows.conversation.render import Renderer
from flows.definition.schema import FlowSet
from flows.model import Document
from flows.records import CaseRecord, EvidenceRecord, Letter, Profile

TELEGRAM_UPLOAD_LIMIT = 50 * 1024 * 1024
_UNSAFE = re.compile(r"[^\w.\-\u4e00-\u9fff]+")
# Zip entries get a fixed time, so exporting the same case twice gives the same bytes.
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)

ReadBlob = Callable[[str], Awaitable[bytes]]


@dataclass(frozen=True, slots=True)
class EvidenceFile:
    """One evidence entry of the zip: its name there and its bytes (None: file missing)."""

    name: str
    record: EvidenceRecord
    content: bytes | None


def evidence_name(index: int, record: EvidenceRecord, content: bytes | None) -> str:
    """Return a clear, safe file name for a piece of evidence: `01-screenshot.png`.

    The extension says what the content is, whatever the sender named it: a PDF sent as
    `invoice.html` is `01-invoice.pdf`, and a file that is not a well-formed one of the types
    we keep (stored before they were checked this closely) is `.bin`.
    """
    if record.kind == "forward":
        return f"{index:02d}-message.txt"
    if content is None:  # the stored file is gone: name it by what was recorded
        mime = record.mime_type
    else:
        found = detect(content)
        mime = found.mime if found is not None else None
    extension = extension_of(mime) or "bin"
    original = (record.file_name or "").replace("\\", "/").rsplit("/", 1)[-1]
    stem = original.rsplit(".", 1)[0] if "." in original.strip(".") else original
    stem = _UNSAFE.sub("_", stem).strip("._")[:80]
    if not stem:
        stem = "screenshot" if record.kind == "photo" else "file"
    return f"{index:02d}-{stem}.{extension}"


def build_zip(
    case: CaseRecord,
    flows: FlowSet,
    letters: Sequence[Letter],
    evidence: Sequence[EvidenceFile],
    lang: str,
    tz: tzinfo,
    limit: int | None = None,
) -> bytes:
    """Return the zip of a case; files that would pass `limit` bytes are listed, not packed."""
    render = Renderer(flows, tz)
    entries: list[tuple[str, bytes]] = []
    for position, letter in enumerate(letters, start=1):
        stem = f"letters/{position}-{letter.channel}.{lang}"
        entries += [(f"{stem}.txt", letter.text.encode()), (f"{stem}.md", letter.markdown.encode())]
    entries.append(("case.txt", render.case_view(case, lang).text.encode()))
    entries.append(("answers.json", _json(_answers(case, flows, render, lang))))
    timeline = [
        {
            "at": e.at.isoformat(),
            "kind": e.kind,
            "data": e.data,
            "text": render.event(e.kind, e.data, lang),
        }
        for e in case.events
    ]
    entries.append(("timeline.json", _json(timeline)))
    lines = [f"{render.when(e.at)}  {render.event(e.kind, e.data, lang)}" for e in case.events]
    entries.append(("timeline.txt", ("\n".join(lines) + "\n").encode()))
    entries.append(("case.json", _json(case_to_json(case, flows=flows))))
    used = sum(len(content) for _, content in entries)
    listing = []
    for item in evidence:
        note = ""
        if item.content is None:
            note = "  MISSING: the stored file is gone"
        elif limit is not None and used + len(item.content) > limit:
            note = "  NOT INCLUDED: too large to send here; ask the operator for the full export"
        else:
            content = (
                item.record.text.encode()
                if item.record.kind == "forward" and item.record.text
                else item.content
            )
            entries.append((f"evidence/{item.name}", content))
            used += len(content)
        listing.append(f"{item.name}  sha256 {item.record.sha256}{note}")
    if evidence:
        entries.append(("evidence/LIST.txt", ("\n".join(listing) + "\n").encode()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries:
            info = zipfile.ZipInfo(f"{case.number}/{name}", date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return buffer.getvalue()


def _answers(case: CaseRecord, flows: FlowSet, render: Renderer, lang: str) -> list[dict[str, Any]]:
    flow = flows.get(case.flow_id, case.flow_version)
    if flow is None:
        return [{"step": k, "value": v} for k, v in case.answers.items()]
    return [
        {
            "step": step.id,
            "question": render.label(step, lang),
            "answer": render.display(step, case.answers[step.id], lang),
            "value": case.answers[step.id],
        }
        for step in flow.steps.values()
        if step.id in case.answers
    ]


def _json(data: Any) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode()


class CasePaperwork:
    """The engine's `Paperwork`: letters from the templates, exports with the stored files."""

    def __init__(
        self,
        flows: FlowSet,
        templates: Templates,
        tz: tzinfo,
        clock: Callable[[], datetime],
        read_blob: ReadBlob,
        limit: int | None = TELEGRAM_UPLOAD_LIMIT - 1024 * 1024,
    ) -> None:
        self.flows = flows
        self.templates = templates
        self.tz = tz
        self.clock = clock
        self.read_blob = read_blob
        self.limit = limit

    def letter(
        self, case: CaseRecord, lang: str, profile: Profile, rung: int | None = None
    ) -> Letter:
        """Return the letter to the case's current rung (or `rung`, dated as it was due)."""
        today = self.clock().astimezone(self.tz).date()
        return write_letter(
            case,
            self.flows,
            self.templates,
            lang=lang,
            profile=profile,
            today=today,
            tz=self.tz,
            rung=rung,
        )

    async def export(self, case: CaseRecord, lang: str, profile: Profile) -> Document:
        """Return `NUMBER.zip`: a letter per rung reached, evidence, answers, timeline."""
        flow = self.flows.get(case.flow_id, case.flow_version)
        rungs = reached_rungs(flow.ladder, case) if flow else []
        letters = [self.letter(case, lang, profile, rung) for rung in rungs]
        files = []
        for index, record in enumerate(case.evidence, start=1):
            try:
                content: bytes | None = await self.read_blob(record.path)
            except (OSError, ValueError):
                content = None
            files.append(EvidenceFile(evidence_name(index, record, content), record, content))
        data = build_zip(case, self.flows, letters, files, lang, self.tz, self.limit)
        return Document(f"{case.number}.zip", data, "application/zip")
