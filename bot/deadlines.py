"""Deadline arithmetic: Chinese working days, when a deadline passes, quiet hours, durations.

A binding deadline in calendar days that ends on a rest day (weekend or public holiday) ends on
the next working day (民法典 art. 203); one in working days skips rest days as it counts.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

import chinese_calendar

# One Due for flows and bot, so this policy satisfies flows.ports.DeadlinePolicy.
from flows.records import Due

__all__ = ["DeadlinePolicy", "Due", "QuietHours", "WorkCalendar", "parse_duration"]

log = logging.getLogger(__name__)


class WorkCalendar:
    """China's working days: public holidays off, make-up workdays (调休) on."""

    def __init__(self, extra_holidays: Iterable[date] = ()) -> None:
        self.extra_holidays = frozenset(extra_holidays)
        self._years_without_data: set[int] = set()

    def is_workday(self, day: date) -> bool:
        """Return True when `day` is a working day in mainland China."""
        if day in self.extra_holidays:
            return False
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            # The package ships one year of data at a time; a deadline must still be computed.
            if day.year not in self._years_without_data:
                self._years_without_data.add(day.year)
                log.warning(
                    "chinesecalendar has no holiday data for %d: assuming Mon-Fri working days "
                    "in %d (add known holidays to extra_holidays in the config)",
                    day.year,
                    day.year,
                )
            return day.weekday() < 5

    def first_working_day_from(self, day: date) -> date:
        """Return `day` when it is a working day, else the first working day after it."""
        while not self.is_workday(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, start: date, n: int) -> date:
        """Return the `n`-th working day after `start` (`start` itself never counts)."""
        if n < 1:
            raise ValueError(f"working days: expected n >= 1, got {n}")
        day = start
        counted = 0
        while counted < n:
            day += timedelta(days=1)
            if self.is_workday(day):
                counted += 1
        return day


class DeadlinePolicy:
    """Turn "N days" or "N working days" from a moment into the respondent's last day."""

    def __init__(
        self, calendar: WorkCalendar, tz: tzinfo, override: timedelta | None = None
    ) -> None:
        self.calendar = calendar
        self.tz = tz
        self.override = override

    def due(
        self, start: datetime, *, days: int = 0, working_days: int = 0, binding: bool = True
    ) -> Due:
        """Return when a deadline of `days` or `working_days` counted from `start` passes.

        A check-in (`binding=False`) is when we ask how it went, not a legal period: it stays.
        """
        if (days > 0) == (working_days > 0) or min(days, working_days) < 0:
            raise ValueError(
                f"deadline: expected days or working_days > 0 (not both), "
                f"got days={days}, working_days={working_days}"
            )
        if self.override is not None:
            at = (start + self.override).astimezone(UTC)
            return Due(at.astimezone(self.tz).date(), at)
        filed = start.astimezone(self.tz).date()
        if days and not binding:
            day = filed + timedelta(days=days)
        elif days:
            # 民法典 art. 203: a period whose last day is a 法定休假日 ends the day after the rest.
            # Read, as the courts and the former 民通意见 art. 198 did, to take in weekends
            # ("星期日或者其他法定休假日") and to follow the State Council's swaps: a make-up
            # working Saturday (调休) is a working day, so a period ending on it does not move.
            day = self.calendar.first_working_day_from(filed + timedelta(days=days))
        else:
            day = self.calendar.add_working_days(filed, working_days)
        midnight = datetime.combine(day + timedelta(days=1), time(), tzinfo=self.tz)
        return Due(day, midnight.astimezone(UTC))

    def later(self, start: datetime, days: int) -> datetime:
        """Return the moment `days` from `start` (for "remind me later")."""
        return start + (self.override if self.override is not None else timedelta(days=days))


_QUIET = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window with no reminders; `start` is quiet, `end` is allowed again."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours | None:
        """Read "22:00-08:00" (may cross midnight); "" or "off" mean no quiet hours."""
        cleaned = text.strip()
        if cleaned.lower() in ("", "off"):
            return None
        match = _QUIET.fullmatch(cleaned)
        try:
            if match is None:
                raise ValueError
            start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
            quiet = cls(time(start_h, start_m), time(end_h, end_m))
        except ValueError:
            raise ValueError(f"expected HH:MM-HH:MM, got {text!r}") from None
        if quiet.start == quiet.end:
            raise ValueError(f"expected HH:MM-HH:MM with start and end different, got {text!r}")
        return quiet

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def is_quiet(self, moment: time) -> bool:
        """Return True when the local time `moment` falls inside the window."""
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def next_allowed(self, moment: datetime, tz: tzinfo) -> datetime:
        """Return `moment` if outside quiet hours in `tz`, else the end of the quiet period."""
        local = moment.astimezone(tz)
        if not self.is_quiet(local.time()):
            return moment
        day = local.date()
        if local.time() >= self.end:  # late evening of a window that crosses midnight
            day += timedelta(days=1)
        return datetime.combine(day, self.end, tzinfo=tz).astimezone(UTC)


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")
_UNITS = {
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}


def parse_duration(text: str) -> timedelta:
    """Read a duration with a unit: 500ms, 2s, 5m, 3h, 2d or 1w."""
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None:
        raise ValueError(f"expected a duration like 500ms, 2s, 5m, 3h, 2d or 1w, got {text!r}")
    duration = float(match[1]) * _UNITS[match[2]]
    if duration <= timedelta(0):
        raise ValueError(f"expected a duration > 0, got {text!r}")
    return duration
