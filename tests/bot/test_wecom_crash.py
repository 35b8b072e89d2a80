"""Crash safety on WeChat: `complaint-bot serve` is SIGKILLed again and again while people file.

The bot runs as a real process on SQLite, its WeChat messenger talking HTTP to the fake WeCom
served on 127.0.0.1 by this test (so the fake outlives every kill). The fake customer posts
the signed callbacks to the bot's own HTTP server, as WeChat does; a callback to a bot that is
down is lost, and the pull at the next start finds its message. Two people each file SMS
complaints with a screenshot, over and over, answering whatever the bot last showed them (after
a silence they send /start and go on). Every deadline is 1 second, so the follow-up reminders
fall due while the bot is being killed: inside the person's 5-message quota they go out at
once, otherwise they wait for the person's next message. The bot is killed during start-up,
right after a few of its API calls (in the middle of a pull), while it is downloading a
screenshot (after the pull, before the step is saved), once a turn is kept in the outbox
(seen in the database within 3 s; before it is all sent), or after a random time; after each
start the fake WeCom hands out again a message the bot had already handled.

What must hold (each failure message starts with the name of the invariant it breaks):
- ANSWERS, QUESTIONS, CASES, EVIDENCE, FILES, REMINDERS, DATABASE: as in the Telegram crash
  test (tests/bot/test_crash.py; the checks are shared, tests/crash_checks.py);
- PULLED: every message a person wrote was pulled and handled (its msgid recorded as a
  delivery), and the inbox is empty at rest: nothing lost between the cursor and the answer;
- REDELIVERY: messages handled before and handed out again change nothing, and handed out
  again once everyone is done they get no answer at all;
- REFUSED: WeCom refused no send (48 hours, 5 messages a message, bytes, menus);
- ANNOUNCED, UNANSWERED: every filed case was announced to its person, and no message went
  unanswered by the running bot (the person waited PATIENCE seconds of its uptime and had to
  nudge it): a step committed just before a kill is answered after the restart, from the
  outbox or by saying where the conversation stands.
`test_mutants_are_caught` shows the checks would catch three deliberate bugs
(crash_mutants.py). The crash windows of a turn (kept and not sent, sent and not forgotten,
committed and not kept) are pinned one by one in tests/bot/test_wecom_resend.py.

CRASH_KILLS (default 8; `make soak` runs 300), CRASH_SEED (default: random, printed) and
CRASH_TAIL (how many of each person's last messages a failure prints; default 12).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import os
import random
import re
import socket
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import crash_checks
import httpx
import pytest
from bot_process import SERVE, ChildProcess
from crash_checks import DONE, FILED, REMINDER, PersonView, Script
from fake_telegram import make_png
from fake_wecom import (
    AES_KEY,
    CALLBACK_TOKEN,
    Callbacks,
    Delivered,
    FakeCustomer,
    FakeWecom,
    FakeWecomServer,
)

from bot.clock import SystemClock

JSON = dict[str, Any]

KILLS = int(os.environ.get("CRASH_KILLS", "8"))
TAIL = int(os.environ.get("CRASH_TAIL", "12"))
SEED = int(os.environ.get("CRASH_SEED") or random.SystemRandom().randrange(2**32))
PEOPLE = 2
PHOTOS = 1  # screenshots per complaint
# Seconds a person waits for an answer from a running bot before nudging it: far longer than a
# turn takes even on a loaded machine, so that a nudge means the message went unanswered.
PATIENCE = 10.0
MORE = "回复「继续」"
NUMBERED = re.compile(r"^(\d+)\. (.+)$", re.MULTILINE)
MUTANTS = Path(__file__).with_name("crash_mutants.py")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServeProcess(ChildProcess):
    """`complaint-bot serve` on the fake WeCom served over HTTP, listening on `port`."""

    def __init__(
        self,
        fake: FakeWecom,
        server: FakeWecomServer,
        folder: Path,
        *,
        command: tuple[str, ...] = SERVE,
        env: dict[str, str] | None = None,
    ) -> None:
        self.fake = fake
        self.port = free_port()
        super().__init__(
            folder,
            command=command,
            env={
                "COMPLAINT_BOT_HTTP__LISTEN": f"127.0.0.1:{self.port}",
                "COMPLAINT_BOT_WECOM__CORP_ID": fake.corp_id,
                "COMPLAINT_BOT_WECOM__OPEN_KFIDS": ",".join(fake.open_kfids),
                "COMPLAINT_BOT_WECOM__API_BASE": server.api_base,
                "WECOM_SECRET": fake.secret,
                "WECOM_TOKEN": CALLBACK_TOKEN,
                "WECOM_AES_KEY": AES_KEY,
                **(env or {}),
            },
            calls=lambda: len(fake.calls),
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def ready(self) -> None:
        """Wait until the bot's HTTP server answers /healthz."""
        async with httpx.AsyncClient(base_url=self.url, timeout=2) as http:
            for _ in range(600):
                if self.exited:
                    return
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/healthz")).text == "ok":
                        return
                await asyncio.sleep(0.05)
        raise AssertionError("the bot did not answer /healthz within 30 s")


