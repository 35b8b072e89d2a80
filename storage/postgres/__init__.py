"""PostgreSQL, the second backend: the same Store as SQLite, for more than one machine."""

from storage.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
