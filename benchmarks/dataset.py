"""Databases full of filed cases, generated in bulk from one case our bot really filed.

One person walks the SMS intake through the real bot; the rows that left behind (the person,
their conversation, the case, its deadline reminder, its timeline and evidence) are the template,
copied N times with new ids in one transaction: with `executemany` into SQLite, with `COPY` into
PostgreSQL (plus the photo's bytes, which live in the database there). So the data has exactly
the shape our code writes, and a million cases take about a minute rather than hours of walking.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from harness import DATA, BenchAPI, Person, running_application

import storage.postgres.blobs as blobs
from storage import SqliteStore
from storage.db import to_utc_iso
from storage.postgres.connection import Connection
from storage.postgres.store import migrate

FIRST_USER = 500_000_000  # far from the ids the fake Bot API gives its people
TABLES = ("users", "conversations", "cases", "reminders", "events", "evidence")
YEAR = 2026
LAYOUT = 2  # part of a kept database's name: raise it when what `build` writes changes


Rows = dict[str, list[dict[str, Any]]]
_walked: list[Rows] = []  # the template, once per process: walking it takes seconds


async def _template() -> Rows:
    """File one case with our bot and return every row it wrote, by table."""
    if _walked:
        return _walked[0]
    from bots import SMS_WALK, our_bot, settings_for
    from throughput import PHOTO

    with tempfile.TemporaryDirectory(prefix="bench-template-") as tmp:
        folder = Path(tmp)
        api = BenchAPI()
        app = our_bot(api, settings_for(folder))
        async with running_application(app, allowed_updates=["message", "callback_query"]):
            person = Person(api, api.add_user("template"))
            for step in SMS_WALK:
                await person.do(step, PHOTO)
        conn = sqlite3.connect(folder / "bot.sqlite3")
        conn.row_factory = sqlite3.Row
        rows = {t: [dict(r) for r in conn.execute(f"SELECT * FROM {t}")] for t in TABLES}
        conn.close()
    _walked.append(rows)
    return rows


def _copies(
    template: Rows, table: str, count: int, due: int, now: datetime
) -> Iterator[tuple[Any, ...]]:
    """Yield `count` copies of the table's template rows, one set per case."""
    now_iso = to_utc_iso(now, "now")
    for i in range(count):
        user_id, case_id = FIRST_USER + i, i + 1
        draft = f"{i:032x}"
        for row in template[table]:
            new = dict(row)
            if table == "users":
                new.update(id=user_id, external_id=str(user_id), chat_id=str(user_id))
            elif table == "conversations":
                new.update(user_id=user_id, draft_id=None)
            elif table == "cases":
                new.update(id=case_id, number=f"TS-{YEAR}-{case_id:06d}", user_id=user_id)
            elif table == "reminders":
                # `due` of them due an hour ago; the others spread over 30 days from a month on,
                # so that a database kept for later runs has the same number due
                later = timedelta(days=30, seconds=i % 2_592_000)
                at = now - timedelta(hours=1) if i < due else now + later
                new.update(id=case_id, case_id=case_id, due_at=to_utc_iso(at, "due_at"))
                new["created_at"] = now_iso
            else:  # events, evidence: ids assigned by SQLite
                new.pop("id")
                new.update(user_id=user_id, case_id=case_id, draft_id=draft)
            yield tuple(new.values())


async def build(path: Path, cases: int, *, due: int = 0, now: datetime | None = None) -> float:
    """Create a database at `path` holding `cases` filed cases, `due` of them with a reminder
    due now; return the seconds it took."""
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    template = await _template()
    store = await SqliteStore.open(path, path.parent / "files")  # the schema, by our migrations
    await store.close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("BEGIN")
    for table in TABLES:
        columns = list(template[table][0])
        if table in ("events", "evidence"):
            columns.remove("id")
        marks = ", ".join("?" * len(columns))
        conn.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
            _copies(template, table, cases, due, now),
        )
    conn.execute(
        "INSERT INTO case_counters (year, last) VALUES (?, ?)"
        " ON CONFLICT (year) DO UPDATE SET last = excluded.last",
        (YEAR, cases),
    )
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return time.perf_counter() - started


