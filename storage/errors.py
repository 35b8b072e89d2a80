"""The one error storage raises, so callers never handle sqlite3 or OSError themselves."""

from __future__ import annotations

from flows.errors import ComplaintBotError


class StorageError(ComplaintBotError):
    """The database or the evidence folder could not be read or written."""
