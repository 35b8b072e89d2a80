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
import os
import random
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import crash_checks
import crash_people
import pytest
from bot_process import RUN, BotProcess
from crash_checks import DONE, FILED, REMINDER, PersonView, Script
from fake_telegram import FakeBotAPI, FakeBotAPIServer

JSON = dict[str, Any]

KILLS = int(os.environ.get("CRASH_KILLS", "30"))
SEED = int(os.environ.get("CRASH_SEED") or random.SystemRandom().randrange(2**32))
PEOPLE = 3
PHOTOS = crash_people.PHOTOS  # screenshots per complaint
# Seconds a person waits for an answer from a running bot before nudging it: far longer than a
# step takes even on a loaded machine, so that a nudge means the message was lost, not slow.
PATIENCE = 10.0
DEADLINE = "1s"  # every deadline, so reminders fall due during the run
MUTANTS = Path(__file__).with_name("crash_mutants.py")


@dataclass
class Person(crash_people.Person):
    """A Telegram user playing the SMS complaint script, counting what went unanswered."""

    unanswered: int = 0  # messages the running bot never answered (the person nudged)

    def view(self) -> PersonView:
        told = {m[1] for t in self.fake.texts(self.user.id) if t and (m := FILED.search(t))}
        return PersonView(str(self.user.id), self.script, told)


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
    return {int(d.rsplit(":", 1)[-1]) for d in crash_checks.handled_deliveries(db, "telegram")}


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


PRESS = "answerCallbackQuery"  # the bot's first call for a button press, before handling it


async def killer(run: Run, kills: int, progress: int = 0, at: str | None = None) -> None:
    """Kill the bot `kills` times at random points, starting it again after each.

    With `progress`, each kill waits until everyone's complaint has reached that question;
    `at="press"` kills each time right after the bot acknowledged a button press.
    """
    bot, rng = run.bot, run.rng
    await bot.start()
    redeliver(run)
    while bot.kills < kills:
        with contextlib.suppress(AssertionError):  # stuck: kill anyway
            await bot.fake.wait_until(
                lambda: all(p.script.current.furthest >= progress for p in run.people), timeout=20
            )
        how = 0.5 if at == "press" else rng.random()
        if how < 0.1:  # during start-up (opening and migrating the database, first polls)
            await bot.kill()
            await bot.spawn()
            await asyncio.sleep(rng.uniform(0.05, 1.0))
        elif how < 0.45:  # in the middle of handling: right after its k-th call to the API
            calls = len(bot.fake.calls()) + rng.randint(1, 12)
            with contextlib.suppress(AssertionError):  # quiet for a while: kill it anyway
                await bot.fake.wait_until(lambda c=calls: len(bot.fake.calls()) >= c, timeout=1.5)
        elif how < 0.6:  # a press fetched (confirmed to Telegram) and not yet handled
            presses = len(bot.fake.calls(PRESS)) + 1
            with contextlib.suppress(AssertionError):
                await bot.fake.wait_until(
                    lambda p=presses: len(bot.fake.calls(PRESS)) >= p, timeout=3
                )
        else:
            await asyncio.sleep(rng.uniform(0.0, 1.5))
        await bot.kill()
        await bot.start()
        redeliver(run)


async def play(person: Person, bot: BotProcess, keep_going: asyncio.Event) -> None:
    """File complaints until told to stop; then finish the one in progress."""
    while True:
        before = person.snapshot()
        if not person.act() and not keep_going.is_set():
            return
        if person.script.current.furthest == DONE:  # filed: start the next one from the menu
            person.updates.append(person.user.send_command("new"))
        waited = 0.0
        while person.snapshot() == before:
            await asyncio.sleep(0.05)
            waited = waited + 0.05 if bot.up.is_set() else 0.0
            if waited >= PATIENCE:  # no answer from a running bot: the message was lost
                person.unanswered += 1
                person.nudge()
                before, waited = person.snapshot(), 0.0
        # An answer comes in parts (the pressed question edited, advice, the next question):
        # read it once it is complete, as a person would.
        while (seen := person.snapshot()) != before:
            before = seen
            await asyncio.sleep(0.1)


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
        return crash_checks.case_numbers_in(bot.db_path) - set(reminder_sends(bot))

    with contextlib.suppress(AssertionError):  # a send is a change: the fake wakes us
        await bot.fake.wait_until(lambda: not missing(), timeout=30)
    assert not missing(), f"REMINDERS: never sent for {sorted(missing())}"


def check_handled(run: Run) -> dict[str, int]:
    """Every update a person sent, now confirmed to Telegram, was handled (not lost in flight)."""
    handled = handled_update_ids(run.bot.db_path)
    unconfirmed = {u["update_id"] for u in run.bot.fake.pending_updates}
    lost = [
        (person.index, update["update_id"])
        for person in run.people
        for update in person.updates
        if update["update_id"] not in handled and update["update_id"] not in unconfirmed
    ]
    assert lost == [], f"LOST: {len(lost)} updates confirmed to Telegram and never handled: {lost}"
    return {"lost": len(lost)}


