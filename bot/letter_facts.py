"""Gather what a letter says from a case: answers as text, history, demands, laws, evidence."""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, tzinfo
from typing import Any

from flows.conversation.channel_text import ChannelText
from flows.conversation.render import Renderer
from flows.definition.actions import national
from flows.definition.ladder import Channel, Rung
from flows.definition.ladder_reader import placeholders
from flows.definition.schema import REMEDIES, Flow, FlowSet
from flows.definition.steps import in_letter
from flows.definition.texts import pick
from flows.records import CaseEvent, CaseRecord, EvidenceRecord, Profile, ShortReport

# What the history of earlier rungs says, per timeline event (events about the current channel
# are left out: the letter itself is the next thing that channel hears). Only what the person
# told us is dated: "I sent it" is the day they complained; the day the bot pointed them to a
# channel (`deadline_set`, `escalated`) is not, so such a complaint is told without a date.
_HISTORY = {
    "sent": "complained",
    "no_answer": "no_answer",
    "unsatisfied": "unsatisfied",
}
_REACHED = ("deadline_set", "escalated")


def long_date(day: date, lang: str) -> str:
    """Return a date as a letter writes it: 2026年11月22日, 22 November 2026."""
    if lang == "zh":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.day} {calendar.month_name[day.month]} {day.year}"


def one_line(text: str) -> str:
    """Return `text` on one line (a numbered list item must not break)."""
    return re.sub(r"\s*\n\s*", " / ", text.strip())


@dataclass(slots=True)
class LetterFacts:
    """Everything a letter template reads; plain data, built from a case by `gather`."""

    lang: str
    kind: str  # complaint | appeal | report | police
    flow: str
    channel: str
    number: str
    to: str  # addressee
    direct: bool  # the addressee is the respondent itself (no one to make them do it)
    complainant: Profile
    v: dict[str, str]  # each answer as one line of text, by step id
    opt: dict[str, str]  # the option id chosen at each choice step
    raw: dict[str, Any]  # the answers as stored
    # (date or "", complained | no_answer | unsatisfied, channel name, ticket or their answer)
    history: list[tuple[str, str, str, str]]
    demands: list[str]  # the person's remedies that belong in this kind of letter
    asks: list[str]  # what the letter asks of the channel itself (channels.yaml `asks`)
    against: str | None  # an appeal's respondent: the company of the rung below it
    basis: str | None  # the channel's own rule
    laws: list[tuple[str, str]]  # (citation, what it says)
    evidence: list[str]
    reply_by: str | None
    span: str
    deadline_rule: str | None
    today: str
    extra: dict[str, Any] = field(default_factory=dict)


def gather(
    case: CaseRecord,
    flows: FlowSet,
    rung_index: int,
    lang: str,
    profile: Profile,
    today: date,
    tz: tzinfo,
) -> tuple[LetterFacts, Channel, Rung]:
    """Return the facts of a letter about `case` to the channel of `rung_index`."""
    flow = flows.get(case.flow_id, case.flow_version)
    if flow is None or not 0 <= rung_index < len(flow.ladder):
        raise LookupError(f"case {case.number}: no rung {rung_index} in flow {case.flow}")
    rung = flow.ladder[rung_index]
    channel = flows.channels[rung.channel]
    text = ChannelText(flows, tz)
    render = Renderer(flows, tz)
    respondent = text.respondent(flow, rung, case.answers, lang)
    v, opt = answer_texts(flow, case.answers, render, lang)
    against = None
    if channel.letter == "appeal":
        below = [r for r in flow.ladder[:rung_index] if r.applies(case.answers)]
        if below:
            against = text.respondent(flow, below[-1], case.answers, lang)
    facts = LetterFacts(
        lang=lang,
        kind=channel.letter,
        flow=flow.id,
        channel=channel.id,
        number=case.number,
        to=pick(channel.addressee, lang).replace("{respondent}", respondent),
        direct=rung.respondent is not None,
        complainant=profile,
        v=v,
        opt=opt,
        raw=dict(case.answers),
        history=history(case.events, rung.channel, _names(flow, case, text, lang), lang, tz),
        demands=demands(flow, case.answers, lang, channel.letter),
        asks=list(channel.asks.get(lang, ())),
        against=against,
        basis=pick(channel.legal_basis, lang) if channel.legal_basis else None,
        laws=[
            (pick(law.cite, lang), pick(law.says, lang))
            for law in flows.laws.values()
            if law.fits(flow.id, channel.id, case.answers)
        ],
        evidence=[evidence_line(e, lang, tz) for e in case.evidence],
        reply_by=_reply_by(case, rung_index, rung.channel, text, lang),
        span=text.span(rung, lang),
        deadline_rule=pick(channel.deadline_rule, lang)
        if channel.deadline_rule and rung.binding
        else None,
        today=long_date(today, lang),
        extra={
            "title": pick(flow.title, lang),
            "respondent": respondent,
            "answers": [
                (render.label(step, lang), v[step.id])
                for step in flow.steps.values()
                if step.id in v and step.expect in ("text", "choice") and step.id != REMEDIES
            ],
        },
    )
    return facts, channel, rung