@dataclass
class Person:
    """A WeChat user who files SMS complaints by answering whatever the bot showed last."""

    index: int
    customer: FakeCustomer
    script: Script = field(init=False)
    pending_photo: int | None = None
    unanswered: int = 0  # messages the running bot never answered (the person nudged)

    def __post_init__(self) -> None:
        self.script = Script(self.index, PHOTOS, self.photo)

    @property
    def id(self) -> str:
        return self.customer.id

    def photo(self, round_: int, number: int) -> bytes:
        return make_png(30 + self.index * PHOTOS + number, 10 + round_)

    def messages(self) -> list[Delivered]:
        """What the bot said in the conversation (reminders come on their own; they are counted)."""
        return [m for m in self.customer.inbox if not REMINDER.search(m.text)]

    def view(self) -> PersonView:
        told = {m[1] for d in self.customer.inbox if (m := FILED.search(d.text))}
        return PersonView(self.id, self.script, told)

    def snapshot(self) -> int:
        return len(self.messages())

    async def act(self) -> bool:
        """Answer the bot's last message; return False once a complaint was filed."""
        sent = self.messages()
        if not sent:
            await self.customer.send_text("/start")
            return True
        if MORE in sent[-1].text:  # the rest of a turn waits for "继续"
            await self.customer.send_text("继续")
            return True
        shown = [(m.shown, [label for _, label in m.menu]) for m in sent]
        action = self.script.next(shown)
        if action.kind == "filed":
            return False
        if action.kind == "press":
            # A long question goes as its text, then a menu: look from it to the turn's end.
            items = [pair for m in sent[action.index :] for pair in m.menu]
            item = next(((i, lbl) for i, lbl in items if str(action.value) in lbl), None)
            # Over 10 buttons come as numbered lines: the person types the number.
            lines = [n for m in sent[action.index :] for n in NUMBERED.findall(m.text)]
            typed = next((n for n, label in lines if str(action.value) in label), None)
            if item is None and typed is not None:
                await self.customer.send_text(typed)
            elif item is None:  # not the menu it looked like: ask the bot where we are
                await self.nudge()
            else:
                await self.customer._write(
                    {"msgtype": "text", "text": {"content": item[1], "menu_id": item[0]}}
                )
        elif action.kind == "say":
            await self.customer.send_text(str(action.value))
        elif action.kind == "photo":
            self.pending_photo = int(action.value)
            await self.customer.send_image(self.photo(self.script.round, int(action.value)))
        else:
            await self.nudge()
        return True

    async def nudge(self) -> None:
        self.script.nudges += 1
        await self.customer.send_text("/start")


@dataclass
class Run:
    """One crash run: the bot, the people, and what the test did to them."""

    bot: ServeProcess
    fake: FakeWecom
    callbacks: Callbacks
    people: list[Person]
    rng: random.Random
    kinds: tuple[str, ...]
    redelivered: int = 0
    redelivered_ids: set[str] = field(default_factory=set)

    @property
    def open_kfid(self) -> str:
        return self.fake.open_kfids[0]


def handled_msgids(db: Path, corp_id: str) -> set[str]:
    """Return the msgids the bot recorded as handled (read while it runs)."""
    prefix = f"{corp_id}:"
    return {
        d[len(prefix) :]
        for d in crash_checks.handled_deliveries(db, "wecom")
        if d.startswith(prefix)
    }


def written(fake: FakeWecom, person: str | None = None) -> list[str]:
    """Return the msgids of the messages people wrote (not events), in order, without repeats."""
    ids: list[str] = []
    for message in fake.messages[fake.open_kfids[0]]:
        if message.get("msgtype") == "event" or message["msgid"] in ids:
            continue
        if person is None or message.get("external_userid") == person:
            ids.append(message["msgid"])
    return ids