async def crash_run(
    folder: Path,
    kills: int,
    seed: int,
    *,
    mutant: str | None = None,
    progress: int = 0,
    at: str | None = None,
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
                await killer(run, kills, progress, at)
                keep_going.clear()  # after the last kill: everyone completes what they began
                await asyncio.wait_for(asyncio.gather(*players), 180)
            finally:
                for task in players:
                    task.cancel()
                await asyncio.gather(*players, return_exceptions=True)
            await wait_for_reminders(bot)
            at_rest = await check_redelivery_at_rest(run)
            await bot.stop()
            figures = crash_checks.check_database(
                bot.folder, [p.view() for p in people], PHOTOS
            ) | crash_checks.check_reminders(reminder_sends(bot), bot.kills, len(people))
            figures |= check_handled(run)
            # Each person's announced cases are among theirs (checked): the rest were never told.
            figures["unannounced"] = figures["cases"] - figures["announced"]
            for person in people:
                assert person.script.regressions == [], f"QUESTIONS: {person.script.regressions}"
                assert person.script.announced, (
                    f"CASES: user {person.index} never filed a complaint"
                )
            ignored = bot.log.read_text(errors="replace").count("delivered again")
            figures |= {
                "kills": bot.kills,
                "starts": bot.starts,
                "steps_confirmed": sum(p.script.steps_confirmed for p in people),
                "nudges": sum(p.script.nudges for p in people),
                "unanswered": sum(p.unanswered for p in people),
                "start_seconds": round(bot.starting_time / bot.starts, 2),
                "redelivered": run.redelivered,
                "redelivered_at_rest": at_rest,
                "redeliveries_ignored": ignored,
            }
            print("crash test:", figures)
            assert figures["unannounced"] == 0, (
                f"ANNOUNCED: {figures['unannounced']} complaints filed and never announced"
            )
            for person in people:
                assert person.unanswered == 0, (
                    f"UNANSWERED: user {person.index}: {person.unanswered} messages the running"
                    " bot never answered (the person had to nudge it)"
                )
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
                print(f"--- user {person.index}: {person.script.rounds}")
                print("\n".join(line[:160] for line in fake.transcript(person.user.id)[-25:]))
            raise
        finally:
            await bot.kill()


async def test_sigkill_at_random_points_loses_nothing_confirmed(tmp_path: Path) -> None:
    await crash_run(tmp_path, KILLS, SEED)


@pytest.mark.parametrize(
    ("mutant", "caught_by", "at"),
    [
        ("forget_conversations", "ANSWERS", None),
        ("drop_evidence_rows", "EVIDENCE|FILES", None),
        ("send_reminders_twice", "REMINDERS", None),
        ("ignore_deliveries", "REDELIVERY", None),
        ("drop_kept_updates", "LOST", "press"),
    ],
)
async def test_mutants_are_caught(
    tmp_path: Path, mutant: str, caught_by: str, at: str | None
) -> None:
    """A bot with a deliberate bug fails the crash run, on the invariant meant for it."""
    with pytest.raises(AssertionError) as failed:
        # One kill, once everyone is at the third question, keeps the run short and sure to
        # lose what the mutant loses.
        await crash_run(tmp_path, 1, seed=1, mutant=mutant, progress=3, at=at)
    caught = str(failed.value).splitlines()[0]
    print(f"mutant {mutant} caught: {caught}")
    assert re.match(caught_by, caught), str(failed.value)


def test_a_filing_told_again_after_a_restart_is_not_taken_for_the_round_in_progress() -> None:
    # The checker itself: after a restart the bot repeats the filings since the message came.
    # Read in round 2, round 1's filing must neither end round 2 (whose answers no case then
    # keeps: a false ANSWERS failure) nor be lost as round 1's announcement.
    script = Script(0, 1, lambda round_, n: b"")
    menu = ("主菜单", [crash_checks.SMS])
    assert script.next([menu]).kind == "press"  # round 1 begins
    script.current.furthest = crash_checks.SUMMARY  # ... and is sent in
    filed = ("✅ 投诉已提交，编号 TS-2026-000001", [])
    assert script.next([menu, filed]).kind == "filed"
    assert script.next([menu, filed, menu]).kind == "press"  # round 2 begins
    question = ("（1/11）是哪一种短信？", ["垃圾 / 骚扰短信"])
    assert script.next([menu, filed, menu, filed]).kind == "nudge"
    assert script.current.furthest == 0 and script.round == 2
    assert script.next([menu, filed, menu, filed, question]).value == "垃圾 / 骚扰短信"
    # A filing first read in a round never sent in is the round before's.
    other = ("✅ 投诉已提交，编号 TS-2026-000002", [])
    assert script.next([menu, filed, menu, filed, question, other]).kind == "nudge"
    assert script.announced == [("TS-2026-000001", 1), ("TS-2026-000002", 1)]
