"""`complaint-bot serve` (and webhook mode) on one PostgreSQL database, as several processes.

Two `Serving` run in this test's process, each with its own database pool, leader lock session
and HTTP port, as two machines would: WeChat and Telegram (by webhook) both post to the standby,
and the person must be answered exactly once, by the leader; a due reminder goes out once; when
the leader stops, the standby leads and answers. The clock is manual, so WeCom's safety pull
never runs: a WeChat message answered here was pulled because the standby told the leader.
Real processes killed with SIGKILL are in test_webhook_failover.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fake_telegram import DEFAULT_TOKEN, FakeBotAPI, WebhookPusher
from fake_wecom import Callbacks, FakeCustomer, FakeWecom
from telegram_chat import Chat
from test_wecom_command import seed_due_case
from wecom_chat import NOW, wecom_settings

import storage.postgres.wakeups as wakeups
from bot.app import Serving, bot_names
from bot.clock import ManualClock
from bot.config import ConfigError, Settings
from bot.standby import Receiving, ServingRole
from flows.model import ConversationKey, Incoming, Reply
from storage.postgres.leader_lock import LeaderLock
from storage.postgres.wakeups import Wakeups

# A standby tries the lock often; the leader's checks keep their production lease, which a
# loaded machine's slow database does not run out (a shorter one made the leader step down).
TIMINGS = {"retry": 0.2}
URL = "https://bot.example.com/telegram/hook"
SECRET = "standby-test-secret_0123"
WAIT = 15.0  # seconds, only so that a broken test ends
START = "遇到了什么问题"


async def until(what: str, predicate: Callable[[], bool], wait: float = WAIT) -> None:
    """Wait until `predicate()` holds (fail after `wait` seconds)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while not predicate():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


def journal(serving: Serving, handled: list[tuple[str, str]]) -> None:
    """Note in `handled` which process answers each message (its name and the messenger)."""
    assert serving.services is not None
    engine = serving.services.engine
    answer = engine.handle
    name = Path(serving.settings.storage_data_dir).parent.name

    async def handle(incoming: Incoming) -> list[Reply]:
        handled.append((name, incoming.key.messenger))
        return await answer(incoming)

    engine.handle = handle  # type: ignore[method-assign]


def texts_to(fake: FakeBotAPI, chat_id: int, text: str) -> int:
    """Return how many messages the bot sent to `chat_id` that contain `text`."""
    return sum(
        1
        for call in fake.calls("sendMessage")
        if call.ok and str(call.params.get("chat_id")) == str(chat_id)
        if text in str(call.params.get("text", ""))
    )


