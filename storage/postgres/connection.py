"""The sqlite3 surface the SQL modules use, over a psycopg connection: one SQL text, two engines.

`storage/cases.py`, `conversations.py`, `evidence.py` ... are written against `sqlite3` (`?`
placeholders, rows read by index and by name). Rather than a second copy of every statement,
PostgreSQL runs the same text: `?` becomes `%s` here, and rows answer to both `row[0]` and
`row["name"]`. The few SQLite functions those statements call (`julianday`, `instr`) are defined
in the PostgreSQL schema (storage/postgres/migrations.py).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any, cast

import psycopg
from psycopg.rows import RowMaker


class Row(tuple[Any, ...]):
    """A result row readable by position, like a tuple, and by column name, like sqlite3.Row."""

    _names: dict[str, int]

    def __new__(cls, values: Sequence[Any], names: dict[str, int]) -> Row:
        row = super().__new__(cls, values)
        row._names = names
        return row

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return super().__getitem__(self._names[key])
        return super().__getitem__(key)

    def keys(self) -> list[str]:
        """Return the column names, as sqlite3.Row does."""
        return list(self._names)


def row_factory(cursor: psycopg.Cursor[Any]) -> RowMaker[Row]:
    """Make rows of `cursor`'s result as `Row`s."""
    names = {column.name: i for i, column in enumerate(cursor.description or [])}
    return lambda values: Row(values, names)


@lru_cache(maxsize=512)
def translate(sql: str) -> str:
    """Return `sql` with sqlite3's `?` placeholders as psycopg's `%s` (and `%` escaped)."""
    # No statement in storage/ has a `?` or a `%` inside a string literal.
    return sql.replace("%", "%%").replace("?", "%s")


class Connection:
    """A psycopg connection that takes the storage modules' sqlite3-style statements."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.raw = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        """Run one statement and return its cursor."""
        if not params:  # without parameters psycopg reads `%` as itself: nothing to translate
            return self.raw.execute(cast(Any, sql))
        return self.raw.execute(cast(Any, translate(sql)), tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> psycopg.Cursor[Any]:
        """Run one statement once per row of parameters."""
        cursor = self.raw.cursor()
        batch = [tuple(row) for row in rows]
        if batch:
            cursor.executemany(cast(Any, translate(sql)), batch)
        return cursor

    def as_sqlite(self) -> sqlite3.Connection:
        """Return self typed as the sqlite3 connection the shared SQL modules are written for."""
        # The modules use only execute/executemany, fetchone/fetchall, iteration and rowcount,
        # which this class and psycopg's cursor provide; the cast keeps their signatures as
        # they are rather than widening all of them for a second engine.
        return cast(sqlite3.Connection, self)
