"""10. Failover: from SIGKILL of the leader to the next answer the person gets.

Two `complaint-bot run` processes on one throwaway PostgreSQL server (127.0.0.1, fsync off) and
the fake Bot API over HTTP, as in tests/bot/test_failover.py. Each round kills the leader with
SIGKILL and, at that moment, a person sends /help; the time until the answer arrives is the
failover time (the standby's next try of the lock, its settle wait, its first poll, the answer).
The killed process is started again as the new standby before the next round. Target: median
and p95 under 5 s.

Baseline, measured in the same run: one process on SQLite, killed and started again at once (as
systemd's Restart=always with no delay would); the same question, the same clock. The
standby's retry interval and settle wait (bot/leader.py) are printed as the floor: a takeover
cannot be quicker than the settle wait.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from harness import heading, median, verdict

# isort: split
# After harness, which puts the repo and tests/ on the path.
from bot_cluster import Cluster
from bot_process import BotProcess
from fake_telegram import FakeBotAPI, FakeBotAPIServer, FakeUser
from pg_server import PgServer, binaries

from bot.leader import RETRY, SETTLE

TARGET = 5.0
HELP = "help"


async def answered(fake: FakeBotAPI, user: FakeUser, before: int, since: float) -> float:
    """Wait until the bot sent `user` more than `before` messages; return seconds since `since`."""
    await fake.wait_until(lambda: len(fake.sent_to(user.id)) > before, timeout=60)
    return time.perf_counter() - since


async def ask(fake: FakeBotAPI, user: FakeUser, since: float) -> float:
    """Send /help; return the seconds from `since` until the bot answered it."""
    before = len(fake.sent_to(user.id))
    user.send_command(HELP)
    return await answered(fake, user, before, since)


async def failovers(folder: Path, url: str, kills: int) -> list[float]:
    """Kill the leader `kills` times; return each kill's seconds to the next answer."""
    fake = FakeBotAPI()
    user = fake.add_user("Asker")
    times = []
    async with FakeBotAPIServer(fake) as server:
        cluster = Cluster(fake, server, folder, url)
        try:
            await cluster.start()
            await ask(fake, user, time.perf_counter())  # the first answer: everything warm
            for kill in range(kills):
                await cluster.ready()
                before = len(fake.sent_to(user.id))
                killed_at = time.perf_counter()
                # The question is asked the moment the leader is dead.
                await cluster.kill_leader(
                    restart=kill + 1 < kills, then=lambda: user.send_command(HELP)
                )
                times.append(await answered(fake, user, before, killed_at))
            await cluster.stop()
            lost = sum(Cluster.said(bot, "lost the lock") for bot in cluster.bots)
            print(f"leaders that stepped down for a check slower than the lease: {lost}")
        finally:
            for bot in cluster.bots:
                await bot.kill()
    return times


async def restarts(folder: Path, kills: int) -> list[float]:
    """Kill one bot on SQLite `kills` times, starting it again at once; return each time."""
    fake = FakeBotAPI()
    user = fake.add_user("Asker")
    times = []
    async with FakeBotAPIServer(fake) as server:
        bot = BotProcess(fake, server, folder)
        try:
            await bot.start()
            await ask(fake, user, time.perf_counter())
            for _ in range(kills):
                killed_at = time.perf_counter()
                await bot.kill()
                await bot.spawn()
                times.append(await ask(fake, user, killed_at))
        finally:
            await bot.kill()
    return times


def p95(values: Sequence[float]) -> float:
    """Return the 95th percentile (the largest value when there are few)."""
    if len(values) < 20:
        return max(values)
    return statistics.quantiles(values, n=20)[-1]


def main(argv: Sequence[str] | None = None) -> bool:
    """Run the benchmark, print its figures; return whether the target holds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20, help="leader kills (20)")
    parser.add_argument("--quick", action="store_true", help="1 kill")
    args = parser.parse_args(argv)
    if args.quick:
        args.kills = 1
    logging.basicConfig(level=logging.WARNING)
    heading(
        f"10. failover: SIGKILL of the leader to the next answer, {args.kills} kills"
        f" (standby retries every {RETRY:g} s, waits {SETTLE:g} s before leading)"
    )
    if binaries() is None:
        print("skipped: PostgreSQL is not installed (initdb and pg_ctl not found)")
        return True
    server = PgServer()
    server.start()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-failover-") as tmp:
            (Path(tmp) / "single").mkdir()
            standby = asyncio.run(failovers(Path(tmp), server.new_database(), args.kills))
            single = asyncio.run(restarts(Path(tmp) / "single", args.kills))
    finally:
        server.stop()
    for name, times in (
        ("leader killed, standby takes over (PostgreSQL)", standby),
        ("baseline: one process killed, restarted at once (SQLite)", single),
    ):
        print(
            f"{name:<58} median {median(times):5.2f} s  p95 {p95(times):5.2f} s"
            f"  max {max(times):5.2f} s"
        )
    holds = median(standby) < TARGET and p95(standby) < TARGET
    print(f"failover median and p95 < {TARGET:g} s: {verdict(holds)}")
    return holds


if __name__ == "__main__":
    main()
