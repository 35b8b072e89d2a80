"""Persistence: SQLite for conversations and cases, a content-addressed folder for evidence.

The modules of this package import each other by their full names (`storage.cases`), never
through this package module, so that re-exporting them here makes no import circle.
"""

from storage.errors import StorageError
from storage.factory import open_store
from storage.store import SqliteStore

__all__ = ["SqliteStore", "StorageError", "open_store"]
