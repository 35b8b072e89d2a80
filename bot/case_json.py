"""A case as JSON, for operators (`complaint-bot cases ... --json`) and exports."""

from __future__ import annotations

from typing import Any

from flows.definition.ladder import applicable, place
from flows.definition.schema import FlowSet
from flows.records import CaseRecord, Reminder


def case_to_json(
    case: CaseRecord, *, full: bool = True, flows: FlowSet | None = None
) -> dict[str, Any]:
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
        "ladder": _ladder(case, flows),
        "due_at": case.due_at.isoformat() if case.due_at else None,
        "rating": case.rating,
        "comment": case.comment,
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


def _ladder(case: CaseRecord, flows: FlowSet | None) -> dict[str, Any]:
    position: dict[str, Any] = {"rung": case.rung}
    flow = flows.get(case.flow_id, case.flow_version) if flows else None
    if flow is None or flows is None:
        return position
    rung, _ = place(flow.ladder, case.rung, flows.channels)
    if rung is not None:
        position["channel"] = rung.channel
        position["binding"] = rung.binding
        position["steps"] = [flow.ladder[i].channel for i in applicable(flow.ladder, case.answers)]
    return position


def reminder_to_json(reminder: Reminder) -> dict[str, Any]:
    """Return a pending reminder as plain JSON data."""
    return {
        "id": reminder.id,
        "case": reminder.case_number,
        "user": f"{reminder.key.messenger}:{reminder.key.user_id}",
        "kind": reminder.kind,
        "due_at": reminder.due_at.isoformat(),
        "attempts": reminder.attempts,
        "unreachable": reminder.unreachable,
    }
