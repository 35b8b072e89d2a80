"""4. Finding what is due: the scheduler's due query with many cases and a few due.

Baseline in the same run: the same query on a database with the same number of due reminders
and no other cases, so what the other cases add is plain to see.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sqlite3
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from dataset import cached
from harness import heading, median, timed, verdict

from bot.scheduler import BATCH
from storage import SqliteStore
from storage.db import to_utc_iso
from storage.reminders import DUE_QUERY

TARGET_MS = 20.0
MESSENGER = "telegram"  # the scheduler of the Telegram bot asks for its own people's reminders


async def time_due(path: Path, due: int, repeat: int) -> tuple[float, float, int]:
    """Return the median ms of one scheduler batch and of fetching every due row, and the count."""
    store = await SqliteStore.open(path, path.parent / "files")
    try:
        now = datetime.now(UTC)
        batch_ms, all_ms, found = [], [], 0
        for _ in range(repeat):
            started = time.perf_counter()
            await store.due_reminders(now, BATCH, audience=MESSENGER)
            batch_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            found = len(await store.due_reminders(now, due + 1, audience=MESSENGER))
            all_ms.append((time.perf_counter() - started) * 1000)
    finally:
        await store.close()
    return median(batch_ms), median(all_ms), found


def query_plan(path: Path) -> list[str]:
    """Return SQLite's plan for the scheduler's due query."""
    conn = sqlite3.connect(path)
    now = to_utc_iso(datetime.now(UTC), "now")
    params = (now, MESSENGER, MESSENGER, None, None, BATCH)
    rows = conn.execute(f"EXPLAIN QUERY PLAN {DUE_QUERY}", params).fetchall()
    conn.close()
    return [row[3] for row in rows]


def main(argv: Sequence[str] | None = None) -> bool:
    """Run the benchmark, print its figures; return whether the target holds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000, help="cases in the database")
    parser.add_argument("--due", type=int, default=1_000, help="reminders due now")
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--quick", action="store_true", help="2,000 cases, 50 due")
    args = parser.parse_args(argv)
    if args.quick:
        args.cases, args.due, args.repeat = 2_000, 50, 3
    logging.basicConfig(level=logging.WARNING)
    heading(f"4. due query: {args.cases:,} cases, {args.due:,} reminders due")
    with timed() as took:
        large = asyncio.run(cached(args.cases, args.due))
        small = asyncio.run(cached(args.due, args.due))
    print(f"databases ready in {took():.1f} s (generated once, kept under benchmarks/.data)")
    base = asyncio.run(time_due(small, args.due, args.repeat))
    ours = asyncio.run(time_due(large, args.due, args.repeat))
    for name, (batch, whole, found) in (
        (f"{args.due:,} cases, all due", base),
        (f"{args.cases:,} cases", ours),
    ):
        print(
            f"{name:<24} one batch of {BATCH}: {batch:6.2f} ms   all {found:,} due: {whole:6.2f} ms"
        )
    print("EXPLAIN QUERY PLAN (the scheduler's due query):")
    for line in query_plan(large):
        print(f"  {line}")
    holds = ours[1] <= TARGET_MS and ours[2] == args.due
    print(f"all due rows in {ours[1]:.2f} ms (target <= {TARGET_MS:.0f} ms): {verdict(holds)}")
    return holds


if __name__ == "__main__":
    main()
