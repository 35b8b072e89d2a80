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
import json
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
from fake_telegram import FakeBotAPI, FakeBotAPIServer, FakeUser, SentMessage, make_png

from storage import case_numbers

JSON = dict[str, Any]

KILLS = int(os.environ.get("CRASH_KILLS", "30"))
SEED = int(os.environ.get("CRASH_SEED") or random.SystemRandom().randrange(2**32))
PEOPLE = 3
PHOTOS = 2  # screenshots per complaint
# Seconds a person waits for an answer from a running bot before nudging it: far longer than a
# step takes even on a loaded machine, so that a nudge means the message was lost, not slow.
PATIENCE = 10.0
DEADLINE = "1s"  # every deadline, so reminders fall due during the run
SMS = "短信：垃圾、诈骗、收不到验证码"
FILED = re.compile(rf"投诉已提交，编号 ({case_numbers.ANY.pattern})")
REMINDER = re.compile(rf"⏰ 投诉 ({case_numbers.ANY.pattern})：.*答复你了吗")
STEP = re.compile(r"（(\d+)/11）")
SUMMARY, DONE = 12, 13  # progress after the eleventh question: the summary, then filed
MUTANTS = Path(__file__).with_name("crash_mutants.py")


@dataclass
class Round:
    """One complaint a person began: what they answered, and how far the bot confirmed it."""

    number: int
    given: dict[int, Any] = field(default_factory=dict)  # question -> the answer, as saved
    furthest: int = 0  # the furthest question the bot has asked in this round

    def confirmed(self) -> dict[int, Any]:
        """Return the answers the bot moved past: it asked a later question."""
        return {step: value for step, value in self.given.items() if step < self.furthest}


