"""Failover: two `complaint-bot run` on one PostgreSQL database, the leader SIGKILLed again and again.

Both processes talk HTTP to the fake Bot API served by this test, on a throwaway PostgreSQL
server. One leads (polls Telegram, sends reminders); the other stands by. While three people
file SMS complaints with two screenshots each (the crash test's people, tests/crash_people.py),
the leader is killed with SIGKILL at a random point; the standby must take over, and the killed
one is started again as the new standby. Every deadline is 1 second, so reminders fall due while
the leaders change.

What must hold (the crash test's invariants, tests/crash_checks.py, on PostgreSQL):
- ANSWERS, CASES, EVIDENCE, REMINDERS (rows): every confirmed answer kept; every announced case
  in the database, each round filed once with exactly its two screenshots; every reminder sent
  and recorded once in the database;
- BLOBS: each evidence row's bytes are in the database and hash to its sha256; no bytes without
  a row (the FILES check of SQLite, where the bytes are files);
- TAKEOVER: after each kill the standby leads and answers; the processes never lead at once:
  Telegram's "Conflict" (two pollers) is answered at most once per kill (the dead leader's
  abandoned long poll), and the kills repeat at most one reminder per person each.
- QUESTIONS: the bot never asks again a question it had moved past.
Messages in flight at a kill that got no answer (the person nudged) are counted and printed, as
in the crash test; the durable inbox is what brings them to 0.

FAILOVER_KILLS (default 2; `make soak` runs 30) and FAILOVER_SEED (default random, printed) set
the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import random
from collections import Counter
from pathlib import Path

import psycopg
from bot_cluster import Cluster
from crash_people import PEOPLE, REMINDER, Person, play
from failover_checks import check_people, check_totals
from fake_telegram import FakeBotAPI, FakeBotAPIServer

from storage.postgres.connection import Connection, row_factory

KILLS = int(os.environ.get("FAILOVER_KILLS", "2"))
SEED = int(os.environ.get("FAILOVER_SEED") or random.SystemRandom().randrange(2**32))


async def killer(cluster: Cluster, kills: int, rng: random.Random) -> None:
    """Kill the leader `kills` times, each at a random point of the people's work."""
    await cluster.start()
    fake = cluster.fake
    while cluster.kills() < kills:
        await cluster.ready()
        if rng.random() < 0.5:  # in the middle of handling: right after its k-th API call
            calls = len(fake.calls()) + rng.randint(1, 12)
            with contextlib.suppress(AssertionError):  # quiet for a while: kill it anyway
                await fake.wait_until(lambda c=calls: len(fake.calls()) >= c, timeout=2.0)
        else:
            await asyncio.sleep(rng.uniform(0.2, 2.0))
        await cluster.kill_leader(restart=cluster.kills() + 1 < kills)


def reminder_sends(fake: FakeBotAPI) -> Counter[str]:
    """Return how many times each case's reminder went out."""
    sends: Counter[str] = Counter()
    for call in fake.calls("sendMessage"):
        found = REMINDER.search(str(call.params.get("text", "")))
        if found and call.ok:
            sends[found[1]] += 1
    return sends


