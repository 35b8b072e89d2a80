"""Reading a typed date the way people say it: 11月3日, 两天前, 上周五, 11月初, last month.

Every reading is a day that has passed. A month or part of one resolves to a stated day (月初 /
early -> the 1st, 中旬 / mid -> the 15th, 下旬 / late -> the 21st, 月底 / end of -> the last day,
a month alone -> the 1st; 上周 / last week -> its Monday), and the reading says so, so the person
sees what was noted. A day written without a year that has not come yet this year means last
year only when that is recent (half a year); otherwise the person is asked which year.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from flows.definition.typed_text import normalised, numeral_value

# "12月30日" typed on 5 January is last year's; typed in November it may be a slip: ask.
RECENT_ENOUGH = timedelta(days=183)
EARLIEST = date(2000, 1, 1)


class Unreadable(ValueError):
    """The text is not a date that has passed."""


class WhichYear(ValueError):
    """A day without a year that has not come yet this year, and last year's is long ago."""

    def __init__(self, day: date) -> None:
        super().__init__(day.isoformat())
        self.day = day  # what it would be: last year's


@dataclass(frozen=True, slots=True)
class Reading:
    """A date as read: the day, and whether it was a guess within a week or month."""

    day: date
    part: str | None = None  # early, mid, late, end, month, week: how the day was chosen


_PART_DAY: dict[str, Callable[[int, int], int]] = {
    "early": lambda y, m: 1,
    "mid": lambda y, m: 15,
    "late": lambda y, m: 21,
    "end": lambda y, m: calendar.monthrange(y, m)[1],
    "month": lambda y, m: 1,
}
_ZH_PART = {"初": "early", "上旬": "early", "中旬": "mid", "中": "mid", "下旬": "late"}
_ZH_PART |= {"底": "end", "末": "end"}
_EN_PART = {
    "early": "early",
    "beginning of": "early",
    "start of": "early",
    "mid": "mid",
    "middle of": "mid",
    "late": "late",
    "end of": "end",
}
_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_WEEKDAYS_EN = {
    name: number
    for number, names in enumerate(
        [
            ("monday", "mon"),
            ("tuesday", "tue", "tues"),
            ("wednesday", "wed"),
            ("thursday", "thu", "thur", "thurs"),
            ("friday", "fri"),
            ("saturday", "sat"),
            ("sunday", "sun"),
        ]
    )
    for name in names
}
_WEEKDAYS_ZH = {"1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6, "日": 6, "天": 6}
_EN_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
_ZH_DAYS = {"今天": 0, "今日": 0, "昨天": 1, "昨日": 1, "前天": 2, "大前天": 3}
_EN_DAYS = {"today": 0, "yesterday": 1, "day before yesterday": 2}
_ZH_BACK = {"上上": 2, "上": 1, "本": 0, "这": 0}  # weeks or months before this one
_ZH_UNITS = {"天": "day", "日": "day", "周": "week", "星期": "week", "礼拜": "week"}
_ZH_UNITS |= {"月": "month", "年": "year"}
_ZH_YEARS_BACK = {"前": 2, "去": 1, "今": 0}

# Numerals inside dates: 十一月三日, 二〇二五年, 三天前 (a run of them becomes one number).
_NUMERAL_RUN = re.compile(r"[〇零一二两三四五六七八九十]+")
_SUFFIX = r"(?:st|nd|rd|th)?"
_MONTH_NAMES = "|".join(sorted(_MONTHS, key=len, reverse=True))
_WEEKDAY_NAMES = "|".join(sorted(_WEEKDAYS_EN, key=len, reverse=True))
_COUNT = rf"(\d{{1,4}}|{'|'.join(_EN_NUMBERS)})"

_ZH_AGO = re.compile(r"(\d{1,4}|半)个?(天|日|周|星期|礼拜|月|年)(?:以)?前")
_ZH_WEEKDAY = re.compile(r"(上上|上|本|这)?个?(?:周|星期|礼拜)([1-7日天])")
_ZH_WEEK = re.compile(r"(上上|上|本|这)个?(?:周|星期|礼拜)")
_ZH_FULL = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})[日号]?")
_ZH_YEAR_WORD_DAY = re.compile(r"(前|去|今)年(\d{1,2})月(\d{1,2})[日号]?")
_ZH_MONTH_DAY = re.compile(r"(\d{1,2})[-/.月](\d{1,2})[日号]?")
_ZH_DAY_ONLY = re.compile(r"(\d{1,2})[日号]")
_ZH_MONTH = re.compile(
    r"(?:(上上|上|本|这)个?月|(?:(\d{4})年|(前|去|今)年)?(\d{1,2})月份?)(初|上旬|中旬|中|下旬|底|末)?"
)
_EN_AGO = re.compile(rf"{_COUNT} (day|week|month|year)s? ago")
_EN_WEEKDAY = re.compile(rf"(?:(last|this|on) )?({_WEEKDAY_NAMES})")
_EN_WEEK = re.compile(r"(last|this) week")
_EN_MONTH_DAY = re.compile(rf"(?:the )?({_MONTH_NAMES}) (\d{{1,2}}){_SUFFIX}(?:,? (\d{{4}}))?")
_EN_DAY_MONTH = re.compile(
    rf"(?:the )?(\d{{1,2}}){_SUFFIX} (?:of )?({_MONTH_NAMES})(?:,? (\d{{4}}))?"
)
_EN_MONTH = re.compile(
    rf"(?:(early|beginning of|start of|mid|middle of|late|end of) ?)?(?:the )?"
    rf"(?:(last|this) month|({_MONTH_NAMES})(?: (\d{{4}}))?)"
)