def answer_texts(
    flow: Flow, answers: Mapping[str, Any], render: Renderer, lang: str
) -> tuple[dict[str, str], dict[str, str]]:
    """Return each answer as one line of text, and the option chosen at each choice step."""
    v: dict[str, str] = {}
    opt: dict[str, str] = {}
    for step_id, value in answers.items():
        step = flow.steps.get(step_id)
        if value is None:
            continue
        if step is not None and step.expect == "choice":
            opt[step_id] = str(value)
        written = in_letter(step, value, lang, render.t)
        if written is not None:
            v[step_id] = one_line(written)
    return v, opt


def demands(
    flow: Flow, answers: Mapping[str, Any], lang: str, kind: str = "complaint"
) -> list[str]:
    """Return the chosen remedies that belong in a letter of `kind`, as it asks for them.

    A police report never asks for "my assets back to my account": each remedy says which kinds
    of letter it belongs in (`letters:`). What the person typed as "other" goes in every
    letter: they wrote it themselves.
    """
    step = flow.steps.get(REMEDIES)
    chosen = answers.get(REMEDIES)
    if step is None or not isinstance(chosen, Mapping):
        return []
    selected = set(chosen.get("selected", []))
    wanted = [
        pick(o.demand, lang)
        for o in step.options
        if o.id in selected and o.demand and kind in o.letters
    ]
    other = chosen.get("other")
    if isinstance(other, str) and other.strip():
        text = one_line(other)
        if text[-1] not in "。.!！?？":
            text += "。" if lang == "zh" or "\u4e00" <= text[-1] <= "\u9fff" else "."
        wanted.append(text)
    return wanted


def _names(flow: Flow, case: CaseRecord, text: ChannelText, lang: str) -> dict[str, str]:
    """Return who each channel of the case's ladder is, as a letter names them."""
    names: dict[str, str] = {}
    for rung in flow.ladder:
        if rung.applies(case.answers) and rung.channel not in names:
            names[rung.channel] = text.respondent(flow, rung, case.answers, lang)
    return names


def history(
    events: list[CaseEvent], current: str, names: Mapping[str, str], lang: str, tz: tzinfo
) -> list[tuple[str, str, str, str]]:
    """Return what happened at the earlier rungs, as the person told it, oldest first.

    Each entry is (date, what, channel, detail): the detail is the ticket number they gave for
    a complaint, or the other side's answer they reported. A channel the case reached but that
    the person never said they complained to is told without a date.
    """
    lines: list[tuple[str, str, str, str]] = []
    tickets = {  # the ticket number given after "I sent it", by channel (the last one given)
        str(e.data.get("channel")): str(e.data.get("ticket"))
        for e in events
        if e.kind == "ticket" and e.data.get("ticket")
    }
    told: set[str] = {
        str(e.data.get("channel")) for e in events if e.kind == "sent" and e.data.get("channel")
    }
    for event in events:
        channel = event.data.get("channel")
        if not isinstance(channel, str) or channel == current:
            continue
        name = names.get(channel, channel)
        ticket = str(event.data.get("ticket") or "")
        if event.kind in ("sent", *_REACHED):
            ticket = ticket or tickets.get(channel, "")
        if event.kind in _REACHED and channel not in told:
            told.add(channel)
            # the day the bot pointed them there is not the day they complained: no date
            entry = ("", "complained", name, ticket)
        elif (what := _HISTORY.get(event.kind)) is not None:
            day = long_date(event.at.astimezone(tz).date(), lang)
            detail = ticket if what != "unsatisfied" else str(event.data.get("answer") or "")
            entry = (day, what, name, one_line(detail))
        else:
            continue
        if entry not in lines:
            lines.append(entry)
    return lines