async def redeliver(run: Run, each: int = 1) -> int:
    """Hand out again the newest `each` handled messages of each person; return how many."""
    handled = handled_msgids(run.bot.db_path, run.fake.corp_id)
    again: list[str] = []
    for person in run.people:
        done = [
            m for m in written(run.fake, person.id) if m in handled and m not in run.redelivered_ids
        ]
        again += done[-each:]
    if again:
        run.fake.redeliver(run.open_kfid, again)
        run.redelivered_ids |= set(again)
        run.redelivered += len(again)
    return len(again)


async def settle(run: Run, quiet: float = 1.0, limit: float = 15.0) -> None:
    """Wait until nothing was pulled or sent for `quiet` seconds."""
    waited, still, seen = 0.0, 0.0, len(run.fake.calls)
    while still < quiet and waited < limit:
        await asyncio.sleep(0.1)
        waited += 0.1
        still = still + 0.1 if len(run.fake.calls) == seen else 0.0
        seen = len(run.fake.calls)


async def check_redelivery_at_rest(run: Run) -> int:
    """With everyone done and every reminder sent, handled messages given again get no answer."""
    before = {p.id: len(p.customer.inbox) for p in run.people}
    count = await redeliver(run, each=5)
    assert count > 0, "REDELIVERY: no handled message to hand out again"
    pulls = run.fake.calls.count("kf/sync_msg")
    await run.callbacks.notify(run.open_kfid)
    await wait_for(lambda: run.fake.calls.count("kf/sync_msg") > pulls, 10)
    await settle(run)
    again = [m.shown[:60] for p in run.people for m in p.customer.inbox[before[p.id] :]]
    assert again == [], (
        f"REDELIVERY: {count} messages handled before were handed out again and the bot"
        f" answered {len(again)} times: {again[:5]}"
    )
    return count


async def killer(run: Run, kills: int, progress: int = 0) -> None:
    """Kill the bot `kills` times at random points, starting it again after each.

    With `progress`, each kill waits until everyone's complaint has reached that question.
    """
    bot, fake, rng = run.bot, run.fake, run.rng
    await bot.start()
    await redeliver(run)
    while bot.kills < kills:
        # Stuck: kill anyway.
        await wait_for(lambda: all(p.script.current.furthest >= progress for p in run.people), 20)
        how = rng.choice(run.kinds)
        if how == "start-up":  # opening and migrating the database, the first pull
            await bot.kill()
            await bot.spawn()
            await asyncio.sleep(rng.uniform(0.05, 1.0))
        elif how == "calls":  # in the middle of a pull: right after its k-th API call
            calls = len(fake.calls) + rng.randint(1, 8)
            await wait_for(lambda c=calls: len(fake.calls) >= c, 1.5)
        elif how == "kept":  # a turn kept in the outbox, not yet (all) sent
            await wait_for(lambda: kept_unsent(bot.db_path) > 0, 3)
        elif how == "download":  # pulled and in the inbox, the step not yet saved
            fake.media_gate = asyncio.Event()
            downloads = fake.calls.count("media/get")
            await wait_for(lambda d=downloads: fake.calls.count("media/get") > d, 5)
        else:
            await asyncio.sleep(rng.uniform(0.0, 1.5))
        await bot.kill()
        if fake.media_gate is not None:
            fake.media_gate.set()
            fake.media_gate = None
        await bot.start()
        await redeliver(run)


async def wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    """Wait until `condition()` holds or `seconds` passed; return whether it holds."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        if condition():
            return True
        await asyncio.sleep(0.05)
    return condition()


async def play(person: Person, bot: ServeProcess, keep_going: asyncio.Event) -> None:
    """File complaints until told to stop; then finish the one in progress."""
    while True:
        before = person.snapshot()
        if not await person.act() and not keep_going.is_set():
            return
        if person.script.current.furthest == DONE:  # filed: start the next one
            await person.customer.send_text("/new")
        waited = 0.0
        while person.snapshot() == before:
            await asyncio.sleep(0.05)
            waited = waited + 0.05 if bot.up.is_set() else 0.0
            if waited >= PATIENCE:  # no answer from a running bot: the message was lost
                person.unanswered += 1
                await person.nudge()
                before, waited = person.snapshot(), 0.0
        # A turn comes as several messages: read it once it is complete, as a person would.
        while (seen := person.snapshot()) != before:
            before = seen
            await asyncio.sleep(0.2)


def reminder_sends(run: Run) -> dict[str, list[int]]:
    """Return, per case number, which process (by start) sent each of its reminders."""
    sends: dict[str, list[int]] = {}
    for person in run.people:
        for message in person.customer.inbox:
            if found := REMINDER.search(message.text):
                process = bisect.bisect_right(run.bot.marks, message.call) - 1
                sends.setdefault(found[1], []).append(process)
    return sends


async def wait_for_reminders(run: Run) -> None:
    """Wait until every filed case has had its reminder; a deferred one needs a message."""

    def missing() -> set[str]:
        return crash_checks.case_numbers_in(run.bot.db_path) - set(reminder_sends(run))

    for _ in range(20):
        if not missing():
            return
        await asyncio.sleep(1.0)
        for person in run.people:  # a reminder deferred past the quota goes out on the next
            await person.customer.send_text("/help")
        await settle(run, quiet=0.5)
    assert not missing(), f"REMINDERS: never sent for {sorted(missing())}"


class StampedRefusals(list[Any]):
    """The fake's refusals, each noted with the index of the call it answered and the time."""

    def __init__(self, fake: FakeWecom) -> None:
        super().__init__()
        self.fake = fake
        self.stamps: list[tuple[int, Any]] = []

    def append(self, refusal: Any) -> None:
        self.stamps.append((len(self.fake.calls) - 1, self.fake.clock()))
        super().append(refusal)