@dataclass
class Person:
    """A person who files SMS complaints by answering whatever the bot asked last."""

    index: int
    user: FakeUser
    fake: FakeBotAPI
    rounds: list[Round] = field(default_factory=list)
    confirmed_photos: set[int] = field(default_factory=set)
    announced: list[tuple[str, int]] = field(default_factory=list)  # (case number, round)
    regressions: list[str] = field(default_factory=list)
    steps_confirmed: int = 0
    nudges: int = 0
    unanswered: int = 0  # messages the running bot never answered (the person nudged)
    pending_photo: int | None = None  # the screenshot sent last, not yet acknowledged
    filed_seen: int = -1  # index of the newest "filed" message already read
    updates: list[JSON] = field(default_factory=list)  # every update this person sent

    @property
    def round(self) -> int:
        return len(self.rounds)

    @property
    def current(self) -> Round:
        return self.rounds[-1] if self.rounds else Round(0)

    @property
    def sender(self) -> str:
        return f"1069012345670{self.index}"

    def content(self, round_: int) -> str:
        return f"第{self.index}位用户第{round_}次收到的积分清零短信"

    def photo(self, round_: int, number: int) -> bytes:
        return make_png(20 + self.index * PHOTOS + number, 10 + round_)

    def photo_hashes(self, round_: int) -> list[str]:
        return sorted(hashlib.sha256(self.photo(round_, n)).hexdigest() for n in range(PHOTOS))

    def messages(self) -> list[SentMessage]:
        """What the bot said in the conversation (reminders come on their own; they are counted)."""
        return [m for m in self.fake.sent_to(self.user.id) if not REMINDER.search(m.text or "")]

    def snapshot(self) -> tuple[int, int]:
        sent = self.messages()
        return len(sent), len(sent[-1].history) if sent else 0

    def answer(self, step: int, saved: Any) -> None:
        """Note what is given to question `step`, in the form the case will keep it."""
        self.current.given[step] = saved

    def press(self, message: SentMessage, label: str) -> None:
        exact = next((shown for shown in message.button_labels if label in shown), None)
        if exact is None:  # not the message it looked like: ask the bot where we are
            self.nudge()
        else:
            self.updates.append(self.user.press(message, label=exact))

    def say(self, text: str) -> None:
        self.updates.append(self.user.send_text(text))

    def progress(self, text: str) -> int | None:
        if FILED.search(text):
            return DONE
        if "请核对你的投诉" in text:
            return SUMMARY
        steps = STEP.findall(text)
        return int(steps[-1]) if steps else None

    def act(self) -> bool:
        """Answer the bot's last message; return False once a complaint was filed."""
        sent = self.messages()
        if not sent:
            self.updates.append(self.user.send_command("start"))
            return True
        last = sent[-1]
        # After "filed" come the letter and, the first time, the name question: the filing is
        # what this person reads first.
        filed = [
            i for i, m in enumerate(sent) if i > self.filed_seen and FILED.search(m.text or "")
        ]
        if filed:
            self.filed_seen = filed[-1]
            last = sent[filed[-1]]
        text, labels = last.text or "", last.button_labels
        step = self.progress(text)
        now = self.current
        if step is not None:
            if step < now.furthest:
                self.regressions.append(
                    f"round {self.round}: asked question {step} after {now.furthest}"
                )
            elif step > now.furthest:
                self.steps_confirmed += 1
            now.furthest = max(now.furthest, step)
        if step == DONE:
            found = FILED.search(text)
            assert found is not None
            if (found[1], self.round) not in self.announced:
                self.announced.append((found[1], self.round))
            return False
        if any(SMS in label for label in labels):  # the menu: a new complaint
            self.rounds.append(Round(self.round + 1))
            self.confirmed_photos = set()
            self.press(last, SMS)
        elif any("继续填写" in label for label in labels):
            self.press(last, "继续填写")
        elif step == 1:
            self.answer(1, "spam")
            self.press(last, "垃圾 / 骚扰短信")
        elif step == 2:
            self.answer(2, self.sender)
            self.say(self.sender)
        elif step == 3:
            self.answer(3, "昨天")
            self.say("昨天")
        elif step == 4:
            self.answer(4, "daily")
            self.press(last, "每天都有")
        elif step == 5:
            self.answer(5, self.content(self.round))
            self.say(self.content(self.round))
        elif step == 6:
            self.answer(6, "not_tried")
            self.press(last, "没有退订过")
        elif step in (7, 9):  # when and how many; the number that received them
            self.answer(step, None)
            self.press(last, "跳过")
        elif step == 8:
            self.answer(8, "mobile")
            self.press(last, "中国移动")
        elif step == 10:
            self.send_evidence(text, last)
        elif step == 11:
            chosen = "✅ 停止给我发短信" in labels
            self.answer(11, ["stop_sending"])
            self.press(last, "完成" if chosen else "停止给我发短信")
        elif step == SUMMARY:
            self.press(last, "提交投诉")
        else:  # an error, or something unexpected: start again from where the bot is
            self.nudge()
        return True

    def send_evidence(self, text: str, last: SentMessage) -> None:
        if total := re.search(r"共 (\d+) 份证据", text):
            self.confirmed_photos |= set(range(int(total[1])))
        elif "之前已经收到了" in text and self.pending_photo is not None:
            self.confirmed_photos.add(self.pending_photo)  # saved before a crash, not told
        missing = [n for n in range(PHOTOS) if n not in self.confirmed_photos]
        if missing:
            self.pending_photo = missing[0]
            self.updates.append(self.user.send_photo(self.photo(self.round, missing[0])))
        else:
            self.answer(10, self.photo_hashes(self.round))
            self.press(last, "完成")

    def nudge(self) -> None:
        self.nudges += 1
        self.updates.append(self.user.send_command("start"))


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
                lambda: all(p.current.furthest >= progress for p in run.people), timeout=20
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
        if person.current.furthest == DONE:  # filed: start the next one from the menu
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


def saved_form(key: str, value: Any) -> Any:
    """Return a saved answer in the form `Person.answer` notes it."""
    if value is None:
        return None
    if key == "sender":
        return value["number"]
    if key == "started":
        return value["text"]
    if key == "evidence":
        return sorted(item["sha256"] for item in value)
    if key == "remedies":
        return value["selected"]
    return value


QUESTIONS = {
    1: "problem",
    2: "sender",
    3: "started",
    4: "frequency",
    5: "content",
    6: "td_reply",
    7: "received",
    8: "carrier",
    9: "my_number",
    10: "evidence",
    11: "remedies",
}


