"""A filed case's climb, read back from its timeline: what the next letter tells of it.

The events are the ones the follow-ups write; the table says what a letter to the next channel
must take from them (REVIEW: a letter tells only what the person said, dated as they said it).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from flows.conversation.climb import Told, reached_on, reached_rungs, reply_by, told
from flows.definition.schema import load_flows
from flows.records import CaseEvent, CaseRecord

FLOWS = load_flows()
TZ = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int = 2) -> datetime:
    """Return `hour` UTC on that day of November 2026 (from 16:00 UTC, the next day in Shanghai)."""
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def event(kind: str, on: int, **data: Any) -> CaseEvent:
    return CaseEvent(kind, at(on), data)


FILED = event("deadline_set", 1, channel="china_mobile", day="2026-11-16")
CASES: list[tuple[str, list[CaseEvent], str, list[Told]]] = [
    (
        "reached, never said they complained: told once, without a day",
        [FILED, event("escalated", 17, channel="miit_12300", day="2026-12-30")],
        "miit_12300",
        [Told(None, "complained", "china_mobile", "")],
    ),
    (
        "sent with a ticket given afterwards, then no answer",
        [
            FILED,
            event("sent", 2, channel="china_mobile"),
            event("ticket", 2, channel="china_mobile", ticket="T-1"),
            event("no_answer", 17, channel="china_mobile"),
            event("escalated", 17, channel="miit_12300", day="2026-12-30"),
        ],
        "miit_12300",
        [
            Told(date(2026, 11, 2), "complained", "china_mobile", "T-1"),
            Told(date(2026, 11, 17), "no_answer", "china_mobile", ""),
        ],
    ),
    (
        "not satisfied: their answer is the detail; the day is Shanghai's",
        [
            FILED,
            CaseEvent("unsatisfied", at(9, 17), {"channel": "china_mobile", "answer": "请等待"}),
            event("escalated", 10, channel="miit_12300", day="2026-12-30"),
        ],
        "miit_12300",
        [
            Told(None, "complained", "china_mobile", ""),
            Told(date(2026, 11, 10), "unsatisfied", "china_mobile", "请等待"),
        ],
    ),
    (
        "nothing of the channel written to now",
        [FILED, event("sent", 2, channel="china_mobile", ticket="T-9")],
        "china_mobile",
        [],
    ),
]


@pytest.mark.parametrize(("why", "events", "current", "wanted"), CASES, ids=[c[0] for c in CASES])
def test_what_the_person_told_of_the_channels_they_left(
    why: str, events: list[CaseEvent], current: str, wanted: list[Told]
) -> None:
    assert told(events, current, TZ) == wanted


def a_case(events: list[CaseEvent], rung: int, due_at: datetime | None) -> CaseRecord:
    answers = {"problem": "spam", "carrier": "mobile", "sender_type": "industry_national"}
    return CaseRecord(
        "TS-2026-K7M4QJ", "test:alice", "sms", "spam", "escalated", "sms", 1, "zh",
        answers, [], at(1), at(17), events=events, rung=rung, due_at=due_at,
    )  # fmt: skip


def test_the_reply_by_day_is_the_deadline_the_case_had_at_each_rung() -> None:
    sms = FLOWS.get("sms")
    assert sms is not None
    first, second = [i for i, r in enumerate(sms.ladder) if r.applies(a_case([], 0, None).answers)][
        :2
    ]
    events = [
        FILED,
        event("escalated", 17, channel=sms.ladder[second].channel, day="2026-12-30"),
    ]
    case = a_case(events, second, datetime(2026, 12, 30, 16, tzinfo=UTC))  # midnight after 12-30
    assert reply_by(case, second, sms.ladder[second].channel, TZ) == date(2026, 12, 30)
    assert reply_by(case, first, "china_mobile", TZ) == date(2026, 11, 16)
    assert reply_by(case, first, "spam_12321", TZ) is None  # never reached
    assert reached_on(events, "china_mobile", TZ) == date(2026, 11, 1)
    assert reached_on(events, sms.ladder[second].channel, TZ) == date(2026, 11, 17)
    assert reached_on(events, "spam_12321", TZ) is None
    assert reached_rungs(sms.ladder, case) == [first, second]
    assert reached_rungs(sms.ladder, a_case(events, first, None)) == [first]
