"""9. The SMS intake end to end on PostgreSQL, next to SQLite in the same run.

The same people and walk as benchmark 1 (throughput.py), through the real PTB Application, once
with SQLite (group commit, one writer) and once with `storage.url` set to a throwaway
PostgreSQL server on 127.0.0.1 started for this run (fsync off, as in the tests: this measures
the bot's side, not the server's disk). Target: PostgreSQL keeps at least half of SQLite's rate,
so moving to a server costs at most a factor of two on one machine.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path

import backends
from bots import SMS_WALK, our_bot, settings_for
from harness import BenchAPI, Figures, heading, verdict
from throughput import walk_all

TARGET = 0.5


async def measure(chats: int, walks: int, folder: Path, url: str) -> tuple[Figures, Figures]:
    """Walk the intake on SQLite, then on PostgreSQL, each on a fresh fake and database."""
    lite_api = BenchAPI()
    lite = await walk_all(
        lite_api,
        our_bot(lite_api, settings_for(folder / "sqlite")),
        SMS_WALK,
        chats,
        walks,
        "complaint-bot on SQLite",
        echo=False,
    )
    pg_api = BenchAPI()
    pg = await walk_all(
        pg_api,
        our_bot(pg_api, settings_for(folder / "postgres", storage_url=url)),
        SMS_WALK,
        chats,
        walks,
        "complaint-bot on PostgreSQL",
        echo=False,
    )
    return lite, pg


def main(argv: Sequence[str] | None = None) -> bool:
    """Run the benchmark, print its figures; return whether the target holds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=100, help="people at once (100)")
    parser.add_argument("--walks", type=int, default=3, help="intakes each chat walks (3)")
    parser.add_argument("--quick", action="store_true", help="5 chats, 1 walk")
    args = parser.parse_args(argv)
    if args.quick:
        args.chats, args.walks = 5, 1
    logging.basicConfig(level=logging.WARNING)
    heading(
        f"9. the SMS intake on PostgreSQL vs SQLite: {args.chats} chats at once,"
        f" {args.walks} intakes each, {len(SMS_WALK)} updates per intake"
    )
    if "postgres" not in backends.chosen("postgres"):
        return True
    url = backends.server().new_database()
    with tempfile.TemporaryDirectory(prefix="bench-postgres-") as tmp:
        lite, pg = asyncio.run(measure(args.chats, args.walks, Path(tmp), url))
    backends.drop_database(url)
    print(lite.line())
    print(pg.line())
    ratio = pg.rate / lite.rate
    holds = ratio >= TARGET
    print(f"PostgreSQL / SQLite = {ratio:.2f} (target >= {TARGET:.2f}): {verdict(holds)}")
    return holds


if __name__ == "__main__":
    main()