def evidence_line(record: EvidenceRecord, lang: str, tz: tzinfo) -> str:
    """Return one line of the evidence list."""
    zh = lang == "zh"
    when = ""
    if record.created_at is not None:
        when = long_date(record.created_at.astimezone(tz).date(), lang)
    if record.kind == "forward" and record.text is not None:
        sender = record.meta.get("sender")
        origin = (f"（来自 {sender}）" if zh else f" (from {sender})") if sender else ""
        quoted = one_line(record.text)
        if len(quoted) > 120:
            quoted = quoted[:120] + "…"
        return f"消息原文{origin}：「{quoted}」" if zh else f"Message text{origin}: “{quoted}”"
    name = record.file_name or ""
    label = {"photo": ("截图", "Screenshot")}.get(record.kind, ("文件", "File"))[0 if zh else 1]
    parts = [p for p in (name, when) if p]
    if not parts:
        return label
    return f"{label}（{'，'.join(parts)}）" if zh else f"{label} ({', '.join(parts)})"


def short_report(channel: Channel, answers: Mapping[str, Any], lang: str) -> ShortReport | None:
    """Return the channel's one-line SMS report filled from the answers, if it has one."""
    if channel.short is None:
        return None
    values = {}
    for name in placeholders(channel.short.text):
        answer = answers.get(name)
        if isinstance(answer, Mapping):
            answer = national(str(answer["number"])) if "number" in answer else answer.get("text")
        if not isinstance(answer, str) or not answer.strip():
            return None  # the report would be missing a part: better none than a wrong one
        values[name] = answer.strip()
    text = re.sub(r"\{([a-z][a-z0-9_]*)\}", lambda m: values[m[1]], channel.short.text)
    unconfirmed = None
    if not channel.confirmed and channel.unconfirmed:
        unconfirmed = pick(channel.unconfirmed, lang)
    return ShortReport(channel.short.to, text, unconfirmed)


def _reply_by(
    case: CaseRecord, rung_index: int, channel: str, text: ChannelText, lang: str
) -> str | None:
    day: date | None = None
    if rung_index == case.rung and case.due_at is not None:
        day = text.last_day(case.due_at)
    else:  # an earlier rung: the deadline it was given when the case reached it
        for event in case.events:
            if event.kind in ("deadline_set", "escalated") and event.data.get("channel") == channel:
                with_day = event.data.get("day")
                if isinstance(with_day, str):
                    day = date.fromisoformat(with_day)
    return long_date(day, lang) if day else None


def reached_rungs(case: CaseRecord, flow: Flow) -> list[int]:
    """Return the rungs the case has climbed so far, first to current."""
    return [i for i, r in enumerate(flow.ladder) if i <= case.rung and r.applies(case.answers)]


def reached_on(case: CaseRecord, rung: int, flows: FlowSet, tz: tzinfo) -> date | None:
    """Return the day the case reached `rung` (filed there, or escalated to it)."""
    flow = flows.get(case.flow_id, case.flow_version)
    if flow is None or not 0 <= rung < len(flow.ladder):
        return None
    channel = flow.ladder[rung].channel
    for event in case.events:
        if event.kind in ("deadline_set", "escalated") and event.data.get("channel") == channel:
            return event.at.astimezone(tz).date()
    return None
