"""Workers: two `complaint-bot run` on one PostgreSQL database both answer; one is SIGKILLed.

With `telegram.workers: 2` the leader polls Telegram (the fake Bot API, over HTTP) and both
processes answer from the inbox, one person at a time each. While three people file SMS
complaints with two screenshots each (the crash test's people, tests/crash_people.py), the
worker that does not lead is killed with SIGKILL at a moment it holds someone's conversation
lock, i.e. in the middle of their updates. The leader must take its people over: everyone is
answered again, nothing stays in the inbox or the outbox, and every confirmed answer and
announced case is in the database, each case with exactly its round's screenshots
(tests/failover_checks.py). Messages that waited longer than a person's patience (they nudged)
are printed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg
from bot_cluster import Cluster
from bot_process import BotProcess
from crash_people import PEOPLE, Person, play
from failover_checks import check_people
from fake_telegram import FakeBotAPI, FakeBotAPIServer

from storage.postgres.connection import Connection, row_factory

WAIT = 30.0  # seconds, only so that a broken run ends


def locks_held(url: str, bot: BotProcess) -> int:
    """Return how many conversation locks the process `bot` holds now."""
    assert bot.process is not None
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = %s",
            (f"complaint-bot conversation locks (pid {bot.process.pid})",),
        ).fetchone()
    return int(row[0]) if row else 0


def left_behind(url: str) -> tuple[int, int]:
    """Return the updates still pending and the replies still kept."""
    with psycopg.connect(url) as conn:
        pending = conn.execute("SELECT count(*) FROM inbox WHERE done_at IS NULL").fetchone()
        unsent = conn.execute("SELECT count(*) FROM outbox").fetchone()
    return (pending[0] if pending else -1), (unsent[0] if unsent else -1)


async def test_a_sigkilled_worker_s_people_are_taken_over_losing_nothing(
    tmp_path: Path, pg_url: str
) -> None:
    fake = FakeBotAPI()
    people = [Person(i, fake.add_user(f"User{i}"), fake) for i in range(PEOPLE)]
    keep_going = asyncio.Event()
    keep_going.set()
    async with FakeBotAPIServer(fake) as server:
        env = {
            "COMPLAINT_BOT_TELEGRAM__WORKERS": "2",
            "COMPLAINT_BOT_TELEGRAM__FLOOD_LIMIT": "off",  # people faster than anyone types
        }
        cluster = Cluster(fake, server, tmp_path, pg_url, env)
        try:
            await cluster.start()
            worker = next(bot for bot in cluster.bots if bot is not cluster.leader)
            players = [asyncio.create_task(play(p, cluster, keep_going)) for p in people]
            try:
                loop = asyncio.get_running_loop()
                deadline = loop.time() + WAIT
                while not await asyncio.to_thread(locks_held, pg_url, worker):
                    assert loop.time() < deadline, "the worker never took anyone's updates"
                    await asyncio.sleep(0.02)
                await worker.kill()
                # Each person answered a few more times: whoever the dead worker held was
                # taken over. (Then they stop where they are: drafts are checked too.)
                before = [p.script.steps_confirmed for p in people]
                while any(
                    p.script.steps_confirmed < b + 3 for p, b in zip(people, before, strict=True)
                ):
                    assert loop.time() < deadline + WAIT, "people were not answered after the kill"
                    await asyncio.sleep(0.05)
            finally:
                for task in players:
                    task.cancel()
                await asyncio.gather(*players, return_exceptions=True)
            while await asyncio.to_thread(left_behind, pg_url) != (0, 0):  # the last answers
                assert loop.time() < deadline + 2 * WAIT, "updates or replies left behind"
                await asyncio.sleep(0.05)
            leader = cluster.leader
            assert leader is not None and not leader.exited
            await cluster.stop()
            assert leader.process is not None and leader.process.returncode == 0
            # Stopped by SIGTERM, it answered what it had in hand before closing the database.
            assert "the store is closed" not in leader.log.read_text(errors="replace")

            with psycopg.connect(pg_url, row_factory=row_factory) as raw:
                checked = check_people(Connection(raw), people)
            assert len(checked.evidence) == 2 * checked.cases, "EVIDENCE: rows per case"
            nudges = sum(p.script.nudges for p in people)
            steps = sum(p.script.steps_confirmed for p in people)
            print(f"workers test: {checked.cases} cases, {steps} steps, {nudges} nudges")
        except BaseException:
            for bot in cluster.bots:
                print(f"--- {bot.folder.name}")
                print(bot.log.read_text(errors="replace")[-3000:] if bot.log.exists() else "")
            raise
        finally:
            for bot in cluster.bots:
                await bot.kill()