def refusal_story(run: Run, limit: int = 3) -> str:
    """Return, for the first refusals, what the person wrote and was sent just before each."""
    refusals = run.fake.refusals
    stamps = getattr(refusals, "stamps", [])
    lines: list[str] = []
    for refusal, (call, at) in list(zip(refusals, stamps, strict=False))[:limit]:
        lines.append(f"refused at call {call} ({at:%H:%M:%S.%f}): {refusal.reason}")
        wrote = [
            (int(m.get("send_time", 0)), str(m.get("msgtype")), str(m.get("text", ""))[:40])
            for m in run.fake.messages[run.open_kfid]
            if m.get("external_userid") == refusal.person and m.get("msgtype") != "event"
        ]
        for sent_at, kind, text in wrote[-3:]:
            lines.append(f"  wrote {sent_at} {kind} {text}")
        sent = [d for d in run.fake.person(refusal.person).inbox if d.call < call][-7:]
        for d in sent:
            starts = bisect.bisect_right(run.bot.marks, d.call) - 1
            when = f"{d.at:%H:%M:%S.%f}" if d.at else "?"
            lines.append(f"  sent call {d.call} {when} start {starts}: {d.shown[:50]!r}")
    return "\n".join(line.replace("\n", " | ") for line in lines)


def kept_unsent(db: Path) -> int:
    """Return how many WeChat messages the bot has kept and not yet sent (read while it runs)."""
    if not db.exists():
        return 0
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        query = "SELECT count(*) FROM outbox WHERE messenger = 'wecom'"
        return int(conn.execute(query).fetchone()[0])
    except sqlite3.OperationalError as e:  # no table yet: the first start has not migrated it
        if "no such table" not in str(e):
            raise
        return 0
    finally:
        conn.close()


def check_pulled(run: Run) -> dict[str, int]:
    """Every message people wrote was pulled and handled; the inbox is empty at rest."""
    db = run.bot.db_path
    handled = handled_msgids(db, run.fake.corp_id)
    wrote = written(run.fake)
    lost = [m for m in wrote if m not in handled]
    pulled = set(run.fake.pulled)
    by_id = {m["msgid"]: m for m in run.fake.messages[run.open_kfid]}
    assert not lost, (
        f"PULLED: {len(lost)} of {len(wrote)} messages people wrote were never handled"
        f" ({sum(m in pulled for m in lost)} of them pulled): {lost[:5]}; "
        + "; ".join(
            f"{by_id[m].get('external_userid')} at {by_id[m].get('send_time')}:"
            f" {by_id[m].get('msgtype')} {str(by_id[m].get('text') or '')[:60]}"
            for m in lost[:3]
        )
    )
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        left = conn.execute("SELECT count(*) FROM wecom_inbox").fetchone()[0]
    finally:
        conn.close()
    assert left == 0, f"PULLED: {left} messages left in the inbox at rest"
    return {"messages_written": len(wrote), "pulls": run.fake.calls.count("kf/sync_msg")}


