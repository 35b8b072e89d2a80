"""Logs: the bot token never appears in anything the process writes; phone numbers are masked.

`complaint-bot run` runs as a real process at DEBUG (the most it ever writes: PTB then logs every
API call with its parameters and results, so people's messages reach the log), talks to the fake
Bot API, meets an API error, is stopped; then runs once more with a token Telegram rejects. All
its stdout and stderr is searched.
"""

from __future__ import annotations

import logging
import sys

import pytest

from bot.logs import RedactingFilter, redact

TOKEN = "7712345678:AAHk3xZ-9q_Lm0pQrStUvWxYz0123456789"
PHONE = "13800138000"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            f"GET https://api.telegram.org/bot{TOKEN}/getMe",
            "GET https://api.telegram.org/bot<token>/getMe",
        ),
        ("sender 13800138000 said", "sender 138****8000 said"),
        ("+8613800138000", "+86138****8000"),
        ("10690123456789", "106****6789"),
        ("order 2026110312345", "order 2026110312345"),  # not a phone number
    ],
)
def test_redact(text: str, shown: str) -> None:
    assert redact(text) == shown


def test_tracebacks_are_redacted_too() -> None:
    try:
        raise ValueError(f"bad token {TOKEN} for {PHONE}")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    RedactingFilter().filter(record)
    text = logging.Formatter().format(record)
    assert TOKEN not in text and PHONE not in text and "<token>" in text
