"""File a case about checked messages: the matching intake starts pre-filled.

The category's intake starts with what the message tells (problem, sender, date, text) already
answered and the message attached as evidence; only the questions it could not answer are asked
before the summary.
"""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any

from flows.conversation.context import TurnContext
from flows.conversation.evidence import origin_meta, summary_of
from flows.conversation.handlers.intake import enter
from flows.conversation.suspect import Suspect
from flows.definition import actions
from flows.definition.schema import Flow, Step
from flows.definition.steps import kind_of
from flows.definition.texts import pick
from flows.records import EvidenceRecord

_DATE_IN_TEXT = re.compile(
    r"(?<!\d)(?:\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?|\d{1,2}\s*月\s*\d{1,2}\s*[日号])"
)


def dated_in(text: str) -> str | None:
    """Return the first date written in a message (2026-11-20, 11月20日) as ISO, if any."""
    for match in _DATE_IN_TEXT.finditer(text[:2000]):
        raw = re.sub(r"\s+", "", match.group(0))
        parts = [int(p) for p in re.findall(r"\d+", raw)]
        try:
            if len(parts) == 3:
                return date(parts[0], parts[1], parts[2]).isoformat()
            if len(parts) == 2:
                return f"{parts[0]}月{parts[1]}日"  # the date validator settles the year
        except ValueError:
            continue
    return None


async def file_from_check(ctx: TurnContext, check: dict[str, Any]) -> None:
    """Start the matching intake with what the checked messages tell already answered."""
    suspects = [Suspect.from_json(item) for item in check.get("items", [])]
    senders = [s for s in check.get("senders", []) if s]
    verdict = str(check.get("verdict") or "unknown")
    if not suspects:
        await ctx.ask_current(prefix=ctx.t("button_expired"))
        return
    first = suspects[0]
    body = next(iter(check.get("bodies") or []), None) or first.text
    # The day the message was sent: a forward carries it; otherwise a date written in the
    # message itself; failing both, the question is asked (never "today" by default).
    when = first.at.astimezone(ctx.services.timezone).date().isoformat() if first.at else None
    when = when or dated_in(body)
    telegram_only = not senders and all(s.origin.startswith("forward:") for s in suspects)
    prefill: dict[str, str]
    if telegram_only and ctx.services.flows.get("scam") is not None:
        # A chat message forwarded from someone: a scam attempt, never a complaint to the
        # sender itself (the scammer's "support" is the scammer).
        flow_id = "scam"
        who = first.sender_name or ctx.t("check_hidden_sender")
        if first.sender_id:
            who = f"{who} (id {first.sender_id})"
        prefill = {"problem": "contact", "scammer": who, "what_happened": body}
        if when:
            prefill["happened_on"] = when
    else:
        flow_id = "sms"
        prefill = {"problem": "fraud" if verdict == "fraud" else "spam", "content": body}
        if when:
            prefill["started"] = when
        if senders:
            prefill["sender"] = senders[0]
    await start_prefilled(ctx, flow_id, prefill, suspects)


async def start_prefilled(
    ctx: TurnContext, flow_id: str, prefill: dict[str, str], suspects: list[Suspect]
) -> None:
    """Start `flow_id` with `prefill` answered and the checked messages as evidence."""
    flow = ctx.services.flows.get(flow_id)
    machine = ctx.services.machines.get((flow.id, flow.version)) if flow else None
    if flow is None or machine is None:
        await ctx.show_menu()
        return
    conv = ctx.conv
    conv.flow_id, conv.flow_version = flow.id, flow.version
    conv.answers, conv.history, conv.pending = {}, [], {}
    conv.draft_id = uuid.uuid4().hex
    ctx.event("started", flow=flow.ref, source="check")
    records = await _evidence(ctx, suspects, conv.draft_id, flow)
    today = ctx.now.astimezone(ctx.services.timezone).date()
    for step in flow.steps.values():
        value = _prefilled(step, prefill.get(step.id), records, today)
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
    ctx.commit.evidence.extend(records)
    enter(ctx, state or flow.confirm_step)
    await ctx.save()
    ctx.say(ctx.t("check_prefilled", title=pick(flow.title, ctx.lang)))
    await ctx.ask_current()


def _prefilled(step: Step, raw: str | None, records: list[EvidenceRecord], today: date) -> Any:
    """Return the answer the checked message gives `step`, or None when it gives none."""
    kind = kind_of(step)
    given = [summary_of(r) for r in records] if kind.takes_files else raw
    return None if given is None else kind.prefill(step, given, today)


async def _evidence(
    ctx: TurnContext, suspects: list[Suspect], draft_id: str, flow: Flow
) -> list[EvidenceRecord]:
    step = next((s.id for s in flow.steps.values() if kind_of(s).takes_files), "evidence")
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
                created_at=ctx.now,
            )
        else:
            kind = "forward" if suspect.origin.startswith("forward:") else "message"
            record = await ctx.services.evidence.text(
                suspect.text, kind, kind, draft_id, step, meta, ctx.now
            )
        if record.sha256 not in seen:
            seen.add(record.sha256)
            records.append(record)
    return records
