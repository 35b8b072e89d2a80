"""A case as JSON, for operators (`complaint-bot cases ... --json`) and exports."""

from __future__ import annotations

from typing import Any

from flows.store import CaseRecord


def case_to_json(case: CaseRecord, *, full: bool = True) -> dict[str, Any]:
    """Return the case as plain JSON data; `full` adds evidence and timeline."""
    data: dict[str, Any] = {
        "number": case.number,
        "user": case.user,
        "category": case.category,
        "problem": case.problem,
        "state": case.state,
        "answers": case.answers,
        "remedies": case.remedies,
        "evidence_count": len(case.evidence),
        "flow": case.flow,
        "language": case.language,
        "created_at": case.created_at.isoformat(),
        "updated_at": case.updated_at.isoformat(),
    }
    if full:
        data["evidence"] = [
            {
                "kind": e.kind,
                "file_name": e.file_name,
                "mime_type": e.mime_type,
                "size": e.size,
                "sha256": e.sha256,
                "path": e.path,
                "telegram_file_id": e.file_id,
                "telegram_file_unique_id": e.file_unique_id,
                "group_id": e.group_id,
                "text": e.text,
                "meta": e.meta,
                "created_at": e.created_at.isoformat() if e.created_at else None,
            }
            for e in case.evidence
        ]
        data["timeline"] = [
            {"at": ev.at.isoformat(), "kind": ev.kind, "data": ev.data} for ev in case.events
        ]
    return data