def check_answers(person: Person, where: str, answers: JSON, round_: Round) -> None:
    for step, given in round_.confirmed().items():
        key = QUESTIONS[step]
        kept = saved_form(key, answers.get(key))
        assert kept == given, (
            f"ANSWERS: user {person.index} round {round_.number} {where}: question {step}"
            f" ({key}) was answered {given!r} and confirmed, the database has {kept!r}"
        )


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
        cases = announced = unannounced = 0
        for person in people:
            found = conn.execute(
                "SELECT c.id, c.number, c.answers FROM cases c JOIN users u ON u.id = c.user_id"
                " WHERE u.external_id = ?",
                (str(person.user.id),),
            ).fetchall()
            numbers = {row["number"] for row in found}
            told = {m[1] for t in person.fake.texts(person.user.id) if t and (m := FILED.search(t))}
            assert told <= numbers, f"CASES: announced but not in the database: {told - numbers}"
            unannounced += len(numbers - told)  # filed, and the person was never told
            announced += len(told)
            filed: dict[int, JSON] = {}  # round -> the answers of the case filed from it
            for row in found:
                shas = sorted(
                    r["sha256"]
                    for r in conn.execute(
                        "SELECT sha256 FROM evidence WHERE case_id = ?", (row["id"],)
                    )
                )
                # Exactly the screenshots of one round, each once.
                matching = [r for r in range(1, person.round + 1) if shas == person.photo_hashes(r)]
                assert len(matching) == 1, (
                    f"EVIDENCE: case {row['number']} of user {person.index} has {len(shas)}"
                    f" files, not the {PHOTOS} screenshots of one round: {shas}"
                )
                assert matching[0] not in filed, f"CASES: round {matching[0]} filed twice"
                filed[matching[0]] = json.loads(row["answers"])
            draft = conn.execute(
                "SELECT v.answers FROM conversations v JOIN users u ON u.id = v.user_id"
                " WHERE u.external_id = ? AND v.flow_id IS NOT NULL",
                (str(person.user.id),),
            ).fetchone()
            for round_ in person.rounds:
                if round_.furthest == 0:  # the bot never showed its first question
                    continue
                if round_.number in filed:
                    check_answers(person, "case", filed[round_.number], round_)
                elif draft is not None and round_ is person.current:
                    check_answers(person, "draft", json.loads(draft["answers"]), round_)
                else:
                    raise AssertionError(
                        f"ANSWERS: user {person.index} round {round_.number}: the bot had asked"
                        f" question {round_.furthest} ({len(round_.confirmed())} answers"
                        " confirmed), yet no case and no draft keeps them"
                    )
            cases += len(found)
        files = [p for p in (data / "evidence").rglob("*") if p.is_file()]
        referenced = {row["path"] for row in rows}
        unreferenced = [p for p in files if str(p.relative_to(data)) not in referenced]
        assert unreferenced == [], f"FILES: {len(unreferenced)} evidence files without a row"
        assert len(rows) == PHOTOS * cases, f"EVIDENCE: {len(rows)} rows for {cases} cases"
        reminders = conn.execute(
            "SELECT c.number, r.status, c.state,"
            " (SELECT count(*) FROM events e WHERE e.case_id = c.id AND e.kind = 'reminded')"
            " FROM cases c JOIN reminders r ON r.case_id = c.id"
        ).fetchall()
        for number, status, state, reminded in reminders:
            assert (status, state, reminded) == ("sent", "follow_up", 1), (
                f"REMINDERS: case {number}: reminder {status}, case {state}, {reminded} recorded"
            )
        assert len(reminders) == cases, f"REMINDERS: {len(reminders)} rows for {cases} cases"
        return {
            "cases": cases,
            "announced": announced,
            "unannounced": unannounced,
            "evidence_rows": len(rows),
            "unreferenced_files": len(unreferenced),
        }
    finally:
        conn.close()


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
            figures = check_database(run) | check_reminders(run) | check_handled(run)
            for person in people:
                assert person.regressions == [], f"QUESTIONS: {person.regressions}"
                assert person.announced, f"CASES: user {person.index} never filed a complaint"
            ignored = bot.log.read_text(errors="replace").count("delivered again")
            figures |= {
                "kills": bot.kills,
                "starts": bot.starts,
                "steps_confirmed": sum(p.steps_confirmed for p in people),
                "nudges": sum(p.nudges for p in people),
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
                print(f"--- user {person.index}: {person.rounds}")
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