async def build_postgres(
    url: str, cases: int, *, due: int = 0, now: datetime | None = None
) -> tuple[float, float]:
    """Fill the empty PostgreSQL database at `url` with `cases` filed cases, `due` of them with a
    reminder due now, and analyse it; return the seconds the copy took, and the analysis."""
    from throughput import PHOTO

    now = now or datetime.now(UTC)
    template = await _template()
    started = time.perf_counter()
    photo = blobs.ref_of(PHOTO)
    if {row["path"] for row in template["evidence"]} != {photo.path}:
        raise AssertionError("the template's evidence is not the benchmark's one photo")
    migrate(url)  # the schema, by our migrations
    with psycopg.connect(url) as conn, conn.cursor() as cursor:  # one transaction
        # The copies refer to rows copied with them: no need to check each foreign key with a
        # query per row (the server's superuser, ours, may switch those triggers off).
        cursor.execute("SET LOCAL session_replication_role = replica")
        # Building an index once over sorted rows beats updating it row by row: the secondary
        # indexes go for the copy and come back after it (keys and unique constraints stay).
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        indexes = cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
            " AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        ).fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        for table in TABLES:
            columns = list(template[table][0])
            if table in ("events", "evidence"):
                columns.remove("id")
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in _copies(template, table, cases, due, now):
                    copy.write_row(row)
        for _, definition in indexes:
            cursor.execute(definition)
        cursor.execute(
            "INSERT INTO case_counters (year, last) VALUES (%s, %s)"
            " ON CONFLICT (year) DO UPDATE SET last = excluded.last",
            (YEAR, cases),
        )
        blobs.put(Connection(conn), photo, PHOTO, to_utc_iso(now, "now"))
        # Ids given explicitly leave the identity sequences behind; as on SQLite, the next
        # row gets the largest id + 1.
        for table in ("users", "cases", "reminders"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
            )
    # What autovacuum would do after a while on a real server, done now so that the plans the
    # benchmark sees are those of a database that has settled.
    copied = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return copied - started, time.perf_counter() - copied


def seeded(cases: int, took: tuple[float, float]) -> None:
    """Say how long seeding PostgreSQL with `cases` cases took (build_postgres's answer)."""
    print(
        f"PostgreSQL seeded with {cases:,} cases in {sum(took):.1f} s: COPY in one transaction"
        f" {took[0]:.1f} s, VACUUM ANALYZE {took[1]:.1f} s"
    )


async def cached(cases: int, due: int = 0) -> Path:
    """Return a database of `cases` cases (`due` due now) under benchmarks/.data, built once.

    Only for benchmarks that leave it as it was. Reminders not due fall due a month after it
    was built; an older one is built again.
    """
    path = DATA / f"cases-{cases}-due-{due}-v{LAYOUT}.sqlite3"
    if not _fresh(path):
        scratch = path.with_suffix(".building")
        await build(scratch, cases, due=due)
        _settle(scratch, path)
    return path


def _fresh(path: Path) -> bool:
    """Tell whether `path` exists and was built less than 20 days ago; else make room for it."""
    if path.exists() and time.time() - path.stat().st_mtime < 20 * 86400:
        return True
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in (path, path.with_suffix(".building")):
        stale.unlink(missing_ok=True)
    return False


def _settle(scratch: Path, path: Path) -> None:
    """Move a finished database into place, without its emptied WAL files."""
    for leftover in ("-wal", "-shm"):
        Path(f"{scratch}{leftover}").unlink(missing_ok=True)
    scratch.rename(path)


def main() -> None:
    """Generate one database (to look at, or to time the generator)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=0)
    args = parser.parse_args()
    args.path.parent.mkdir(parents=True, exist_ok=True)
    took = asyncio.run(build(args.path, args.cases, due=args.due))
    print(f"{args.cases} cases in {took:.1f} s: {args.path} ({args.path.stat().st_size >> 20} MB)")


if __name__ == "__main__":
    main()
