"""Crash safety: `complaint-bot run` is SIGKILLed again and again while people file complaints.

The bot runs as a real process, its Telegram channel talking HTTP to the fake Bot API served on
127.0.0.1 by this test. Three people each file SMS complaints with two screenshots, over and over,
answering whatever the bot last asked (as a person would: after a silence they send /start and
continue). Meanwhile the bot is killed with SIGKILL at random points — during start-up, right
after it made a few API calls (in the middle of handling a message), or after a random time —
and started again on the same database and data folder.

What must hold: the bot never asks again a question it had moved past (nothing it confirmed is
lost), every case it announced is in the database with exactly the answers and the two files of
its round (no file missing, none twice), every conversation can be completed after the last
kill, and SQLite's integrity check passes.

CRASH_KILLS (default 30; `make soak` runs 300) and CRASH_SEED (default: random, printed) set the
run; a failure prints the seed, and CRASH_SEED=... replays the same kill schedule.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import random
import re
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fake_telegram import FakeBotAPI, FakeBotAPIServer, FakeUser, SentMessage, make_png

from storage import case_numbers

KILLS = int(os.environ.get("CRASH_KILLS", "30"))
SEED = int(os.environ.get("CRASH_SEED") or random.SystemRandom().randrange(2**32))
PEOPLE = 3
PHOTOS = 2  # screenshots per complaint
PATIENCE = 1.5  # seconds a person waits for an answer from a running bot before nudging it
SMS = "短信：垃圾、诈骗、收不到验证码"
FILED = re.compile(rf"投诉已提交，编号 ({case_numbers.ANY.pattern})")
STEP = re.compile(r"（(\d+)/11）")
SUMMARY, DONE = 12, 13  # progress after the eleventh question: the summary, then filed


@dataclass
class Person:
    """A person who files SMS complaints by answering whatever the bot asked last."""

    index: int
    user: FakeUser
    fake: FakeBotAPI
    round: int = 0  # complaints started
    furthest: int = 0  # the furthest question the bot has asked in this round
    confirmed_photos: set[int] = field(default_factory=set)
    announced: list[tuple[str, int]] = field(default_factory=list)  # (case number, round)
    regressions: list[str] = field(default_factory=list)
    steps_confirmed: int = 0
    nudges: int = 0
    pending_photo: int | None = None  # the screenshot sent last, not yet acknowledged
    filed_seen: int = -1  # index of the newest "filed" message already read

    @property
    def sender(self) -> str:
        return f"1069012345670{self.index}"

    @property
    def content(self) -> str:
        return f"第{self.index}位用户收到的积分清零短信"

    def photo(self, round_: int, number: int) -> bytes:
        return make_png(20 + self.index * PHOTOS + number, 10 + round_)

    def messages(self) -> list[SentMessage]:
        return self.fake.sent_to(self.user.id)

    def snapshot(self) -> tuple[int, int]:
        sent = self.messages()
        return len(sent), len(sent[-1].history) if sent else 0

    def press(self, message: SentMessage, label: str) -> None:
        exact = next((shown for shown in message.button_labels if label in shown), None)
        if exact is None:  # not the message it looked like: ask the bot where we are
            self.nudge()
        else:
            self.user.press(message, label=exact)

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
            self.user.send_command("start")
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
        if step is not None:
            if step < self.furthest:
                self.regressions.append(
                    f"round {self.round}: asked step {step} after {self.furthest}"
                )
            elif step > self.furthest:
                self.steps_confirmed += 1
            self.furthest = max(self.furthest, step)
        if step == DONE:
            found = FILED.search(text)
            assert found is not None
            if (found[1], self.round) not in self.announced:
                self.announced.append((found[1], self.round))
            return False
        if any(SMS in label for label in labels):  # the menu: a new complaint
            self.round += 1
            self.furthest, self.confirmed_photos = 0, set()
            self.press(last, SMS)
        elif any("继续填写" in label for label in labels):
            self.press(last, "继续填写")
        elif step == 1:
            self.press(last, "垃圾 / 骚扰短信")
        elif step == 2:
            self.user.send_text(self.sender)
        elif step == 3:
            self.user.send_text("昨天")
        elif step == 4:
            self.press(last, "每天都有")
        elif step == 5:
            self.user.send_text(self.content)
        elif step == 6:
            self.press(last, "没有退订过")
        elif step in (7, 9):  # when and how many; the number that received them
            self.press(last, "跳过")
        elif step == 8:
            self.press(last, "中国移动")
        elif step == 10:
            self.send_evidence(text, last)
        elif step == 11:
            chosen = "✅ 停止给我发短信" in labels
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
            self.user.send_photo(self.photo(self.round, missing[0]))
        else:
            self.press(last, "完成")

    def nudge(self) -> None:
        self.nudges += 1
        self.user.send_command("start")


class Bot:
    """`complaint-bot run` as a child process, killed and restarted on demand."""

    def __init__(self, fake: FakeBotAPI, server: FakeBotAPIServer, folder: Path) -> None:
        self.fake = fake
        self.folder = folder
        self.log = folder / "bot.log"
        self.env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("TELEGRAM_", "COMPLAINT_BOT_"))
            },
            "TELEGRAM_BOT_TOKEN": fake.token,
            "COMPLAINT_BOT_TELEGRAM__BASE_URL": server.base_url,
            "COMPLAINT_BOT_TELEGRAM__BASE_FILE_URL": server.base_file_url,
            "COMPLAINT_BOT_TELEGRAM__ALBUM_WAIT": "0.2",
            "COMPLAINT_BOT_TELEGRAM__FORWARD_WAIT": "0.2",
            "COMPLAINT_BOT_STORAGE__DB_PATH": str(folder / "bot.sqlite3"),
            "COMPLAINT_BOT_STORAGE__DATA_DIR": str(folder / "data"),
            "COMPLAINT_BOT_LOG_LEVEL": "INFO",
            # These people answer faster than anyone types; flood control is tested elsewhere.
            "COMPLAINT_BOT_TELEGRAM__FLOOD_LIMIT": "off",
        }
        self.process: asyncio.subprocess.Process | None = None
        self.up = asyncio.Event()  # set while a started bot is polling
        self.kills = 0
        self.starts = 0
        self.starting_time = 0.0  # seconds from spawning to the first poll, summed

    async def spawn(self) -> None:
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", cwd=self.folder, env=self.env,
                stdout=log, stderr=log,
            )  # fmt: skip
        self.starts += 1

    async def start(self) -> None:
        polls = len(self.fake.calls("getUpdates"))
        began = asyncio.get_running_loop().time()
        await self.spawn()
        await self.fake.wait_until(
            lambda: len(self.fake.calls("getUpdates")) > polls or self.exited,
            timeout=30,
            description="the bot to start polling",
        )
        assert not self.exited, f"the bot exited: {self.log.read_text()[-3000:]}"
        self.starting_time += asyncio.get_running_loop().time() - began
        self.up.set()

    @property
    def exited(self) -> bool:
        return self.process is None or self.process.returncode is not None

    async def kill(self) -> None:
        self.up.clear()
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            self.kills += 1
        if self.process is not None:
            await self.process.wait()

    async def stop(self) -> None:
        self.up.clear()
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 15)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


@asynccontextmanager
async def bot_process(fake: FakeBotAPI, folder: Path) -> AsyncIterator[Bot]:
    async with FakeBotAPIServer(fake) as server:
        bot = Bot(fake, server, folder)
        try:
            yield bot
        finally:
            await bot.kill()


async def killer(bot: Bot, rng: random.Random, kills: int) -> None:
    """Kill the bot `kills` times at random points, starting it again after each."""
    await bot.start()
    while bot.kills < kills:
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


async def play(person: Person, bot: Bot, keep_going: asyncio.Event) -> None:
    """File complaints until told to stop; then finish the one in progress."""
    while True:
        before = person.snapshot()
        if not person.act() and not keep_going.is_set():
            return
        if person.furthest == DONE:  # filed: start the next one from the menu
            person.furthest = 0
            person.user.send_command("new")
        waited = 0.0
        while person.snapshot() == before:
            await asyncio.sleep(0.05)
            waited = waited + 0.05 if bot.up.is_set() else 0.0
            if waited >= PATIENCE:  # no answer from a running bot: the message was lost
                person.nudge()
                before, waited = person.snapshot(), 0.0
        # An answer comes in parts (the pressed question edited, advice, the next question):
        # read it once it is complete, as a person would.
        while (seen := person.snapshot()) != before:
            before = seen
            await asyncio.sleep(0.1)


def check_database(folder: Path, people: list[Person]) -> dict[str, int]:
    conn = sqlite3.connect(folder / "bot.sqlite3")
    conn.row_factory = sqlite3.Row
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        data = folder / "data"
        rows = conn.execute("SELECT case_id, sha256, path FROM evidence").fetchall()
        for row in rows:  # no file missing, and each one whole
            stored = (data / row["path"]).read_bytes()
            assert hashlib.sha256(stored).hexdigest() == row["sha256"], row["path"]
        cases = announced = 0
        for person in people:
            found = conn.execute(
                "SELECT c.id, c.number, c.answers FROM cases c JOIN users u ON u.id = c.user_id"
                " WHERE u.external_id = ?",
                (str(person.user.id),),
            ).fetchall()
            numbers = {row["number"] for row in found}
            told = {m[1] for t in person.fake.texts(person.user.id) if t and (m := FILED.search(t))}
            assert told <= numbers, f"announced but not in the database: {told - numbers}"
            announced += len(told)
            photos_of = {
                r: {hashlib.sha256(person.photo(r, n)).hexdigest() for n in range(PHOTOS)}
                for r in range(1, person.round + 1)
            }
            rounds_seen: set[int] = set()
            for row in found:
                assert person.sender in row["answers"] and person.content in row["answers"]
                shas = [
                    r["sha256"]
                    for r in conn.execute(
                        "SELECT sha256 FROM evidence WHERE case_id = ?", (row["id"],)
                    )
                ]
                # Exactly the two screenshots of one round, each once.
                matching = [r for r, wanted in photos_of.items() if set(shas) == wanted]
                assert len(shas) == PHOTOS and len(matching) == 1, (row["number"], shas)
                assert matching[0] not in rounds_seen, f"round {matching[0]} filed twice"
                rounds_seen.add(matching[0])
            cases += len(found)
        files = [p for p in (data / "evidence").rglob("*") if p.is_file()]
        referenced = {row["path"] for row in rows}
        unreferenced = [p for p in files if str(p.relative_to(data)) not in referenced]
        return {
            "cases": cases,
            "announced": announced,
            "evidence_rows": len(rows),
            "unreferenced_files": len(unreferenced),
        }
    finally:
        conn.close()


async def test_sigkill_at_random_points_loses_nothing_confirmed(tmp_path: Path) -> None:
    print(f"crash test: CRASH_SEED={SEED} CRASH_KILLS={KILLS}")
    rng = random.Random(SEED)
    fake = FakeBotAPI()
    people = [Person(i, fake.add_user(f"User{i}"), fake) for i in range(PEOPLE)]
    keep_going = asyncio.Event()
    keep_going.set()
    try:
        async with bot_process(fake, tmp_path) as bot:
            players = [asyncio.create_task(play(p, bot, keep_going)) for p in people]
            try:
                await killer(bot, rng, KILLS)
                keep_going.clear()  # after the last kill: everyone completes what they began
                await asyncio.wait_for(asyncio.gather(*players), 60)
            finally:
                for task in players:
                    task.cancel()
                await asyncio.gather(*players, return_exceptions=True)
            await bot.stop()
        figures = check_database(tmp_path, people)
        for person in people:
            assert person.regressions == [], person.regressions
            assert person.announced, f"user {person.index} never filed a complaint"
        figures |= {
            "kills": bot.kills,
            "starts": bot.starts,
            "steps_confirmed": sum(p.steps_confirmed for p in people),
            "nudges": sum(p.nudges for p in people),
            "start_seconds": round(bot.starting_time / bot.starts, 2),
            "redeliveries_ignored": bot.log.read_text(errors="replace").count("delivered again"),
        }
        print("crash test:", figures)
        if os.environ.get("CRASH_TRANSCRIPT"):
            Path(os.environ["CRASH_TRANSCRIPT"]).write_text(
                "\n".join(fake.transcript(people[0].user.id)), encoding="utf-8"
            )
        assert bot.kills >= KILLS
    except BaseException:
        print(f"crash test FAILED with CRASH_SEED={SEED}; bot log tail:")
        log = tmp_path / "bot.log"
        print(log.read_text(errors="replace")[-4000:] if log.exists() else "(no log)")
        for person in people:
            print(f"--- user {person.index}: {person}")
            print("\n".join(line[:160] for line in fake.transcript(person.user.id)[-25:]))
        raise
