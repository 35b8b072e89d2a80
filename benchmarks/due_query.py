"""4. Finding what is due: the scheduler's due query and claim with many cases and a few due.

Baseline in the same run: the same calls on a database with the same number of due reminders
and no other cases, so what the other cases add is plain to see. With `--backend postgres` or
`both` (the default) it runs on SQLite and then on a throwaway PostgreSQL server seeded with the
same rows, where the scheduler claims what is due with a lease (`FOR UPDATE SKIP LOCKED`).

Timed, each the median of `--repeat` tries: one batch of the due query (what a scheduler pass
reads first), every due row at once, claiming every due row the way the scheduler does (batches
of 100 until one comes back short; the leases are let go, untimed, before the next try), and
the question of when the next reminder falls due.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import backends
import psycopg
from dataset import build_postgres, cached, seeded
from harness import heading, median, timed, verdict

import storage.postgres.reminders as claims
from bot.scheduler import BATCH
from flows.ports import Store
from storage import SqliteStore
from storage.db import to_utc_iso
from storage.postgres import PostgresStore
from storage.postgres.connection import translate
from storage.reminders import DUE_QUERY

TARGET_MS = 20.0
MESSENGER = "telegram"  # the scheduler of the Telegram bot asks for its own people's reminders


@dataclass
class Times:
    """Median ms of each call on one database, and how many due rows it found."""

    batch: float
    all: float
    claim: float
    next_due: float
    found: int
    claimed: int


async def _ms(
    call: Callable[[], Awaitable[Any]],
    repeat: int,
    after: Callable[[], Awaitable[None]] | None = None,
) -> tuple[float, Any]:
    """Return the median ms of `call()` and its last result; `after()` runs untimed after each."""
    took = []
    result = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = await call()
        took.append((time.perf_counter() - started) * 1000)
        if after is not None:
            await after()
    return median(took), result


async def time_calls(
    store: Store, due: int, repeat: int, release: Callable[[], Awaitable[None]]
) -> Times:
    """Time the scheduler's calls on `store`; `release()` lets every claim go, untimed."""
    now = datetime.now(UTC)

    async def claim_all() -> int:
        claimed = 0
        while True:  # as Scheduler.run_due does
            got = await store.claim_reminders(now, BATCH, audience=MESSENGER)
            claimed += len(got)
            if len(got) < BATCH:
                return claimed

    batch, _ = await _ms(lambda: store.due_reminders(now, BATCH, audience=MESSENGER), repeat)
    every, found = await _ms(lambda: store.due_reminders(now, due + 1, audience=MESSENGER), repeat)
    claim, claimed = await _ms(claim_all, repeat, release)
    next_due, _ = await _ms(lambda: store.next_due_at(audience=MESSENGER), repeat)
    return Times(batch, every, claim, next_due, len(found), claimed)


async def time_sqlite(path: Path, due: int, repeat: int) -> Times:
    """Time the scheduler's calls on the SQLite database at `path`."""
    store = await SqliteStore.open(path, path.parent / "files")
    try:

        async def release() -> None:
            for reminder in await store.due_reminders(datetime.now(UTC), due + 1):
                await store.release_reminder(reminder.id)

        return await time_calls(store, due, repeat, release)
    finally:
        await store.close()


async def time_postgres(url: str, due: int, repeat: int, folder: Path) -> Times:
    """Time the scheduler's calls on the PostgreSQL database at `url`."""
    store = await PostgresStore.open(url, folder)
    try:
        with psycopg.connect(url, autocommit=True) as conn:

            async def release() -> None:
                conn.execute(
                    "UPDATE reminders SET lease_until = NULL WHERE lease_until IS NOT NULL"
                )

            return await time_calls(store, due, repeat, release)
    finally:
        await store.close()


