"""Persistence: SQLite for conversations and cases, a content-addressed folder for evidence."""

from storage.errors import StorageError
from storage.store import SqliteStore

__all__ = ["SqliteStore", "StorageError"]
