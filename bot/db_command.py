"""`complaint-bot db`: bring a database's schema up to date, or copy SQLite into PostgreSQL."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sqlite3
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.config import ConfigError, Settings
from storage.errors import StorageError

# The command line builds this parser for every command: storage and the drivers are imported
# by the functions that use them, so `complaint-bot check` stays quick to start.

# Parents before children, so every foreign key finds its row; ids are copied as they are.
TABLES = (
    "users",
    "conversations",
    "cases",
    "evidence",
    "events",
    "reminders",
    "deliveries",
    "case_counters",
    # The WeChat messenger's: where each account's pull resumes, messages pulled and not yet
    # answered, each person's window, quota, buttons and waiting pages. (Access tokens are not
    # copied: the PostgreSQL bot fetches its own.)
    "wecom_cursors",
    "wecom_inbox",
    "wecom_people",
)
# Columns PostgreSQL draws from an identity: set past the copied values afterwards.
_IDENTITIES = (
    ("users", "id"),
    ("cases", "id"),
    ("evidence", "id"),
    ("events", "id"),
    ("reminders", "id"),
    ("wecom_inbox", "seq"),
)
_BATCH = 1000


def add_parser(commands: Any) -> None:
    """Add `db migrate` and `db copy` to the command line."""
    db = commands.add_parser(
        "db", help="operators: migrate a database, or copy SQLite to PostgreSQL"
    )
    actions = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    migrate = actions.add_parser(
        "migrate", help="bring the configured database's schema up to date"
    )
    migrate.add_argument("--db", help="SQLite database file (overrides storage.db_path)")
    copy = actions.add_parser(
        "copy", help="copy everything from a SQLite file into an empty PostgreSQL database"
    )
    copy.add_argument("--from", dest="source", required=True, metavar="SQLITE_FILE")
    copy.add_argument("--to", dest="target", required=True, metavar="POSTGRESQL_URL")
    copy.add_argument("--data-dir", help="evidence folder of the SQLite bot (storage.data_dir)")


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Run `db migrate` or `db copy`; return the exit status."""
    if args.db_command == "migrate":
        applied = migrate(settings)
        where = settings.storage_url and _redacted(settings.storage_url)
        print(f"{where or settings.storage_db_path}: applied {len(applied)} migration(s)")
        for name in applied:
            print(f"  {name}")
        return 0
    counts = copy(Path(args.source), Path(settings.storage_data_dir), args.target)
    print(f"copied into {_redacted(args.target)}:")
    for what, n in counts.items():
        print(f"  {what}: {n}")
    return 0


def migrate(settings: Settings) -> list[str]:
    """Apply the migrations the configured database lacks; return their names."""
    if settings.storage_url:
        from storage.postgres.store import migrate as migrate_postgres

        return migrate_postgres(settings.storage_url)
    return asyncio.run(_migrate_sqlite(settings.storage_db_path))


async def _migrate_sqlite(path: str | Path) -> list[str]:
    from storage.db import connect
    from storage.migrations import migrate as migrate_sqlite

    conn = await connect(path)
    try:
        return await migrate_sqlite(conn)
    finally:
        await conn.close()


def copy(source: Path, data_dir: Path, url: str) -> dict[str, int]:
    """Copy every row and evidence file of the SQLite database `source` into PostgreSQL `url`.

    The target must be empty (a copy never mixes two bots' people); it is migrated first, and
    the whole copy is one transaction: it lands complete or not at all. Returns what was copied.
    """
    import psycopg

    from storage.postgres.store import migrate as migrate_postgres

    if not url.startswith(("postgresql://", "postgres://")):
        raise ConfigError(f"--to: expected a URL starting with postgresql://, got {url!r}")
    if not source.is_file():
        raise ConfigError(f"--from: no SQLite database at {str(source)!r}")
    # Both schemas at the same migration, so the columns line up.
    asyncio.run(_migrate_sqlite(source))
    migrate_postgres(url)
    lite = sqlite3.connect(source)
    try:
        with psycopg.connect(url) as pg:
            held = {t: _count(pg, t) for t in (*TABLES, "blobs")}
            if any(held.values()):
                found = ", ".join(f"{n} {t}" for t, n in held.items() if n)
                raise StorageError(
                    f"--to {_redacted(url)}: the database is not empty ({found}); copy into an"
                    " empty database, so that nobody's data is mixed with another bot's"
                )
            counts = {table: _copy_table(lite, pg, table) for table in TABLES}
            for table, column in _IDENTITIES:
                pg.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'),"
                    f" coalesce((SELECT max({column}) FROM {table}), 0) + 1, false)"
                )
            files, size, missing = _copy_files(lite, pg, data_dir)
            pg.commit()
    except psycopg.Error as e:
        raise StorageError(f"--to {_redacted(url)}: {e}") from e
    finally:
        lite.close()
    counts.update({"evidence files": files, "bytes": size})
    if missing:
        print(
            f"complaint-bot: {len(missing)} evidence file(s) referenced by the database were not"
            f" under {str(data_dir)!r}: {', '.join(missing[:5])}",
            file=sys.stderr,
        )
        counts["evidence files missing"] = len(missing)
    return counts


def _count(pg: Any, table: str) -> int:
    return int(pg.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def _copy_table(lite: sqlite3.Connection, pg: Any, table: str) -> int:
    columns = [row[1] for row in lite.execute(f"PRAGMA table_info({table})")]
    names = ", ".join(columns)
    marks = ", ".join(["%s"] * len(columns))
    copied = 0
    with pg.cursor() as cursor:
        for batch in _batches(lite.execute(f"SELECT {names} FROM {table}")):
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", batch)
            copied += len(batch)
    return copied


def _copy_files(lite: sqlite3.Connection, pg: Any, data_dir: Path) -> tuple[int, int, list[str]]:
    """Store every evidence file, and every checked screenshot waiting, as blobs."""
    from storage import screenshots
    from storage.db import from_json

    paths = {row[0] for row in lite.execute("SELECT DISTINCT path FROM evidence WHERE path != ''")}
    for (pending,) in lite.execute("SELECT pending FROM conversations"):
        if '"image"' in pending:
            paths.update(screenshots.paths_in(from_json(pending)))
    files, size, missing = 0, 0, []
    for path in sorted(paths):
        try:
            data = (data_dir / path).read_bytes()
        except OSError:
            missing.append(path)
            continue
        sha256 = hashlib.sha256(data).hexdigest()
        if not path.endswith(sha256):  # a torn or altered file: its name no longer fits
            missing.append(path)
            continue
        pg.execute(
            "INSERT INTO blobs (sha256, size, data, created_at) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (sha256) DO NOTHING",
            (sha256, len(data), data, datetime.now(UTC).isoformat()),
        )
        files += 1
        size += len(data)
    return files, size, missing


def _batches(rows: sqlite3.Cursor) -> Iterator[list[tuple[Any, ...]]]:
    while batch := rows.fetchmany(_BATCH):
        yield [tuple(row) for row in batch]


def _redacted(url: str) -> str:
    from storage.postgres.store import redact

    return redact(url)