def read_date(text: str, today: date) -> Reading:
    """Return the day `text` names, never after `today`; raise Unreadable or WhichYear."""
    words = " ".join(normalised(text).lower().split()).strip(" .。,，")
    compact = _NUMERAL_RUN.sub(_arabic, re.sub(r"\s+", "", words))
    try:
        reading = _read_zh(compact, today) or _read_en(words.replace("mid-", "mid "), today)
    except WhichYear:
        raise
    except (ValueError, OverflowError) as exc:  # 2月30日, 13月, 9999 years ago
        raise Unreadable(text) from exc
    if reading is None or reading.day > today or reading.day < EARLIEST:
        raise Unreadable(text)
    return reading


def read_in_full(text: str) -> bool:
    """Return True when `text` writes a year, a month and a day in digits: nothing to explain."""
    words = " ".join(normalised(text).lower().split()).strip(" .。,，")
    if _ZH_FULL.fullmatch(re.sub(r"\s+", "", words)):
        return True
    match = _EN_MONTH_DAY.fullmatch(words) or _EN_DAY_MONTH.fullmatch(words)
    return match is not None and match[3] is not None


def _arabic(match: re.Match[str]) -> str:
    value = numeral_value(match[0])
    return match[0] if value is None else str(int(value))


def _read_zh(c: str, today: date) -> Reading | None:
    if c in _ZH_DAYS:
        return Reading(today - timedelta(days=_ZH_DAYS[c]))
    if m := _ZH_AGO.fullmatch(c):
        count, unit = m[1], m[2]
        if count == "半":
            return Reading(today - timedelta(days=15)) if unit == "月" else None
        return Reading(_ago(today, int(count), _ZH_UNITS[unit]))
    if m := _ZH_WEEKDAY.fullmatch(c):
        return Reading(_weekday_zh(today, _ZH_BACK.get(m[1] or ""), _WEEKDAYS_ZH[m[2]]))
    if m := _ZH_WEEK.fullmatch(c):
        monday = today - timedelta(days=today.weekday() + 7 * _ZH_BACK[m[1]])
        return Reading(monday, "week")
    if m := _ZH_FULL.fullmatch(c):
        return Reading(date(int(m[1]), int(m[2]), int(m[3])))
    if m := _ZH_YEAR_WORD_DAY.fullmatch(c):
        return Reading(date(today.year - _ZH_YEARS_BACK[m[1]], int(m[2]), int(m[3])))
    if m := _ZH_MONTH_DAY.fullmatch(c):
        day = int(m[2])
        return Reading(_without_year(today, int(m[1]), lambda y, mo: day))
    if m := _ZH_DAY_ONLY.fullmatch(c):
        return Reading(_day_of_recent_month(today, int(m[1])))
    if m := _ZH_MONTH.fullmatch(c):
        part = _ZH_PART[m[5]] if m[5] else "month"
        if m[1]:
            year, month = _months_back(today, _ZH_BACK[m[1]])
        elif m[2] or m[3]:
            year = int(m[2]) if m[2] else today.year - _ZH_YEARS_BACK[m[3]]
            month = int(m[4])
        else:
            return Reading(_without_year(today, int(m[4]), _PART_DAY[part]), part)
        return Reading(date(year, month, _PART_DAY[part](year, month)), part)
    return None


