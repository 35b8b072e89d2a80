"""A filed case's life: its deadline, the reminder when it passes, and what each answer does.

Buttons about a case are global (`g:VERB:NUMBER[:ARG]`): they never expire with the intake's
turn counter, and every change is guarded by the state the case was in when it was drawn, so a
second press of an old button changes nothing and says so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo

from flows.conversation.callbacks import GLOBAL, encode
from flows.conversation.channel_text import ChannelText
from flows.conversation.reminder_kinds import REMINDER_KINDS
from flows.definition.ladder import Rung, applicable, due_for, next_rung, place, respondent
from flows.definition.lifecycle import CaseMachine, Lifecycle
from flows.definition.schema import Flow, FlowSet
from flows.model import Button, ConversationKey, Reply
from flows.ports import CaseStore, DeadlinePolicy
from flows.records import CaseChange, CaseEvent, CaseRecord, Due, NewReminder, Reminder

OUTCOMES = ("resolved", "unsatisfied", "no_answer", "close")
SNOOZE_DAYS = (1, 3, 7)


@dataclass(frozen=True, slots=True)
class Filing:
    """What filing adds to a new case: its first rung, deadline and reminder, and what to say."""

    rung: int
    due: Due | None
    message: str


class FollowUps:
    """Deadlines and follow-ups of filed cases, for the engine and the scheduler."""

    def __init__(
        self,
        flows: FlowSet,
        store: CaseStore,
        policy: DeadlinePolicy,
        clock: Callable[[], datetime],
        timezone: tzinfo,
        on_reminder: Callable[[datetime], None] | None = None,
    ) -> None:
        assert flows.lifecycle is not None, "the flow set has no lifecycle"
        self.flows = flows
        self.lifecycle: Lifecycle = flows.lifecycle
        self.machine = CaseMachine(self.lifecycle)
        self.store = store
        self.policy = policy
        self.clock = clock
        self.tz = timezone
        self.on_reminder = on_reminder
        self.text = ChannelText(flows, timezone)
        self.t = flows.catalog

    # ----------------------------------------------------------------------------- filing

    def filing(self, flow: Flow, answers: dict[str, object], now: datetime, lang: str) -> Filing:
        """Return the first rung that applies, its deadline and the "where next" message."""
        index = next_rung(flow.ladder, answers)
        if index is None:
            return Filing(0, None, self.t("no_channel", lang))
        rung = flow.ladder[index]
        due = due_for(self.policy, rung, now)
        return Filing(index, due, self.text.next_step(flow, rung, answers, due, lang))

    def filed(self, due: Due | None) -> None:
        """Tell the scheduler about a deadline just written."""
        if due is not None and self.on_reminder is not None:
            self.on_reminder(due.at)

    # ------------------------------------------------------------------------- questions

    def question(self, case: CaseRecord, lang: str, *, key: str = "followup_question") -> Reply:
        """Return "has X answered?" with the outcome buttons."""
        flow, rung = self._place(case)
        respondent = self._respondent(case, flow, rung, lang)
        if key == "followup_question" and rung is not None and not rung.binding:
            key = "checkin_question"  # no rule set their deadline: we only said we'd ask
        date = self.text.due(case.due_at or self.clock(), lang)
        text = self.t(key, lang, number=case.number, respondent=respondent, date=date)
        n = case.number
        rows: list[tuple[Button, ...]] = [
            (Button(self.t("fu_resolved", lang), encode(GLOBAL, "fu", f"{n}:resolved")),),
            (Button(self.t("fu_unsatisfied", lang), encode(GLOBAL, "fu", f"{n}:unsatisfied")),),
        ]
        if key != "replied_question":
            rows.append(
                (Button(self.t("fu_no_answer", lang), encode(GLOBAL, "fu", f"{n}:no_answer")),)
            )
            rows.append((Button(self.t("fu_snooze", lang), encode(GLOBAL, "snz", n)),))
        rows.append((Button(self.t("fu_close", lang), encode(GLOBAL, "fu", f"{n}:close")),))
        return Reply(text, tuple(rows))

    def snooze_question(self, number: str, lang: str) -> Reply:
        buttons = tuple(
            Button(self.t("snooze_days", lang, n=days), encode(GLOBAL, "snz", f"{number}:{days}"))
            for days in SNOOZE_DAYS
        )
        return Reply(self.t("snooze_ask", lang, number=number), (buttons,))

    def case_lines(self, case: CaseRecord, lang: str) -> list[str]:
        """Return the ladder position, deadline and rating lines of the case view."""
        flow, rung = self._place(case)
        lines = []
        if flow is not None and rung is not None:
            climbed = applicable(flow.ladder, case.answers)
            position = climbed.index(case.rung) + 1 if case.rung in climbed else 1
            channel = self._respondent(case, flow, rung, lang)
            lines.append(
                self.t("case_position", lang, channel=channel, n=position, total=len(climbed))
            )
        if case.due_at is not None:
            lines.append(self.t("case_due", lang, date=self.text.due(case.due_at, lang)))
        if case.rating is not None:
            lines.append(self.t("case_rating", lang, rating=case.rating))
        return lines

    def case_buttons(self, case: CaseRecord, lang: str) -> tuple[tuple[Button, ...], ...]:
        """Return what a person can say about the case from its view, given its state."""
        n = case.number
        rows: list[tuple[Button, ...]] = []
        if case.state in self.lifecycle.sources("sent"):
            rows.append(
                (
                    Button(self.t("fu_sent", lang), encode(GLOBAL, "sent", n)),
                    Button(self.t("fu_replied", lang), encode(GLOBAL, "ans", n)),
                )
            )
        elif case.state in self.lifecycle.sources("resolved"):
            rows.append(
                (Button(self.t("fu_resolved", lang), encode(GLOBAL, "fu", f"{n}:resolved")),)
            )
        if case.state in self.lifecycle.sources("close"):
            rows.append((Button(self.t("fu_close", lang), encode(GLOBAL, "fu", f"{n}:close")),))
        return tuple(rows)

    # --------------------------------------------------------------------------- changes

    async def apply(
        self,
        key: ConversationKey,
        number: str,
        trigger: str,
        lang: str,
        *,
        days: int = 0,
        note: Mapping[str, str] | None = None,
    ) -> list[Reply]:
        """Move a case by `trigger` for its owner; return what to tell them.

        `note` is what the person told about the channel they leave: its ticket number
        (`ticket`) or its answer (`answer`); the next letter quotes it.
        """
        told = {k: v for k, v in (note or {}).items() if v}
        case = await self.store.get_case(key, number)
        if case is None:
            return [Reply(self.t("case_not_found", lang, number=number))]
        flow, rung = self._place(case)
        ladder = flow.ladder if flow else ()
        upcoming = next_rung(ladder, case.answers, case.rung)
        first = next_rung(ladder, case.answers)
        dest = self.machine.fire(
            trigger,
            case.state,
            has_next_rung=upcoming is not None,
            at_first_rung=case.rung == first,
        )
        if dest is None:
            return [self._moved_on(case, lang)]
        now = self.clock()
        change = CaseChange(
            number, key, expect_states=frozenset({case.state}), state=dest, cancel_reminders=True
        )
        channel = rung.channel if rung else ""
        replies: list[Reply] = []
        due: Due | None = None
        if trigger == "snooze":
            at = self.policy.later(now, days)
            change.reminder = NewReminder("snooze", at)
            day = at.astimezone(self.tz).date()
            change.events.append(CaseEvent("snoozed", now, {"day": day.isoformat()}))
            replies.append(
                Reply(self.t("snoozed", lang, number=number, date=self.text.day(day, lang)))
            )
        elif trigger == "sent" and rung is not None and flow is not None:
            due = due_for(self.policy, rung, now)
            change.events.append(CaseEvent("sent", now, {"channel": channel, **told}))
            respondent = self._respondent(case, flow, rung, lang)
            text = self.t("sent_recorded", lang, number=number, channel=respondent)
            replies.append(Reply(f"{text}\n{self.text.deadline(rung, respondent, due, lang)}"))
        elif trigger in ("unsatisfied", "no_answer"):
            change.events.append(CaseEvent(trigger, now, {"channel": channel, **told}))
            if upcoming is not None and flow is not None:
                new = flow.ladder[upcoming]
                due = due_for(self.policy, new, now)
                change.rung = upcoming
                change.events.append(
                    CaseEvent(
                        "escalated", now, {"channel": new.channel, "day": due.day.isoformat()}
                    )
                )
                head = self.t("escalated", lang, number=number)
                body = self.text.next_step(flow, new, case.answers, due, lang)
                replies.append(Reply(f"{head}\n\n{body}"))
            else:
                change.clear_due = True
                change.events.append(CaseEvent("ladder_end", now))
                replies.append(self._ladder_end(number, lang))
        elif trigger == "resolved":
            change.clear_due = True
            change.events.append(CaseEvent("resolved", now))
            stars = tuple(
                Button("⭐" * n, encode(GLOBAL, "rate", f"{number}:{n}")) for n in range(1, 6)
            )
            replies.append(Reply(self.t("resolved_done", lang, number=number), (stars,)))
        elif trigger == "close":
            change.clear_due = True
            change.events.append(CaseEvent("closed", now))
            replies.append(Reply(self.t("closed_done", lang, number=number)))
        if due is not None:
            change.due_at = due.at
            change.reminder = NewReminder("deadline", due.at)
        if not await self.store.change_case(change):
            fresh = await self.store.get_case(key, number)
            return [self._moved_on(fresh or case, lang)]
        if change.reminder is not None and self.on_reminder is not None:
            self.on_reminder(change.reminder.due_at)
        return replies

    async def rate(self, key: ConversationKey, number: str, rating: int, lang: str) -> bool:
        """Store a 1-5 rating of a resolved case, once; return False when it does not apply."""
        case = await self.store.get_case(key, number)
        if case is None or case.state != "resolved" or case.rating is not None:
            return False
        event = CaseEvent("rated", self.clock(), {"rating": rating})
        change = CaseChange(
            number, key, expect_states=frozenset({"resolved"}), rating=rating, events=[event]
        )
        return await self.store.change_case(change)

    async def comment(self, key: ConversationKey, number: str, text: str) -> bool:
        """Store the comment that goes with a rating."""
        event = CaseEvent("commented", self.clock())
        return await self.store.change_case(
            CaseChange(number, key, comment=text[:1000], events=[event])
        )

    # ------------------------------------------------------------------------- reminders

    async def prompt(self, reminder: Reminder) -> Reply | None:
        """Return the question a due reminder asks, or None when the case no longer needs it."""
        case = await self.store.get_case(reminder.key, reminder.case_number)
        if case is None or case.state not in self.lifecycle.sources("no_answer"):
            return None
        kind = REMINDER_KINDS.get(reminder.kind)
        if kind is None:  # written by a newer version of the bot: leave it, say nothing
            return None
        return self.question(case, reminder.language, key=kind.question)

    async def delivered(self, reminder: Reminder) -> bool:
        """Mark the reminder sent and record it on the case: past its deadline, it awaits an update.

        Both in one transaction; False, recording nothing, when it had been marked sent already
        (sent again after a crash between the send and this record).
        """
        return await self.store.reminder_sent(reminder.id, await self.delivery(reminder))

    async def delivery(self, reminder: Reminder) -> list[CaseChange]:
        """Return what sending the reminder records on its case (the first that applies)."""
        events = [CaseEvent("reminded", self.clock())]
        changes: list[CaseChange] = []
        case = await self.store.get_case(reminder.key, reminder.case_number)
        kind = REMINDER_KINDS.get(reminder.kind)
        if case is not None and kind is not None and kind.on_delivery is not None:
            dest = self.machine.fire(
                kind.on_delivery, case.state, has_next_rung=False, at_first_rung=False
            )
            if dest is not None:
                changes.append(
                    CaseChange(
                        case.number,
                        None,
                        expect_states=frozenset({case.state}),
                        state=dest,
                        events=events,
                    )
                )
        # A kind that changes nothing (a snooze), or a case that moved on: only the event.
        changes.append(CaseChange(reminder.case_number, None, events=events))
        return changes

    # --------------------------------------------------------------------------- helpers

    async def note(self, key: ConversationKey, number: str, told: Mapping[str, str]) -> bool:
        """Keep what the person told about the current channel (its ticket number)."""
        case = await self.store.get_case(key, number)
        if case is None:
            return False
        _, rung = self._place(case)
        data = {"channel": rung.channel if rung else "", **told}
        return await self.store.change_case(
            CaseChange(number, key, events=[CaseEvent("ticket", self.clock(), data)])
        )

    def refusal(self, case: CaseRecord, trigger: str, lang: str) -> Reply | None:
        """Return why `trigger` no longer applies to the case (a stale button), or None."""
        flow, _ = self._place(case)
        ladder = flow.ladder if flow else ()
        dest = self.machine.fire(
            trigger,
            case.state,
            has_next_rung=next_rung(ladder, case.answers, case.rung) is not None,
            at_first_rung=case.rung == next_rung(ladder, case.answers),
        )
        return self._moved_on(case, lang) if dest is None else None

    def current_channel(self, case: CaseRecord, lang: str) -> str:
        """Return who the case waits on now, as the person would name them."""
        flow, rung = self._place(case)
        return self._respondent(case, flow, rung, lang)

    def _place(self, case: CaseRecord) -> tuple[Flow | None, Rung | None]:
        flow = self.flows.get(case.flow_id, case.flow_version)
        rung, _ = place(flow.ladder if flow else (), case.rung, self.flows.channels)
        return flow, rung

    def _respondent(self, case: CaseRecord, flow: Flow | None, rung: Rung | None, lang: str) -> str:
        if rung is None:
            return self.t("respondent_unknown", lang)
        return respondent(rung, case.answers, self.flows.channels, lang)

    def _moved_on(self, case: CaseRecord, lang: str) -> Reply:
        names = self.lifecycle.states.get(case.state)
        state = names.get(lang, case.state) if names else case.state
        return Reply(self.t("case_moved_on", lang, number=case.number, state=state))

    def _ladder_end(self, number: str, lang: str) -> Reply:
        lines = [self.t("ladder_end", lang, number=number), *self.text.after_ladder(lang)]
        return Reply("\n".join(lines))