def unreminded(url: str) -> set[str]:
    """Return the cases whose reminder is not recorded as sent yet."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT c.number FROM cases c LEFT JOIN reminders r ON r.case_id = c.id"
            " WHERE r.status IS NULL OR r.status <> 'sent'"
        )
        return {row[0] for row in rows}


async def wait_for_reminders(fake: FakeBotAPI, url: str) -> None:
    """Wait until every filed case's reminder went out and was recorded (deadlines are 1 s).

    Stopping the leader between a send and its record would leave the reminder pending, to go
    out again later: the crash window, which the kills are for, not the final stop.
    """

    for _ in range(300):  # the record comes after the send: read the database, 30 s at most
        if not (missing := unreminded(url)):
            break
        await asyncio.sleep(0.1)
    assert not missing, f"REMINDERS: never sent and recorded for {sorted(missing)}"
    assert not {n for n in filed(url) if n not in reminder_sends(fake)}, "REMINDERS: not sent"


def filed(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {row[0] for row in conn.execute("SELECT number FROM cases")}


def check_database(url: str, people: list[Person]) -> dict[str, int]:
    with psycopg.connect(url, row_factory=row_factory) as raw:
        conn = Connection(raw)
        checked = check_people(conn, people)
        blobs = {
            row["sha256"]: bytes(row["data"])
            for row in conn.execute("SELECT sha256, data FROM blobs").fetchall()
        }
    for row in checked.evidence:  # each file's bytes there, and whole
        data = blobs.get(row["sha256"])
        assert data is not None, f"BLOBS: the bytes of a row are missing: {row['path']}"
        assert hashlib.sha256(data).hexdigest() == row["sha256"], f"BLOBS: changed: {row['path']}"
    unreferenced = set(blobs) - {row["sha256"] for row in checked.evidence}
    assert not unreferenced, f"BLOBS: {len(unreferenced)} stored files without an evidence row"
    with psycopg.connect(url, row_factory=row_factory) as raw:
        check_totals(Connection(raw), checked)
    return {"cases": checked.cases, "announced": checked.announced, "blobs": len(blobs)}


async def test_the_standby_takes_over_from_a_sigkilled_leader_losing_nothing(
    tmp_path: Path, pg_url: str
) -> None:
    print(f"failover test: FAILOVER_SEED={SEED} FAILOVER_KILLS={KILLS}")
    fake = FakeBotAPI()
    people = [Person(i, fake.add_user(f"User{i}"), fake) for i in range(PEOPLE)]
    keep_going = asyncio.Event()
    keep_going.set()
    async with FakeBotAPIServer(fake) as server:
        env = {
            # These people answer faster than anyone types; flood control is tested elsewhere.
            "COMPLAINT_BOT_TELEGRAM__FLOOD_LIMIT": "off",
            "COMPLAINT_BOT_DEADLINE_OVERRIDE": "1s",
            "COMPLAINT_BOT_QUIET_HOURS": "off",
        }
        cluster = Cluster(fake, server, tmp_path, pg_url, env)
        try:
            players = [asyncio.create_task(play(p, cluster, keep_going)) for p in people]
            try:
                await killer(cluster, KILLS, random.Random(SEED))
                keep_going.clear()  # after the last kill: everyone completes what they began
                await asyncio.wait_for(asyncio.gather(*players), 60)
            finally:
                for task in players:
                    task.cancel()
                await asyncio.gather(*players, return_exceptions=True)
            await wait_for_reminders(fake, pg_url)
            running = [bot for bot in cluster.bots if not bot.exited]
            await cluster.stop()
            exits = [bot.process.returncode for bot in running if bot.process is not None]
            assert exits and set(exits) == {0}, f"TAKEOVER: SIGTERM ended them with {exits}"
            figures = check_database(pg_url, people)
            for person in people:
                assert person.script.regressions == [], f"QUESTIONS: {person.script.regressions}"
                assert person.script.announced, (
                    f"CASES: user {person.index} never filed a complaint"
                )
            kills = cluster.kills()
            conflicts = sum(
                1 for call in fake.calls("getUpdates") if call.status == 409
            )  # two pollers at once: Telegram cuts one off with "Conflict"
            assert conflicts <= kills, f"TAKEOVER: {conflicts} Conflicts in {kills} kills"
            sends = reminder_sends(fake)
            repeats = sum(sends.values()) - len(sends)
            assert repeats <= kills * PEOPLE, f"REMINDERS: {repeats} repeated in {kills} kills"
            takeovers = sorted(cluster.takeovers)
            figures |= {
                "kills": kills,
                "conflicts": conflicts,
                "reminders_sent": sum(sends.values()),
                "reminder_repeats": repeats,
                "steps_confirmed": sum(p.script.steps_confirmed for p in people),
                "nudges": sum(p.script.nudges for p in people),
                "lost_lock": sum(Cluster.said(b, "lost the lock") for b in cluster.bots),
                "takeover_median_s": round(takeovers[len(takeovers) // 2], 2),
                "takeover_max_s": round(takeovers[-1], 2),
            }
            print("failover test:", figures)
            assert kills >= KILLS
            assert figures["steps_confirmed"] > 0
        except BaseException:
            print(f"failover test FAILED with FAILOVER_SEED={SEED}; logs' tails:")
            for bot in cluster.bots:
                print(f"--- {bot.folder.name}")
                print(bot.log.read_text(errors="replace")[-3000:] if bot.log.exists() else "")
            for person in people:
                print(f"--- user {person.index}: {person.script.rounds}")
                print("\n".join(line[:160] for line in fake.transcript(person.user.id)[-25:]))
            raise
        finally:
            for bot in cluster.bots:
                await bot.kill()