async def test_two_serve_processes_answer_once_and_the_standby_takes_over(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only the standby's word wakes the leader within this test's waits.
    monkeypatch.setattr(wakeups, "SAFETY", 60.0)
    clock = ManualClock(NOW)
    wecom, telegram = FakeWecom(clock.now), FakeBotAPI()

    def serving(name: str) -> Serving:
        settings = wecom_settings(tmp_path / name, wecom).replace(
            storage_url=pg_url,
            quiet_hours="off",
            telegram_token=DEFAULT_TOKEN,
            telegram_mode="webhook",
            telegram_webhook_url=URL,
            telegram_webhook_secret=SECRET,
        )
        return Serving(
            settings,
            clock=clock,
            wecom_transport=httpx.ASGITransport(app=wecom.app),
            telegram_requests=(telegram.make_request(), telegram.make_request()),
            timings=TIMINGS,
        )

    a, b = serving("a"), serving("b")
    stopped: list[Serving] = []
    try:
        await a.start()
        assert a.tenure is not None and b is not None
        await asyncio.wait_for(a.tenure.leading.wait(), WAIT)
        await b.start()
        assert b.tenure is not None and a.services is not None
        handled: list[tuple[str, str]] = []
        journal(a, handled)
        journal(b, handled)
        standby = f"http://127.0.0.1:{b.port}"
        async with (
            WebhookPusher(telegram, target=standby) as pushed,
            httpx.AsyncClient(base_url=standby) as to_standby,
        ):
            bob = Chat(telegram, telegram.add_user("Bob"))
            await bob.say("/start", START)
            alice = FakeCustomer(wecom, Callbacks(wecom, to_standby), "wmStandby01")
            await alice.send_text("/start")
            await until("alice's answer", lambda: START in alice.text)
            assert {p.status for p in pushed.pushes} == {200}

            # Due reminders: sent by the leader alone, once each.
            bob_key = ConversationKey("telegram", str(bob.user.id))
            bob_case = await seed_due_case(a, bob_key, str(bob.user.id))
            wechat = f"{alice.open_kfid}|{alice.id}"
            alice_case = await seed_due_case(a, ConversationKey("wecom", alice.id), wechat)
            clock.advance(timedelta(hours=1, minutes=1))
            await a.services.scheduler.settle()
            await bob.expect(bob_case)
            await until("alice's reminder", lambda: alice_case in alice.text)
            assert not b.tenure.leading.is_set()
            # Everything was posted to the standby, and the leader alone handled it.
            assert set(handled) == {("a", "telegram"), ("a", "wecom")}
            handled.clear()

            # The leader goes; the standby leads, and answers what is posted to it.
            await a.stop()
            stopped.append(a)
            await asyncio.wait_for(b.tenure.leading.wait(), WAIT)
            await bob.say("/help", "/cases")
            await alice.send_text("/help")
            await until("alice's help", lambda: "/cases" in alice.text)
            assert set(handled) == {("b", "telegram"), ("b", "wecom")}

        assert texts_to(telegram, bob.user.id, START) == 1
        assert alice.text.count(START) == 1
        assert b.services is not None
        await b.services.scheduler.settle()  # the new leader sends no reminder again
        assert texts_to(telegram, bob.user.id, bob_case) == 1
        assert alice.text.count(alice_case) == 1
        assert wecom.refusals == []
    finally:
        for server in (b, a):
            if server not in stopped:
                await server.stop()


def test_the_leader_lock_is_named_after_the_bot_never_its_secret() -> None:
    settings = Settings.defaults().replace(
        telegram_token="123456:SECRET-one", wecom_corp_id="ww1", wecom_open_kfids=["wkA"]
    )
    names = bot_names(settings, telegram=True, wecom=True)
    shown = ", ".join(names)
    assert "telegram 123456" in names and "SECRET" not in shown and "wkA" not in shown
    # A token made anew for the same bot names the same bot; another bot, another name.
    renewed = settings.replace(telegram_token="123456:SECRET-two")
    assert bot_names(renewed, telegram=True, wecom=True) == names
    other = settings.replace(telegram_token="654321:SECRET-one")
    assert bot_names(other, telegram=True, wecom=True) != names
    other_account = settings.replace(wecom_open_kfids=["wkB"])
    assert bot_names(other_account, telegram=True, wecom=True) != names
    odd = settings.replace(telegram_token="no-colon-so-all-secret")
    assert "no-colon" not in ", ".join(bot_names(odd, telegram=True))


async def test_two_bots_on_one_database_each_lead_their_own(pg_url: str) -> None:
    first = Settings.defaults().replace(telegram_token="111:a")
    second = Settings.defaults().replace(telegram_token="222:b")
    locks = [
        LeaderLock(pg_url, bot_names(first, telegram=True)),
        LeaderLock(pg_url, bot_names(second, telegram=True)),
        LeaderLock(pg_url, bot_names(first, telegram=True)),  # a second process of the first
    ]
    try:
        assert [await lock.try_acquire() for lock in locks] == [True, True, False]
    finally:
        for lock in locks:
            await lock.release()


async def test_a_run_and_a_serve_of_one_bot_never_both_lead_it(pg_url: str) -> None:
    both = Settings.defaults().replace(
        telegram_token="111:a", wecom_corp_id="ww1", wecom_open_kfids=["wkA"]
    )
    wechat_only = both.replace(telegram_token="")
    run = LeaderLock(pg_url, bot_names(both, telegram=True))  # `run`: Telegram only
    serve = LeaderLock(pg_url, bot_names(both, telegram=True, wecom=True))  # Telegram, WeChat
    other_serve = LeaderLock(pg_url, bot_names(wechat_only, telegram=True, wecom=True))
    try:
        assert await run.try_acquire()
        # The serve cannot lead Telegram beside the run, and takes WeChat's lock neither, so
        # a serve of the same WeChat accounts without Telegram may lead those.
        assert not await serve.try_acquire()
        assert await serve.holder() is not None
        assert await other_serve.try_acquire()
        await other_serve.release()
        await run.release()
        # A closed session's locks go when its server process has ended: a moment later.
        for _ in range(50):
            if await serve.try_acquire():
                break
            await asyncio.sleep(0.1)
        assert await serve.held()
        assert not await other_serve.try_acquire()  # WeChat is the serve's now
        assert not await run.try_acquire()  # and so is Telegram
    finally:
        for lock in (run, serve, other_serve):
            await lock.release()


async def test_a_wake_up_reaches_the_listener_of_its_bot_only(pg_url: str) -> None:
    heard: list[str | None] = []
    others: list[str | None] = []
    listener = Wakeups(pg_url, "telegram 111")
    listening = asyncio.create_task(listener.listen(heard.append))
    other = asyncio.create_task(Wakeups(pg_url, "telegram 222").listen(others.append))
    standby = Wakeups(pg_url, "telegram 111")
    try:
        await until("the listeners", lambda: heard == [None] and others == [None])
        assert await standby.notify("telegram")
        await until("the wake-up", lambda: "telegram" in heard)
        await asyncio.sleep(0.2)
        assert others == [None]  # connected, then nothing: another bot's news is not theirs
    finally:
        for task in (listening, other):
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await standby.close()


async def test_a_standby_without_the_database_still_answers_the_webhook() -> None:
    accepted: list[list[dict[str, object]]] = []

    class Messenger:
        async def accept(self, updates: list[dict[str, object]]) -> None:
            accepted.append(updates)

    # Nothing listens on port 1: the word to the leader is lost, the update is kept all the same.
    telling = Wakeups("postgresql://bot@127.0.0.1:1/complaints?connect_timeout=1", "telegram 1")
    receiving = Receiving(asyncio.Event(), telling, telegram=Messenger())  # type: ignore[arg-type]
    await receiving.accept([{"update_id": 1}])
    assert accepted == [[{"update_id": 1}]]
    await receiving.close()


class Woken:
    """A messenger that only notes what it was woken for."""

    def __init__(self) -> None:
        self.wakes: list[object] = []
        self.loops = {"wkA": object()}

    def wake(self, *args: object) -> bool:
        self.wakes.append(args)
        return True


def test_the_leader_wakes_the_messenger_each_word_names() -> None:
    telegram, wecom = Woken(), Woken()
    role = ServingRole(None, telegram=telegram, wecom=wecom)  # type: ignore[arg-type]
    role.woken("telegram")
    role.woken("wecom wkA TOKEN-1")
    role.woken("wecom wkA ")
    role.woken(None)  # look anyway: the inbox, not WeCom (it has its own safety pull)
    assert telegram.wakes == [(), ()]
    assert wecom.wakes == [("wkA", "TOKEN-1"), ("wkA", None)]


async def test_a_standby_hands_wecom_news_to_the_leader_and_the_leader_pulls_itself() -> None:
    told: list[str] = []

    class Telling:
        async def notify(self, payload: str) -> bool:
            told.append(payload)
            return True

        async def close(self) -> None:
            pass

    wecom = Woken()
    leading = asyncio.Event()
    receiving = Receiving(leading, Telling(), wecom=wecom)  # type: ignore[arg-type]
    assert receiving.wake("wkA", "T1")
    assert not receiving.wake("wkOther", "T2")  # not an account of this bot
    leading.set()
    assert receiving.wake("wkA", "T3")
    await receiving.close()
    assert told == ["wecom wkA T1"]
    assert wecom.wakes == [("wkA", "T3")]


async def test_serve_refuses_a_webhook_on_the_wecom_callback_path(tmp_path: Path) -> None:
    wecom = FakeWecom(ManualClock(NOW).now)
    settings = wecom_settings(tmp_path, wecom).replace(
        telegram_token=DEFAULT_TOKEN,
        telegram_mode="webhook",
        telegram_webhook_url="https://bot.example.com/wecom/kf",
        telegram_webhook_secret=SECRET,
    )
    serving = Serving(settings)
    with pytest.raises(ConfigError, match=r"telegram\.webhook_path: expected a path other than"):
        await serving.start()
    await serving.stop()
    assert not (tmp_path / "bot.sqlite3").exists()  # refused before anything was opened


async def test_serve_takes_telegram_by_webhook_beside_wechat_on_sqlite(tmp_path: Path) -> None:
    clock = ManualClock(NOW)
    wecom, telegram = FakeWecom(clock.now), FakeBotAPI()
    settings = wecom_settings(tmp_path, wecom).replace(
        telegram_token=DEFAULT_TOKEN,
        telegram_mode="webhook",
        telegram_webhook_url=URL,
        telegram_webhook_secret=SECRET,
    )
    serving = Serving(
        settings,
        clock=clock,
        wecom_transport=httpx.ASGITransport(app=wecom.app),
        telegram_requests=(telegram.make_request(), telegram.make_request()),
    )
    await serving.start()
    try:
        assert telegram.webhook["url"] == URL
        async with WebhookPusher(telegram, target=f"http://127.0.0.1:{serving.port}") as pushed:
            bob = Chat(telegram, telegram.add_user("Bob"))
            await bob.say("/start", START)
        assert {p.status for p in pushed.pushes} == {200}
        assert not telegram.calls("getUpdates")  # nothing polled: Telegram posts
    finally:
        await serving.stop()
