"""The kinds of reminder a case can have: what each asks, and what its delivery does to the case.

A reminder row names its kind (`NewReminder(kind, due_at)`); the scheduler sends it, the
follow-ups ask its question and, when it reached the person, fire its lifecycle trigger. A new
kind is one entry here, the place that schedules it, and its question in common.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ReminderKind:
    """One kind of reminder: the text it asks with, and the trigger its delivery fires."""

    name: str
    question: str  # catalog key of the question, with the case's follow-up buttons
    # Lifecycle trigger fired on the case once the reminder reached its owner (None: only the
    # "reminded" event is recorded).
    on_delivery: str | None = None


REMINDER_KINDS: dict[str, ReminderKind] = {
    kind.name: kind
    for kind in (
        # The respondent's deadline passed: "resolved / unsatisfied / no reply?"
        ReminderKind("deadline", "followup_question", on_delivery="deadline_passed"),
        # The person asked to be reminded later about a case still waiting.
        ReminderKind("snooze", "snooze_question"),
    )
}
