"""The one error storage raises, so callers never handle sqlite3 or OSError themselves.

It lives in `flows.errors` with the rest of the hierarchy, so the engine can answer it without
importing storage; this module keeps the name where storage code looks for it.
"""

from __future__ import annotations

from flows.errors import StorageError

__all__ = ["StorageError"]
