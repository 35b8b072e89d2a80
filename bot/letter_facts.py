"""Gather what a letter says about a case into one record: the facts the templates read.

Everything comes one way: the definition (ladder, channels, laws, texts) and the case's own
facts (answers, timeline) from `flows`; this module turns them into a letter's plain data, and
bot/letters.py renders it.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, tzinfo
from typing import Any

from flows.conversation import climb
from flows.conversation.render import Renderer
from flows.definition.actions import national
from flows.definition.ladder import Channel, alongside, applicable, place, respondent, span
from flows.definition.ladder_reader import placeholders
from flows.definition.schema import REMEDIES, Flow, FlowSet
from flows.definition.steps import in_letter
from flows.definition.texts import pick
from flows.records import CaseRecord, EvidenceRecord, Profile, ShortReport


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
    short: ShortReport | None = None  # the channel's one-line SMS report, filled in
    also_short: tuple[ShortReport, ...] = ()  # those of the channels used at the same time
    extra: dict[str, Any] = field(default_factory=dict)


def gather(
    case: CaseRecord,
    flows: FlowSet,
    rung_index: int,
    lang: str,
    profile: Profile,
    today: date,
    tz: tzinfo,
) -> LetterFacts:
    """Return the facts of a letter about `case` to the channel of `rung_index`, dated `today`.

    A letter to an earlier rung is dated the day the case reached it: the day it was due.
    """
    flow = flows.get(case.flow_id, case.flow_version)
    rung, channel = place(flow.ladder if flow else (), rung_index, flows.channels)
    if flow is None or rung is None or channel is None:
        raise LookupError(f"case {case.number}: no rung {rung_index} in flow {case.flow}")
    answers = case.answers
    render = Renderer(flows, tz)
    who = respondent(rung, answers, flows.channels, lang)
    v, opt = answer_texts(flow, answers, render, lang)
    climbed = applicable(flow.ladder, answers)
    against = None
    if channel.letter == "appeal":
        below = [i for i in climbed if i < rung_index]
        if below:
            against = respondent(flow.ladder[below[-1]], answers, flows.channels, lang)
    names: dict[str, str] = {}  # who each channel of the ladder is, as a letter names them
    for other in (flow.ladder[i] for i in climbed):
        if other.channel not in names:
            names[other.channel] = respondent(other, answers, flows.channels, lang)
    reply_by = climb.reply_by(case, rung_index, rung.channel, tz)
    if rung_index != case.rung:
        today = climb.reached_on(case.events, rung.channel, tz) or today
    return LetterFacts(
        lang=lang,
        kind=channel.letter,
        flow=flow.id,
        channel=channel.id,
        number=case.number,
        to=pick(channel.addressee, lang).replace("{respondent}", who),
        direct=rung.respondent is not None,
        complainant=profile,
        v=v,
        opt=opt,
        raw=dict(answers),
        history=history(climb.told(case.events, rung.channel, tz), names, lang),
        demands=demands(flow, answers, lang, channel.letter),
        asks=list(channel.asks.get(lang, ())),
        against=against,
        basis=pick(channel.legal_basis, lang) if channel.legal_basis else None,
        laws=[
            (pick(law.cite, lang), pick(law.says, lang))
            for law in flows.laws.values()
            if law.fits(flow.id, channel.id, answers)
        ],
        evidence=[evidence_line(e, lang, tz) for e in case.evidence],
        reply_by=long_date(reply_by, lang) if reply_by else None,
        span=span(rung.deadline, flows.catalog, lang),
        deadline_rule=pick(channel.deadline_rule, lang)
        if channel.deadline_rule and rung.binding
        else None,
        today=long_date(today, lang),
        short=short_report(channel, answers, lang),
        also_short=tuple(
            report
            for other in alongside(flow.ladder, rung_index, answers)
            if (report := short_report(flows.channels[other], answers, lang)) is not None
        ),
        extra={
            "title": pick(flow.title, lang),
            "respondent": who,
            "answers": [
                (render.label(step, lang), v[step.id])
                for step in flow.steps.values()
                if step.id in v and step.expect in ("text", "choice") and step.id != REMEDIES
            ],
        },
    )


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


def history(
    told: list[climb.Told], names: Mapping[str, str], lang: str
) -> list[tuple[str, str, str, str]]:
    """Return what happened at the earlier rungs as the letter tells it, oldest first.

    Each entry is (date, what, channel, detail): the detail is the ticket number they gave for
    a complaint, or the other side's answer they reported. A channel the case reached but that
    the person never said they complained to is told without a date.
    """
    lines: list[tuple[str, str, str, str]] = []
    for item in told:
        day = long_date(item.day, lang) if item.day is not None else ""
        detail = one_line(item.detail) if item.day is not None else item.detail
        entry = (day, item.what, names.get(item.channel, item.channel), detail)
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
