"""Crash safety: `complaint-bot run` is SIGKILLed again and again while people file complaints.

The bot runs as a real process, its Telegram channel talking HTTP to the fake Bot API served on
127.0.0.1 by this test. Three people each file SMS complaints with two screenshots, over and over,
answering whatever the bot last asked (as a person would: after a silence they send /start and
continue). Every deadline is 1 second (`deadline_override`), so the follow-up reminders of the
filed cases fall due while the bot is being killed. Meanwhile the bot is killed with SIGKILL at
random points — during start-up, right after it made a few API calls (in the middle of handling
a message), or after a random time — and started again on the same database and data folder;
after each start the fake Bot API hands it again a few updates it had already handled.

What must hold (each failure message starts with the name of the invariant it breaks):
- ANSWERS: every answer a person gave and saw the bot move past is in the database, in the case
  filed from that round (or its draft): a forgotten conversation fails here;
- QUESTIONS: the bot never asks again a question it had moved past;
- CASES: every case it announced is in the database, each round filed once;
- EVIDENCE: each case has exactly the two screenshots of its round, each once, each file whole;
- FILES: no evidence file without its row;
- REMINDERS: every filed case's reminder goes out; no process sends one twice; repeats (a kill
  between sending and recording) are counted and at most one per person per kill;
- REDELIVERY: updates the bot had handled, given again after a restart, change nothing, and given
  again once everyone is done they get no answer at all;
- DATABASE: `PRAGMA integrity_check` and `foreign_key_check` pass.
`test_mutants_are_caught` runs a few short runs with a deliberate bug each (crash_mutants.py)
and checks that the invariant meant for it fails.

CRASH_KILLS (default 30; `make soak` runs 300) and CRASH_SEED (default: random, printed) set the
run; a failure prints the seed, and CRASH_SEED=... replays the same kill schedule.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import hashlib
import os
import random
import re
import sqlite3
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from bot_process import RUN, BotProcess
from crash_checks import check_people, check_totals
from crash_people import JSON, PEOPLE, REMINDER, Person, play
from fake_telegram import FakeBotAPI, FakeBotAPIServer

KILLS = int(os.environ.get("CRASH_KILLS", "30"))
SEED = int(os.environ.get("CRASH_SEED") or random.SystemRandom().randrange(2**32))
DEADLINE = "1s"  # every deadline, so reminders fall due during the run
MUTANTS = Path(__file__).with_name("crash_mutants.py")


@dataclass
class Run:
    """One crash run: the bot, the people, and what the test did to them."""

    bot: BotProcess
    people: list[Person]
    rng: random.Random
    redelivered: int = 0  # handled updates given to the bot again
    redelivered_ids: set[int] = field(default_factory=set)


def handled_update_ids(db: Path) -> set[int]:
    """Return the ids of the updates the bot recorded as handled (read while it runs)."""
    if not db.exists():
        return set()
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        rows = conn.execute("SELECT delivery_id FROM deliveries WHERE messenger = 'telegram'")
        return {int(str(row[0]).rsplit(":", 1)[-1]) for row in rows}
    except sqlite3.OperationalError as e:  # no table yet: the first start has not migrated it
        if "no such table" not in str(e):
            raise
        return set()
    finally:
        conn.close()


def redeliver(run: Run, each: int = 1) -> int:
    """Hand the bot again the newest `each` updates of each person it had already handled."""
    handled = handled_update_ids(run.bot.db_path)
    count = 0
    for person in run.people:
        done = [
            u
            for u in person.updates
            if u["update_id"] in handled and u["update_id"] not in run.redelivered_ids
        ]
        for update in done[-each:]:
            run.bot.fake.enqueue(update)
            run.redelivered_ids.add(update["update_id"])
            count += 1
    run.redelivered += count
    return count


SAYING = ("sendMessage", "sendDocument", "sendPhoto", "editMessageText", "editMessageReplyMarkup")


async def check_redelivery_at_rest(run: Run) -> int:
    """With everyone done and every reminder sent, handled updates given again get no answer."""
    fake = run.bot.fake

    def answers() -> list[Any]:  # reminders are not answers: REMINDERS counts them
        return [
            call
            for call in fake.calls()
            if call.method in SAYING and not REMINDER.search(str(call.params.get("text", "")))
        ]

    def recognised() -> int:
        return run.bot.log.read_text(errors="replace").count("delivered again")

    said, known = len(answers()), recognised()
    count = redeliver(run, each=5)
    assert count > 0, "REDELIVERY: no handled update to give again"
    # Until the bot has looked at them (one log line each; joined ones share a line) or
    # answered one of them; then quiet for longer than the album and forward windows.
    waited = 0.0
    while recognised() < known + len(run.people) and len(answers()) == said and waited < 10:
        await asyncio.sleep(0.1)
        waited += 0.1
    await fake.settle(quiet=1.0)
    again = answers()[said:]
    assert again == [], (
        f"REDELIVERY: {count} updates handled before were given again and the bot answered"
        f" {len(again)} times: {[str(c.params.get('text'))[:60] for c in again][:5]}"
    )
    return count


async def killer(run: Run, kills: int, progress: int = 0) -> None:
    """Kill the bot `kills` times at random points, starting it again after each.

    With `progress`, each kill waits until everyone's complaint has reached that question.
    """
    bot, rng = run.bot, run.rng
    await bot.start()
    redeliver(run)
    while bot.kills < kills:
        with contextlib.suppress(AssertionError):  # stuck: kill anyway
            await bot.fake.wait_until(
                lambda: all(p.current.furthest >= progress for p in run.people), timeout=20
            )
        how = rng.random()
        if how < 0.1:  # during start-up (opening and migrating the database, first polls)
            await bot.kill()
            await bot.spawn()
            await asyncio.sleep(rng.uniform(0.05, 1.0))
        elif how < 0.6:  # in the middle of handling: right after its k-th call to the API
            calls = len(bot.fake.calls()) + rng.randint(1, 12)
            with contextlib.suppress(AssertionError):  # quiet for a while: kill it anyway
                await bot.fake.wait_until(lambda c=calls: len(bot.fake.calls()) >= c, timeout=1.5)
        else:
            await asyncio.sleep(rng.uniform(0.0, 1.5))
        await bot.kill()
        await bot.start()
        redeliver(run)


def case_numbers_in(db: Path) -> set[str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return {row[0] for row in conn.execute("SELECT number FROM cases")}
    finally:
        conn.close()


def reminder_sends(bot: BotProcess) -> dict[str, list[int]]:
    """Return, per case number, which process (by start) sent each of its reminders."""
    sends: dict[str, list[int]] = {}
    for index, call in enumerate(bot.fake.calls()):
        found = REMINDER.search(str(call.params.get("text", "")))
        if found and call.method == "sendMessage" and call.ok:
            process = bisect.bisect_right(bot.marks, index) - 1
            sends.setdefault(found[1], []).append(process)
    return sends


async def wait_for_reminders(bot: BotProcess) -> None:
    """Wait until every filed case has had its reminder (deadlines are 1 s)."""

    def missing() -> set[str]:
        return case_numbers_in(bot.db_path) - set(reminder_sends(bot))

    with contextlib.suppress(AssertionError):  # a send is a change: the fake wakes us
        await bot.fake.wait_until(lambda: not missing(), timeout=30)
    assert not missing(), f"REMINDERS: never sent for {sorted(missing())}"


def check_database(run: Run) -> dict[str, int]:
    folder, people = run.bot.folder, run.people
    conn = sqlite3.connect(folder / "bot.sqlite3")
    conn.row_factory = sqlite3.Row
    try:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        assert integrity == "ok", f"DATABASE: integrity_check says {integrity}"
        broken = conn.execute("PRAGMA foreign_key_check").fetchall()
        assert broken == [], f"DATABASE: foreign keys broken: {[tuple(r) for r in broken]}"
        data = folder / "data"
        rows = conn.execute("SELECT case_id, sha256, path FROM evidence").fetchall()
        for row in rows:  # no file missing, and each one whole
            path = data / row["path"]
            assert path.is_file(), f"EVIDENCE: the file of a row is missing: {row['path']}"
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            assert digest == row["sha256"], f"EVIDENCE: file changed: {row['path']}"
        checked = check_people(conn, people)
        files = [p for p in (data / "evidence").rglob("*") if p.is_file()]
        referenced = {row["path"] for row in rows}
        unreferenced = [p for p in files if str(p.relative_to(data)) not in referenced]
        assert unreferenced == [], f"FILES: {len(unreferenced)} evidence files without a row"
        check_totals(conn, checked)
        return {
            "cases": checked.cases,
            "announced": checked.announced,
            "evidence_rows": len(checked.evidence),
            "unreferenced_files": len(unreferenced),
        }
    finally:
        conn.close()


def check_reminders(run: Run) -> dict[str, int]:
    """Each process sends a reminder at most once; a kill repeats at most one per person."""
    sends = reminder_sends(run.bot)
    for number, processes in sends.items():
        twice = sorted({p for p in processes if processes.count(p) > 1})
        assert not twice, f"REMINDERS: case {number}: sent twice by the process of start {twice}"
    repeats = sum(len(processes) - 1 for processes in sends.values())
    bound = run.bot.kills * len(run.people)
    assert repeats <= bound, f"REMINDERS: {repeats} repeated, more than {bound} (kills x people)"
    return {"reminders_sent": sum(map(len, sends.values())), "reminder_repeats": repeats}


async def crash_run(
    folder: Path, kills: int, seed: int, *, mutant: str | None = None, progress: int = 0
) -> JSON:
    """Play a crash run and check every invariant; return its figures."""
    print(f"crash test: CRASH_SEED={seed} CRASH_KILLS={kills} mutant={mutant}")
    fake = FakeBotAPI()
    people = [Person(i, fake.add_user(f"User{i}"), fake) for i in range(PEOPLE)]
    env = {
        # These people answer faster than anyone types; flood control is tested elsewhere.
        "COMPLAINT_BOT_TELEGRAM__FLOOD_LIMIT": "off",
        "COMPLAINT_BOT_DEADLINE_OVERRIDE": DEADLINE,
        "COMPLAINT_BOT_QUIET_HOURS": "off",
    }
    command = RUN
    if mutant is not None:
        command = (sys.executable, str(MUTANTS), "run")
        env["CRASH_MUTANT"] = mutant
    keep_going = asyncio.Event()
    keep_going.set()
    async with FakeBotAPIServer(fake) as server:
        bot = BotProcess(fake, server, folder, command=command, env=env)
        run = Run(bot, people, random.Random(seed))
        try:
            players = [asyncio.create_task(play(p, bot, keep_going)) for p in people]
            try:
                await killer(run, kills, progress)
                keep_going.clear()  # after the last kill: everyone completes what they began
                await asyncio.wait_for(asyncio.gather(*players), 60)
            finally:
                for task in players:
                    task.cancel()
                await asyncio.gather(*players, return_exceptions=True)
            await wait_for_reminders(bot)
            at_rest = await check_redelivery_at_rest(run)
            await bot.stop()
            figures = check_database(run) | check_reminders(run)
            for person in people:
                assert person.regressions == [], f"QUESTIONS: {person.regressions}"
                assert person.announced, f"CASES: user {person.index} never filed a complaint"
            ignored = bot.log.read_text(errors="replace").count("delivered again")
            figures |= {
                "kills": bot.kills,
                "starts": bot.starts,
                "steps_confirmed": sum(p.steps_confirmed for p in people),
                "nudges": sum(p.nudges for p in people),
                "start_seconds": round(bot.starting_time / bot.starts, 2),
                "redelivered": run.redelivered,
                "redelivered_at_rest": at_rest,
                "redeliveries_ignored": ignored,
            }
            print("crash test:", figures)
            assert bot.kills >= kills
            assert figures["steps_confirmed"] > 0
            if os.environ.get("CRASH_TRANSCRIPT"):
                Path(os.environ["CRASH_TRANSCRIPT"]).write_text(
                    "\n".join(fake.transcript(people[0].user.id)), encoding="utf-8"
                )
            return figures
        except BaseException:
            print(f"crash test FAILED with CRASH_SEED={seed} mutant={mutant}; bot log tail:")
            print(bot.log.read_text(errors="replace")[-4000:] if bot.log.exists() else "(no log)")
            for person in people:
                print(f"--- user {person.index}: {person.rounds}")
                print("\n".join(line[:160] for line in fake.transcript(person.user.id)[-25:]))
            raise
        finally:
            await bot.kill()


async def test_sigkill_at_random_points_loses_nothing_confirmed(tmp_path: Path) -> None:
    await crash_run(tmp_path, KILLS, SEED)


@pytest.mark.parametrize(
    ("mutant", "caught_by"),
    [
        ("forget_conversations", "ANSWERS"),
        ("drop_evidence_rows", "EVIDENCE|FILES"),
        ("send_reminders_twice", "REMINDERS"),
        ("ignore_deliveries", "REDELIVERY"),
    ],
)
async def test_mutants_are_caught(tmp_path: Path, mutant: str, caught_by: str) -> None:
    """A bot with a deliberate bug fails the crash run, on the invariant meant for it."""
    with pytest.raises(AssertionError) as failed:
        # One kill, once everyone is at the third question, keeps the run short and sure to
        # lose what the mutant loses.
        await crash_run(tmp_path, 1, seed=1, mutant=mutant, progress=3)
    caught = str(failed.value).splitlines()[0]
    print(f"mutant {mutant} caught: {caught}")
    assert re.match(caught_by, caught), str(failed.value)
