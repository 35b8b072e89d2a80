"""Deadline arithmetic: working days around Chinese holidays, deadlines, quiet hours, durations.

Holidays and make-up workdays below were read from chinesecalendar 1.11 (get_holiday_detail):
National Day 2025: off 1-8 October, work on Sunday 28 September and Saturday 11 October.
Spring Festival 2026: off 15-23 February, work on Saturday 14 and Saturday 28 February.
Mid-autumn 2026: off Friday 25 - Sunday 27 September.
National Day 2026: off 1-7 October, work on Saturday 10 October.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.deadlines import DeadlinePolicy, Due, QuietHours, WorkCalendar, parse_duration
from flows.definition.ladder import WeekdayDeadlines

SHANGHAI = ZoneInfo("Asia/Shanghai")


def shanghai(year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("day", "workday"),
    [
        (date(2025, 9, 27), False),  # Saturday
        (date(2025, 9, 28), True),  # Sunday, make-up workday
        (date(2025, 10, 1), False),  # National Day
        (date(2025, 10, 6), False),  # Mid-autumn Festival, inside the National Day break
        (date(2025, 10, 8), False),
        (date(2025, 10, 9), True),
        (date(2025, 10, 11), True),  # Saturday, make-up workday
        (date(2025, 10, 12), False),
        (date(2026, 2, 14), True),  # Saturday, make-up workday
        (date(2026, 2, 16), False),  # Spring Festival, a Monday
        (date(2026, 2, 23), False),
        (date(2026, 2, 24), True),
        (date(2026, 2, 28), True),  # Saturday, make-up workday
        (date(2027, 1, 1), True),  # no data for 2027: Friday, so a working day
        (date(2027, 1, 2), False),
    ],
)
def test_is_workday(day: date, workday: bool) -> None:
    assert WorkCalendar().is_workday(day) is workday


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2025, 9, 27), 1, date(2025, 9, 28)),  # the make-up Sunday counts
        (date(2025, 9, 26), 5, date(2025, 10, 10)),  # 28, 29, 30 Sep, 9, 10 Oct
        (date(2025, 9, 30), 5, date(2025, 10, 14)),  # 9, 10, 11 (Sat), 13, 14 Oct
        (date(2025, 10, 3), 5, date(2025, 10, 14)),  # filed during the holiday
        (date(2025, 9, 26), 15, date(2025, 10, 23)),
        (date(2026, 2, 13), 1, date(2026, 2, 14)),  # the make-up Saturday counts
        (date(2026, 2, 12), 5, date(2026, 2, 26)),  # 13, 14 (Sat), 24, 25, 26 Feb
        (date(2026, 2, 12), 15, date(2026, 3, 11)),  # 28 Feb (Sat) counts too
        (date(2026, 2, 20), 1, date(2026, 2, 24)),
        (date(2026, 12, 28), 5, date(2027, 1, 4)),  # 2027: Monday to Friday assumed
    ],
)
def test_add_working_days(start: date, n: int, expected: date) -> None:
    assert WorkCalendar().add_working_days(start, n) == expected


def test_extra_holidays_are_never_working_days() -> None:
    calendar = WorkCalendar([date(2027, 1, 1), date(2025, 10, 11)])
    assert calendar.add_working_days(date(2026, 12, 28), 5) == date(2027, 1, 5)
    assert calendar.is_workday(date(2025, 10, 11)) is False  # even a make-up workday


def test_add_working_days_needs_at_least_one() -> None:
    with pytest.raises(ValueError, match="expected n >= 1, got 0"):
        WorkCalendar().add_working_days(date(2026, 1, 5), 0)


def test_a_year_without_data_is_logged_once_per_calendar(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calendar = WorkCalendar()
    with caplog.at_level(logging.WARNING, logger="bot.deadlines"):
        for _ in range(20):
            calendar.add_working_days(date(2026, 12, 28), 15)
        calendar.is_workday(date(2026, 6, 1))  # a year with data logs nothing
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert "2027" in warnings[0] and "Mon-Fri" in warnings[0]
    with caplog.at_level(logging.WARNING, logger="bot.deadlines"):
        WorkCalendar().is_workday(date(2027, 3, 1))
    assert len(caplog.records) == 2


POLICY = DeadlinePolicy(WorkCalendar(), SHANGHAI)


@pytest.mark.parametrize(
    ("start", "days", "working_days", "expected"),
    [
        # filed Monday 23 Nov 2026 10:00, 15 days: last day 8 Dec, passed at midnight Shanghai
        (
            shanghai(2026, 11, 23, 10, 0),
            15,
            0,
            Due(date(2026, 12, 8), datetime(2026, 12, 8, 16, 0, tzinfo=UTC)),
        ),
        # 01:00 in Shanghai is still the previous day in UTC: count from the local date
        (
            datetime(2025, 9, 25, 17, 0, tzinfo=UTC),
            0,
            5,
            Due(date(2025, 10, 10), datetime(2025, 10, 10, 16, 0, tzinfo=UTC)),
        ),
        (
            shanghai(2026, 2, 12, 23, 59),
            0,
            15,
            Due(date(2026, 3, 11), datetime(2026, 3, 11, 16, 0, tzinfo=UTC)),
        ),
        (
            shanghai(2026, 12, 28, 9, 0),
            0,
            5,
            Due(date(2027, 1, 4), datetime(2027, 1, 4, 16, 0, tzinfo=UTC)),
        ),
    ],
)
def test_due(start: datetime, days: int, working_days: int, expected: Due) -> None:
    due = POLICY.due(start, days=days, working_days=working_days)
    assert due == expected
    assert due.at.tzinfo is UTC


# 民法典 art. 203: a calendar-day period whose last day is a rest day ends on the next working day.
@pytest.mark.parametrize(
    ("filed", "days", "last_day"),
    [
        (date(2026, 11, 23), 15, date(2026, 12, 8)),  # a Tuesday: unchanged
        (date(2026, 9, 16), 15, date(2026, 10, 8)),  # 1 Oct, National Day: after the week off
        (date(2026, 9, 22), 15, date(2026, 10, 8)),  # 7 Oct, the last day off
        (date(2026, 9, 25), 15, date(2026, 10, 10)),  # Saturday 10 Oct is a make-up workday
        (date(2026, 9, 26), 15, date(2026, 10, 12)),  # Sunday 11 Oct: the Monday after
        (date(2026, 9, 10), 15, date(2026, 9, 28)),  # 25 Sep, Mid-autumn Festival
        (date(2026, 2, 1), 15, date(2026, 2, 24)),  # 16 Feb, Spring Festival
        (date(2026, 11, 6), 15, date(2026, 11, 23)),  # a plain Saturday is a rest day too
        (date(2026, 12, 19), 15, date(2027, 1, 4)),  # 2027 without data: Sunday 3 Jan
    ],
)
def test_a_calendar_deadline_ending_on_a_rest_day_ends_on_the_next_working_day(
    filed: date, days: int, last_day: date
) -> None:
    start = datetime.combine(filed, time(10, 0), tzinfo=SHANGHAI)
    due = POLICY.due(start, days=days)
    assert due.day == last_day
    assert due.at == datetime.combine(last_day + timedelta(days=1), time(), tzinfo=SHANGHAI)


def test_a_check_in_date_is_not_a_legal_period_and_does_not_roll_over() -> None:
    start = shanghai(2026, 9, 16, 10, 0)
    assert POLICY.due(start, days=15, binding=False).day == date(2026, 10, 1)
    assert POLICY.due(start, days=15).day == date(2026, 10, 8)


@pytest.mark.parametrize(
    ("filed", "binding", "last_day"),
    [
        (date(2026, 11, 6), True, date(2026, 11, 23)),  # Saturday 21st: the Monday after
        (date(2026, 11, 6), False, date(2026, 11, 21)),
        (date(2026, 9, 16), True, date(2026, 10, 1)),  # it knows no holidays, only weekends
    ],
)
def test_the_engines_default_policy_rolls_binding_deadlines_off_weekends(
    filed: date, binding: bool, last_day: date
) -> None:
    start = datetime.combine(filed, time(10, 0), tzinfo=SHANGHAI)
    assert WeekdayDeadlines(SHANGHAI).due(start, days=15, binding=binding).day == last_day


def test_a_calendar_deadline_rolls_over_extra_holidays() -> None:
    policy = DeadlinePolicy(WorkCalendar([date(2027, 1, 1)]), SHANGHAI)
    assert policy.due(shanghai(2026, 12, 17, 10, 0), days=15).day == date(2027, 1, 4)
    assert POLICY.due(shanghai(2026, 12, 17, 10, 0), days=15).day == date(2027, 1, 1)


def test_working_day_deadlines_do_not_roll_over() -> None:
    # 5 working days from Tuesday 29 Sep 2026: 30 Sep, 8, 9, 10 (make-up Saturday), 12 Oct
    due = POLICY.due(shanghai(2026, 9, 29, 10, 0), working_days=5)
    assert due.day == date(2026, 10, 12)
    # ending on the make-up Saturday stays there
    assert POLICY.due(shanghai(2026, 9, 29, 10, 0), working_days=4).day == date(2026, 10, 10)


@pytest.mark.parametrize(("days", "working_days"), [(0, 0), (15, 5), (-1, 0), (3, -1)])
def test_due_needs_exactly_one_kind_of_days(days: int, working_days: int) -> None:
    with pytest.raises(ValueError, match="expected days or working_days > 0"):
        POLICY.due(shanghai(2026, 1, 5, 9, 0), days=days, working_days=working_days)


def test_an_override_makes_every_deadline_that_long() -> None:
    policy = DeadlinePolicy(WorkCalendar(), SHANGHAI, override=timedelta(seconds=2))
    start = shanghai(2026, 11, 23, 23, 59, 59)
    expected = Due(date(2026, 11, 24), datetime(2026, 11, 23, 16, 0, 1, tzinfo=UTC))
    assert policy.due(start, working_days=5) == expected
    assert policy.due(start, days=15) == expected
    assert policy.later(start, 3) == start + timedelta(seconds=2)


def test_later_is_calendar_days_from_start() -> None:
    start = shanghai(2026, 2, 13, 10, 0)
    assert POLICY.later(start, 3) == shanghai(2026, 2, 16, 10, 0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("22:00-08:00", QuietHours(time(22, 0), time(8, 0))),
        (" 22:00 - 08:00 ", QuietHours(time(22, 0), time(8, 0))),
        ("7:30-9:00", QuietHours(time(7, 30), time(9, 0))),
        ("13:00-14:00", QuietHours(time(13, 0), time(14, 0))),
        ("off", None),
        ("OFF", None),
        ("", None),
    ],
)
def test_quiet_hours_parse(text: str, expected: QuietHours | None) -> None:
    assert QuietHours.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("22-08", "expected HH:MM-HH:MM, got '22-08'"),
        ("22:00", "expected HH:MM-HH:MM, got '22:00'"),
        ("25:00-08:00", "expected HH:MM-HH:MM, got '25:00-08:00'"),
        ("22:00-08:60", "expected HH:MM-HH:MM, got '22:00-08:60'"),
        ("at night", "expected HH:MM-HH:MM, got 'at night'"),
        ("10:00-10:00", "with start and end different, got '10:00-10:00'"),
    ],
)
def test_quiet_hours_parse_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        QuietHours.parse(text)
    assert message in str(caught.value)


def test_quiet_hours_read_back_as_written() -> None:
    assert str(QuietHours(time(22, 0), time(8, 0))) == "22:00-08:00"


NIGHT = QuietHours(time(22, 0), time(8, 0))
LUNCH = QuietHours(time(13, 0), time(14, 0))


@pytest.mark.parametrize(
    ("quiet", "moment", "expected"),
    [
        (NIGHT, shanghai(2026, 11, 23, 23, 30), shanghai(2026, 11, 24, 8, 0)),
        (NIGHT, shanghai(2026, 11, 24, 7, 59), shanghai(2026, 11, 24, 8, 0)),
        (NIGHT, shanghai(2026, 11, 24, 0, 0), shanghai(2026, 11, 24, 8, 0)),
        (NIGHT, shanghai(2026, 11, 23, 22, 0), shanghai(2026, 11, 24, 8, 0)),
        (NIGHT, shanghai(2026, 11, 24, 8, 0), shanghai(2026, 11, 24, 8, 0)),
        (NIGHT, shanghai(2026, 11, 24, 12, 0), shanghai(2026, 11, 24, 12, 0)),
        (NIGHT, shanghai(2026, 11, 23, 21, 59), shanghai(2026, 11, 23, 21, 59)),
        (NIGHT, datetime(2026, 11, 23, 15, 30, tzinfo=UTC), shanghai(2026, 11, 24, 8, 0)),
        (LUNCH, shanghai(2026, 11, 24, 13, 0), shanghai(2026, 11, 24, 14, 0)),
        (LUNCH, shanghai(2026, 11, 24, 13, 59), shanghai(2026, 11, 24, 14, 0)),
        (LUNCH, shanghai(2026, 11, 24, 14, 0), shanghai(2026, 11, 24, 14, 0)),
        (LUNCH, shanghai(2026, 11, 24, 23, 30), shanghai(2026, 11, 24, 23, 30)),
    ],
)
def test_next_allowed(quiet: QuietHours, moment: datetime, expected: datetime) -> None:
    allowed = quiet.next_allowed(moment, SHANGHAI)
    assert allowed == expected
    if allowed != moment:
        assert allowed.tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("500ms", timedelta(milliseconds=500)),
        ("2s", timedelta(seconds=2)),
        ("5m", timedelta(minutes=5)),
        ("3h", timedelta(hours=3)),
        ("2d", timedelta(days=2)),
        ("1w", timedelta(weeks=1)),
        ("1.5h", timedelta(minutes=90)),
        (" 10 m ", timedelta(minutes=10)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2", "expected a duration like 500ms, 2s, 5m, 3h, 2d or 1w, got '2'"),
        ("", "expected a duration like 500ms, 2s, 5m, 3h, 2d or 1w, got ''"),
        ("2x", "got '2x'"),
        ("-2s", "got '-2s'"),
        ("2 days", "got '2 days'"),
        ("s", "got 's'"),
        ("0s", "expected a duration > 0, got '0s'"),
    ],
)
def test_parse_duration_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration(text)
    assert message in str(caught.value)