def sqlite_plan(path: Path) -> list[str]:
    """Return SQLite's plan for the scheduler's due query."""
    conn = sqlite3.connect(path)
    now = to_utc_iso(datetime.now(UTC), "now")
    params = (now, MESSENGER, MESSENGER, None, None, BATCH)
    rows = conn.execute(f"EXPLAIN QUERY PLAN {DUE_QUERY}", params).fetchall()
    conn.close()
    return [row[3] for row in rows]


def postgres_plans(url: str) -> dict[str, list[str]]:
    """Return PostgreSQL's plans, as run (EXPLAIN ANALYZE, rolled back), for the due query and
    the claim."""
    now = to_utc_iso(datetime.now(UTC), "now")
    audience = (MESSENGER, MESSENGER, None, None)
    queries = {
        "due query": (claims.DUE_QUERY, (now, now, *audience, BATCH)),
        "claim": (claims.CLAIM_QUERY, (now, now, now, *audience, BATCH)),
    }
    plans = {}
    with psycopg.connect(url) as conn:
        for name, (sql, params) in queries.items():
            rows = conn.execute(f"EXPLAIN (ANALYZE, COSTS OFF) {translate(sql)}", params)
            plans[name] = [row[0] for row in rows]
        conn.rollback()  # the claim's leases
    return plans


def main(argv: Sequence[str] | None = None) -> bool:
    """Run the benchmark, print its figures; return whether the target holds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000, help="cases in the database")
    parser.add_argument("--due", type=int, default=1_000, help="reminders due now")
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--quick", action="store_true", help="2,000 cases, 50 due")
    backends.add_option(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.cases, args.due, args.repeat = 2_000, 50, 3
    logging.basicConfig(level=logging.WARNING)
    heading(f"4. due query: {args.cases:,} cases, {args.due:,} reminders due")
    kinds = backends.chosen(args.backend)
    sizes = {f"{args.due:,} cases, all due": args.due, f"{args.cases:,} cases": args.cases}
    times: dict[tuple[str, str], Times] = {}
    plans: dict[str, list[str]] = {}
    if "sqlite" in kinds:
        with timed() as took:
            paths = {name: asyncio.run(cached(cases, args.due)) for name, cases in sizes.items()}
        print(f"SQLite databases ready in {took():.1f} s (generated once, kept under .data)")
        for name, path in paths.items():
            times["sqlite", name] = asyncio.run(time_sqlite(path, args.due, args.repeat))
        plans["SQLite, EXPLAIN QUERY PLAN of the due query"] = sqlite_plan(paths[name])
    if "postgres" in kinds:
        folder = Path(backends.server().folder)
        for name, cases in sizes.items():
            url = backends.server().new_database()
            seeded(cases, asyncio.run(build_postgres(url, cases, due=args.due)))
            times["postgres", name] = asyncio.run(time_postgres(url, args.due, args.repeat, folder))
            if cases == args.cases:
                for query, plan in postgres_plans(url).items():
                    plans[f"PostgreSQL, EXPLAIN ANALYZE of the {query}"] = plan
            backends.drop_database(url)
    holds = True
    for kind in kinds:
        for name in sizes:
            t = times[kind, name]
            print(
                f"{kind:<8} {name:<24} one batch of {BATCH}: {t.batch:6.2f} ms"
                f"   all {t.found:,} due: {t.all:6.2f} ms"
                f"   claim all {t.claimed:,} in batches: {t.claim:6.2f} ms"
                f"   next due: {t.next_due:5.2f} ms"
            )
        ours = times[kind, f"{args.cases:,} cases"]
        ok = ours.all <= TARGET_MS and ours.found == args.due and ours.claimed == args.due
        holds = holds and ok
        print(
            f"{kind}: all due rows in {ours.all:.2f} ms, each claimed once"
            f" (target <= {TARGET_MS:.0f} ms): {verdict(ok)}"
        )
    for title, lines in plans.items():
        print(f"{title}:")
        for line in lines:
            print(f"  {line}")
    return holds


if __name__ == "__main__":
    main()
