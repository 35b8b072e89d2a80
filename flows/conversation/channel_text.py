"""Say where to complain and by when: channel cards, deadline sentences, short dates."""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from datetime import date, datetime, time, tzinfo
from typing import Any

from flows.definition.ladder import (
    Rung,
    alongside,
    applicable,
    channel_name,
    last_day,
    respondent,
    span,
)
from flows.definition.schema import Conditions, Flow, FlowSet
from flows.definition.texts import Texts, pick
from flows.records import CaseRecord, Due


class ChannelText:
    """Render the facts of channels and rungs in a person's language."""

    def __init__(self, flows: FlowSet, tz: tzinfo) -> None:
        self.flows = flows
        self.t = flows.catalog
        self.tz = tz

    def day(self, day: date, lang: str) -> str:
        """Return a date as people say it: 12月8日, 8 December."""
        return self.t(
            "date_short", lang, m=day.month, d=day.day, month=calendar.month_name[day.month]
        )

    def due(self, due_at: datetime, lang: str) -> str:
        """Return a stored deadline as people say it: 12月7日, or 12月7日 15:30 when not a day."""
        local = due_at.astimezone(self.tz)
        text = self.day(last_day(due_at, self.tz), lang)
        if local.time() != time(0):
            text += local.strftime(" %H:%M")
        return text

    def card(self, channel_id: str, lang: str, note: Texts | None = None) -> list[str]:
        """Return the lines telling how to use a channel, unconfirmed facts flagged."""
        channel = self.flows.channels.get(channel_id)
        if channel is None:
            return [channel_id]
        lines = [f"【{pick(channel.name, lang)}】"]
        if channel.phones:
            lines.append(self.t("channel_phones", lang, phones=" / ".join(channel.phones)))
        if channel.site:
            lines.append(self.t("channel_site", lang, site=channel.site))
        lines.append(self.t("channel_how", lang, text=pick(channel.how, lang)))
        lines.append(self.t("channel_include", lang, text=pick(channel.include, lang)))
        if note:
            lines.append(pick(note, lang))
        if channel.legal_basis:
            lines.append(self.t("channel_basis", lang, text=pick(channel.legal_basis, lang)))
        if channel.deadline_rule:
            lines.append(self.t("channel_deadline", lang, text=pick(channel.deadline_rule, lang)))
        if channel.unconfirmed:
            lines.append(self.t("channel_unconfirmed", lang, text=pick(channel.unconfirmed, lang)))
        return lines

    def deadline(self, rung: Rung, who: str, due: Due, lang: str) -> str:
        """Return "X must answer within 15 days: by 8 December" (or when we check back)."""
        if rung.binding:
            key, date = "deadline_binding", self.day(due.day, lang)
        else:  # we ask once the span is over: the day its last day ends
            key, date = "deadline_checkin", self.day(due.at.astimezone(self.tz).date(), lang)
        return self.t(key, lang, respondent=who, span=span(rung.deadline, self.t, lang), date=date)

    def next_step(
        self, flow: Flow, rung: Rung, answers: Mapping[str, Any], due: Due, lang: str
    ) -> str:
        """Return the whole "where to go next, how, and by when" message."""
        who = respondent(rung, answers, self.flows.channels, lang)
        lines = [self.t("next_channel", lang, channel=who)]
        lines += self.card(rung.channel, lang, rung.note)
        lines += self.also(flow, rung, answers, lang)
        lines += ["", self.deadline(rung, who, due, lang)]
        lines += ["", self.t("complaint_free", lang)]
        return "\n".join(lines)

    def also(self, flow: Flow, rung: Rung, answers: Mapping[str, Any], lang: str) -> list[str]:
        """Return the cards of the channels to use at the same time as `rung`."""
        index = flow.ladder.index(rung) if rung in flow.ladder else None
        channels = alongside(flow.ladder, index, answers) if index is not None else []
        lines: list[str] = []
        for channel in channels:
            lines += ["", self.t("also_channel", lang), *self.card(channel, lang)]
        return lines

    # ----------------------------------------------------------------- /channels lists

    def categories(self, lang: str) -> list[tuple[str, str]]:
        """Return (flow id, title) of each category, in menu order."""
        return [(flow.id, pick(flow.title, lang)) for flow in self.flows.categories()]

    def flow_channels(self, flow: Flow, lang: str) -> str:
        """Return every channel a category's ladder may use, in order, with when it applies."""
        lines = [self.t("channels_flow_title", lang, title=pick(flow.title, lang))]
        seen: set[str] = set()
        for rung in flow.ladder:
            if rung.channel in seen:
                continue
            seen.add(rung.channel)
            lines += ["", *self.card(rung.channel, lang, rung.note)]
            also = [channel_name(c, self.flows.channels, lang) for c in rung.also]
            if also:
                sep = "、" if lang == "zh" else ", "
                lines.append(self.t("also_names", lang, names=sep.join(also)))
            if rung.when:
                lines.append(
                    self.t("channels_when", lang, when=self.describe(flow, rung.when, lang))
                )
        return "\n".join([*lines, *self.after_ladder(lang)])

    def case_channels(self, case: CaseRecord, lang: str) -> str:
        """Return the channels of one case's ladder: done, current and still to come."""
        flow = self.flows.get(case.flow_id, case.flow_version)
        lines = [self.t("channels_case_title", lang, number=case.number)]
        if flow is None:
            return lines[0]
        for n, index in enumerate(applicable(flow.ladder, case.answers), start=1):
            rung = flow.ladder[index]
            mark = "✅" if index < case.rung else "👉" if index == case.rung else "⬜"
            card = self.card(rung.channel, lang, rung.note)
            lines += ["", f"{mark} {n}. {card[0]}", *card[1:]]
            lines += self.also(flow, rung, case.answers, lang)
        return "\n".join([*lines, *self.after_ladder(lang)])

    def describe(self, flow: Flow, when: Conditions, lang: str) -> str:
        """Return a rung's condition as people read it: "问题：诈骗短信"."""
        sep = "、" if lang == "zh" else ", "
        parts = []
        for key, values in when.items():
            step = flow.steps.get(key)
            if step is None:
                continue
            labels = [pick(o.label, lang) for o in step.options if o.id in values]
            name = pick(step.label, lang) if step.label else key
            parts.append(f"{name}{'：' if lang == 'zh' else ': '}{sep.join(labels)}")
        return ("；" if lang == "zh" else "; ").join(parts)

    def after_ladder(self, lang: str) -> list[str]:
        """Return the cards of where to go once the ladder is climbed (mediation, legal aid)."""
        if not self.flows.after_ladder:
            return []
        lines = ["", self.t("channels_after", lang)]
        for channel in self.flows.after_ladder:
            lines += ["", *self.card(channel, lang)]
        return lines
