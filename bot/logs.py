"""Logging that never carries a bot token or a full phone number."""

from __future__ import annotations

import logging
import re
import sys
import traceback
from types import TracebackType

# No \b before the bot id: in an API URL the token follows "bot" directly (".../bot123:AA...").
_TOKEN = re.compile(r"(?<!\d)\d{5,}:[A-Za-z0-9_-]{30,}(?![A-Za-z0-9_-])")
# Mainland mobiles (optionally +86) and 106 platform numbers: keep the head and the last 4 digits.
_PHONE = re.compile(r"(?<!\d)((?:\+?86)?1\d{2})(\d{4,14})(\d{4})(?!\d)")


def redact(text: str) -> str:
    """Return `text` with bot tokens removed and phone numbers masked (138****8000)."""
    text = _TOKEN.sub("<token>", text)
    return _PHONE.sub(lambda m: f"{m[1]}****{m[3]}", text)


class RedactingFilter(logging.Filter):
    """Rewrite every record's final message through `redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = redact(message), None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def setup_logging(level: str) -> None:
    """Log to stderr, redacted; quiet the HTTP client, whose URLs hold the token."""
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("transitions").setLevel(logging.WARNING)  # a line per state change
    logging.captureWarnings(True)  # warnings reach stderr through the filter too
    sys.excepthook = _redacted_excepthook


def _redacted_excepthook(
    kind: type[BaseException], value: BaseException, tb: TracebackType | None
) -> None:
    # The last resort: a traceback nobody caught is printed redacted like everything else.
    sys.stderr.write(redact("".join(traceback.format_exception(kind, value, tb))))