async def crash_run(
    folder: Path,
    kills: int,
    seed: int,
    *,
    mutant: str | None = None,
    progress: int = 0,
    kinds: tuple[str, ...] = ("start-up", "calls", "calls", "download", "kept", "random"),
) -> JSON:
    """Play a crash run and check every invariant; return its figures."""
    print(f"wecom crash test: CRASH_SEED={seed} CRASH_KILLS={kills} mutant={mutant}")
    fake = FakeWecom(SystemClock().now)
    fake.refusals = StampedRefusals(fake)
    env = {"COMPLAINT_BOT_DEADLINE_OVERRIDE": "1s", "COMPLAINT_BOT_QUIET_HOURS": "off"}
    command = SERVE
    if mutant is not None:
        command = (sys.executable, str(MUTANTS), "serve")
        env["CRASH_MUTANT"] = mutant
    keep_going = asyncio.Event()
    keep_going.set()
    async with FakeWecomServer(fake) as server:
        bot = ServeProcess(fake, server, folder, command=command, env=env)
        http = httpx.AsyncClient(base_url=bot.url, timeout=5)
        callbacks = Callbacks(fake, http)
        people = [
            Person(i, FakeCustomer(fake, callbacks, f"wmCrashPerson0{i}")) for i in range(PEOPLE)
        ]
        run = Run(bot, fake, callbacks, people, random.Random(seed), kinds)
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
            await settle(run)
            await wait_for_reminders(run)
            at_rest = await check_redelivery_at_rest(run)
            await bot.stop()
            figures = check_pulled(run)
            figures |= crash_checks.check_database(bot.folder, [p.view() for p in people], PHOTOS)
            figures |= crash_checks.check_reminders(reminder_sends(run), bot.kills, len(people))
            refused = [(r.person, r.reason) for r in fake.refusals]
            assert refused == [], (
                f"REFUSED: WeCom refused {len(refused)} sends: {refused[:5]}\n" + refusal_story(run)
            )
            for person in people:
                assert person.script.regressions == [], f"QUESTIONS: {person.script.regressions}"
                assert person.script.announced, f"CASES: person {person.index} never filed"
            figures |= {
                "kills": bot.kills,
                "starts": bot.starts,
                "steps_confirmed": sum(p.script.steps_confirmed for p in people),
                "nudges": sum(p.script.nudges for p in people),
                "start_seconds": round(bot.starting_time / bot.starts, 2),
                "redelivered": run.redelivered,
                "redelivered_at_rest": at_rest,
                "sends": sum(len(p.customer.inbox) for p in people),
                "unanswered": sum(p.unanswered for p in people),
                "unannounced": figures["cases"] - figures["announced"],
            }
            print("wecom crash test:", figures)
            crash_checks.check_answered(figures, [p.unanswered for p in people])
            assert bot.kills >= kills
            assert figures["steps_confirmed"] > 0
            return figures
        except BaseException:
            print(f"wecom crash test FAILED with CRASH_SEED={seed} mutant={mutant}")
            if fake.refusals:
                print(f"refusals: {len(fake.refusals)}\n{refusal_story(run)}")
            print("log tail:")
            print(bot.log.read_text(errors="replace")[-4000:] if bot.log.exists() else "(no log)")
            for person in people:
                print(f"--- person {person.index}: {person.script.rounds}")
                for message in person.customer.inbox[-TAIL:]:
                    print("   ", message.shown.replace("\n", " | ")[:160])
            raise
        finally:
            await bot.kill()
            await http.aclose()


async def test_sigkill_at_random_points_loses_nothing_confirmed(tmp_path: Path) -> None:
    await crash_run(tmp_path, KILLS, SEED)


@pytest.mark.parametrize(
    ("mutant", "caught_by", "kind"),
    [
        ("wecom_inbox_emptied_first", "PULLED", "download"),
        ("ignore_deliveries", "REDELIVERY", "random"),
        # A kept turn not sent at start: the person waits in vain (UNANSWERED, ANNOUNCED), or,
        # when the kill came at their last message, it goes out with the next turn the bot
        # makes: an answer to a message handed out again at rest (REDELIVERY).
        ("wecom_outbox_never_resent", "UNANSWERED|ANNOUNCED|REDELIVERY", "kept"),
    ],
)
async def test_mutants_are_caught(tmp_path: Path, mutant: str, caught_by: str, kind: str) -> None:
    """A bot with a deliberate bug fails the crash run, on the invariant meant for it."""
    with pytest.raises(AssertionError) as failed:
        # One kill while everyone sends their screenshot is sure to land where the bug loses.
        await crash_run(tmp_path, 1, seed=1, mutant=mutant, progress=10, kinds=(kind,))
    caught = str(failed.value).splitlines()[0]
    print(f"mutant {mutant} caught: {caught}")
    assert re.match(caught_by, caught), str(failed.value)
