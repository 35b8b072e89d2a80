"""A calendar file (.ics) for a case's deadline: WeChat cannot remind after 48 h; a phone can."""

from __future__ import annotations

from datetime import UTC, datetime

from flows.model import Document

_TEXT = {
    "zh": ("投诉 {number} 答复期限", "如果到期还没有答复，请回到微信客服对话，发送任意内容继续。"),
    "en": (
        "Complaint {number}: reply deadline",
        "No reply by now? Go back to the WeChat chat and send anything to continue.",
    ),
}


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def deadline_invite(number: str, due_at: datetime, language: str, now: datetime) -> Document:
    """Return an all-day-free, one-hour calendar event at the deadline, with an alarm."""
    title, body = _TEXT.get(language, _TEXT["zh"])
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    start = due_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//complaint-bot//deadline//EN",
        "BEGIN:VEVENT",
        f"UID:{number}-{start}@complaint-bot",
        f"DTSTAMP:{stamp}",
        f"DTSTART:{start}",
        "DURATION:PT1H",
        f"SUMMARY:{_escape(title.format(number=number))}",
        f"DESCRIPTION:{_escape(body)}",
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        "TRIGGER:PT0M",
        f"DESCRIPTION:{_escape(title.format(number=number))}",
        "END:VALARM",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    content = ("\r\n".join(lines) + "\r\n").encode()
    return Document(f"{number}-deadline.ics", content, "text/calendar")