def _read_en(w: str, today: date) -> Reading | None:
    for word in ("on ", "in ", "since ", "the "):
        w = w.removeprefix(word)
    if w in _EN_DAYS:
        return Reading(today - timedelta(days=_EN_DAYS[w]))
    if m := _EN_AGO.fullmatch(w):
        count = int(m[1]) if m[1].isdigit() else _EN_NUMBERS[m[1]]
        return Reading(_ago(today, count, m[2]))
    if m := _EN_WEEKDAY.fullmatch(w):
        return Reading(_weekday_en(today, m[1], _WEEKDAYS_EN[m[2]]))
    if m := _EN_WEEK.fullmatch(w):
        monday = today - timedelta(days=today.weekday() + (7 if m[1] == "last" else 0))
        return Reading(monday, "week")
    if (m := _EN_MONTH_DAY.fullmatch(w)) or (m := _EN_DAY_MONTH.fullmatch(w)):
        month_first = m.re is _EN_MONTH_DAY
        month = _MONTHS[m[1] if month_first else m[2]]
        day = int(m[2] if month_first else m[1])
        if m[3]:
            return Reading(date(int(m[3]), month, day))
        return Reading(_without_year(today, month, lambda y, mo: day))
    if m := _EN_MONTH.fullmatch(w):
        part = _EN_PART[m[1]] if m[1] else "month"
        if m[2]:
            year, month = _months_back(today, 1 if m[2] == "last" else 0)
        elif m[4]:
            year, month = int(m[4]), _MONTHS[m[3]]
        else:
            return Reading(_without_year(today, _MONTHS[m[3]], _PART_DAY[part]), part)
        return Reading(date(year, month, _PART_DAY[part](year, month)), part)
    return None


def _ago(today: date, count: int, unit: str) -> date:
    if unit == "day":
        return today - timedelta(days=count)
    if unit == "week":
        return today - timedelta(weeks=count)
    months = count * (12 if unit == "year" else 1)
    year, month = _months_back(today, months)
    return date(year, month, min(today.day, calendar.monthrange(year, month)[1]))


def _months_back(today: date, months: int) -> tuple[int, int]:
    index = today.year * 12 + today.month - 1 - months
    return index // 12, index % 12 + 1


def _weekday_zh(today: date, weeks_back: int | None, weekday: int) -> date:
    """上周五: Friday of the week before this (weeks run Monday-Sunday); 周五: the latest one."""
    if weeks_back is None:
        return today - timedelta(days=(today.weekday() - weekday) % 7)
    monday = today - timedelta(days=today.weekday() + 7 * weeks_back)
    return monday + timedelta(days=weekday)


def _weekday_en(today: date, which: str | None, weekday: int) -> date:
    """Last Friday: the Friday before today; this Friday: this week's; Friday: the latest one."""
    if which == "this":
        return today - timedelta(days=today.weekday() - weekday)
    back = (today.weekday() - weekday) % 7
    return today - timedelta(days=back or (7 if which == "last" else 0))


def _without_year(today: date, month: int, day_of: Callable[[int, int], int]) -> date:
    this_year = date(today.year, month, day_of(today.year, month))
    if this_year <= today:
        return this_year
    last_year = date(today.year - 1, month, day_of(today.year - 1, month))
    if today - last_year <= RECENT_ENOUGH:
        return last_year
    raise WhichYear(last_year)


def _day_of_recent_month(today: date, day: int) -> date:
    """3号: the 3rd of this month, or of last month when this month's has not come yet."""
    if day <= today.day:
        return today.replace(day=day)
    year, month = _months_back(today, 1)
    return date(year, month, day)


_ZH_WEEKDAY_NAMES = "一二三四五六日"
_EN_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_EN_MONTH_NAMES = [next(n for n, i in _MONTHS.items() if i == m).capitalize() for m in range(1, 13)]


def spoken(day: date, lang: str, *, weekday: bool = True) -> str:
    """Return a day as a person reads it, with its weekday: 2026年11月13日（星期五）."""
    if lang == "zh":
        said = f"{day.year}年{day.month}月{day.day}日"
        return f"{said}（星期{_ZH_WEEKDAY_NAMES[day.weekday()]}）" if weekday else said
    said = f"{day.day} {_EN_MONTH_NAMES[day.month - 1]} {day.year}"
    return f"{_EN_WEEKDAY_NAMES[day.weekday()]} {said}" if weekday else said
