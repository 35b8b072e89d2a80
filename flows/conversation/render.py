"""Turn steps, answers and cases into Replies in the person's language."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, tzinfo
from typing import Any

from flows.conversation.callbacks import GLOBAL, encode
from flows.definition.machine import FlowMachine
from flows.definition.schema import Flow, FlowSet, Step
from flows.definition.steps import kind_of, shown
from flows.definition.steps.kind import Key, Moment, Prompt, Rows
from flows.definition.texts import pick
from flows.model import Button, Reply
from flows.records import CaseRecord, CaseSummary, Conversation

SUMMARY_TEXT_LIMIT = 300


class Renderer:
    """Say things: questions, the summary, case views; knows no storage."""

    def __init__(self, flows: FlowSet, timezone: tzinfo) -> None:
        self.flows = flows
        self.t = flows.catalog
        self.timezone = timezone

    def menu(
        self, conv: Conversation, *, greeting: bool = False, first: str | None = None
    ) -> Reply:
        """Return the "what happened?" question with a button per category (`first` on top)."""
        lang = conv.language
        lines = [self.t("greeting", lang)] if greeting else []
        lines.append(self.t("choose_category", lang))
        buttons = tuple(
            (Button(pick(flow.title, lang), encode(conv.turn, "cat", flow.id)),)
            for flow in sorted(self.flows.categories(), key=lambda flow: flow.id != first)
        )
        return Reply("\n\n".join(lines), buttons)

    def question(self, machine: FlowMachine, conv: Conversation, prefix: str = "") -> Reply:
        """Return the current step's question, with where the person is and the step's buttons."""
        flow = machine.flow
        step = flow.steps[conv.state or flow.first]
        kind = kind_of(step)
        if kind.final:
            return self.summary(flow, conv, prefix)
        lang = conv.language
        total = len(conv.history) + machine.remaining(step.id, conv.answers)
        progress = self.t("progress", lang, n=len(conv.history) + 1, total=total)
        parts = [prefix] if prefix else []
        if step.say:
            parts.append(pick(step.say, lang))
        parts.append(f"{progress} {pick(step.ask or {}, lang)}")
        current = conv.answers.get(step.id)
        if current is not None and kind.shows_current:
            parts.append(self.t("current_answer", lang, answer=self.display(step, current, lang)))
        asked = kind.ask(step, self.moment(conv))
        nav = (Key(self.t("back", lang), "back"), *asked.nav)
        rows = self.buttons((*asked.rows, nav), conv.turn)
        return Reply("\n\n".join(parts), rows, expects_text=asked.expects_text)

    def moment(self, conv: Conversation, today: date | None = None) -> Moment:
        """Return the conversation as a step kind sees it."""
        return Moment(conv.answers, conv.pending, conv.language, self.t, today)

    def buttons(self, rows: Rows, turn: int) -> tuple[tuple[Button, ...], ...]:
        """Return a kind's keys as buttons of this turn (older turns' buttons expire)."""
        return tuple(
            tuple(Button(key.label, encode(turn, key.verb, key.arg)) for key in row) for row in rows
        )

    def prompt(self, prompt: Prompt, conv: Conversation) -> Reply:
        """Return a step kind's own question (the text after "other…") as a new message."""
        rows = self.buttons(prompt.rows, conv.turn)
        return Reply(prompt.text, rows, expects_text=prompt.expects_text)

    def redraw(self, machine: FlowMachine, conv: Conversation, prefix: str = "") -> Reply:
        """Return the current question as an edit of the message whose button was pressed."""
        reply = self.question(machine, conv, prefix)
        return Reply(reply.text, reply.buttons, edit=True, expects_text=reply.expects_text)

    def summary(self, flow: Flow, conv: Conversation, prefix: str = "") -> Reply:
        """Return every answer on the path, with a button to edit each, file or cancel."""
        lang, turn = conv.language, conv.turn
        lines = [prefix] if prefix else []
        lines.append(f"{self.t('summary_title', lang)}\n")
        lines.extend(self.answer_lines(flow, conv.history, conv.answers, lang))
        lines.append(f"\n{self.t('summary_confirm', lang)}")
        edits = [
            Button(
                self.t("summary_edit", lang, label=self.label(flow.steps[s], lang)),
                encode(turn, "edit", s),
            )
            for s in conv.history
            if s in flow.steps
        ]
        rows = [tuple(edits[i : i + 2]) for i in range(0, len(edits), 2)]
        rows.insert(0, (Button(self.t("file_case", lang), encode(turn, "file")),))
        rows.append(
            (
                Button(self.t("back", lang), encode(turn, "back")),
                Button(self.t("cancel", lang), encode(turn, "cancel")),
            )
        )
        return Reply("\n".join(lines), tuple(rows))

    def answer_lines(
        self, flow: Flow, order: list[str], answers: Mapping[str, Any], lang: str
    ) -> list[str]:
        """Return "label: answer" lines for the steps in `order`."""
        lines = []
        for step_id in order:
            step = flow.steps.get(step_id)
            if step is None or step.expect == "confirm":
                continue
            shown = self.display(step, answers.get(step_id), lang)
            if len(shown) > SUMMARY_TEXT_LIMIT:
                shown = shown[:SUMMARY_TEXT_LIMIT] + "…"
            lines.append(f"• {self.label(step, lang)}: {shown}")
        return lines

    def label(self, step: Step, lang: str) -> str:
        """Return a step's short name: its label, or its question cut short."""
        if step.label:
            return pick(step.label, lang)
        ask = pick(step.ask or {}, lang)
        for mark in ("？", "?", "：", ":", "。", "\n"):
            ask = ask.split(mark, 1)[0]
        return ask[:24]

    def display(self, step: Step, value: Any, lang: str) -> str:
        """Return an answer as the person would read it."""
        return shown(step, value, lang, self.t)

    def when(self, moment: datetime) -> str:
        """Return a moment in the configured timezone, to the minute."""
        return moment.astimezone(self.timezone).strftime("%Y-%m-%d %H:%M")

    def case_list(self, cases: list[CaseSummary], lang: str) -> Reply:
        """Return the person's cases, one line and one button each."""
        if not cases:
            return Reply(self.t("cases_none", lang))
        lines = [self.t("cases_title", lang)]
        buttons = []
        for case in cases:
            lines.append(
                f"{case.number} · {self.category(case.category, lang)} · "
                f"{self.state(case.state, lang)} · {self.when(case.created_at)[:10]}"
            )
            buttons.append((Button(case.number, encode(GLOBAL, "case", case.number)),))
        return Reply("\n".join(lines), tuple(buttons[:10]))

    def case_view(
        self,
        case: CaseRecord,
        lang: str,
        *,
        extra: list[str] | None = None,
        actions: tuple[tuple[Button, ...], ...] = (),
    ) -> Reply:
        """Return one case: its facts, where it stands, its answers and timeline."""
        flow = self.flows.get(case.flow_id, case.flow_version)
        problem = case.problem or ""
        if flow and case.problem and (step := flow.steps.get("problem")):
            problem = self.display(step, case.problem, lang)
        head = self.t(
            "case_view",
            lang,
            number=case.number,
            category=self.category(case.category, lang),
            problem=problem,
            state=self.state(case.state, lang),
            created=self.when(case.created_at),
            evidence=len(case.evidence),
        )
        lines = [head, *(extra or []), ""]
        if flow:
            order = [s for s in flow.steps if s in case.answers and s != "problem"]
            lines.extend(self.answer_lines(flow, order, case.answers, lang))
        lines.append(f"\n{self.t('timeline_title', lang)}")
        for event in case.events:
            lines.append(f"{self.when(event.at)}  {self.event(event.kind, event.data, lang)}")
        new = (Button(self.t("new_case", lang), encode(GLOBAL, "new")),)
        return Reply("\n".join(lines), (*actions, new))

    def category(self, flow_id: str, lang: str) -> str:
        flow = self.flows.get(flow_id)
        return pick(flow.title, lang) if flow else flow_id

    def state(self, state: str, lang: str) -> str:
        lifecycle = self.flows.lifecycle
        if lifecycle is not None and state in lifecycle.states:
            return pick(lifecycle.states[state], lang)
        key = f"state_{state}"
        return self.t(key, lang) if self.t.has(key) else state

    def event(self, kind: str, data: Mapping[str, Any], lang: str) -> str:
        key = f"event_{kind}"
        if not self.t.has(key):
            return kind
        data = dict(data)
        if isinstance(data.get("channel"), str) and data["channel"] in self.flows.channels:
            data["channel"] = pick(self.flows.channels[data["channel"]].name, lang)
        try:
            return self.t(key, lang, **data)
        except (KeyError, IndexError):
            return self.t(key, lang) if "{" not in self.t(key, lang) else kind
