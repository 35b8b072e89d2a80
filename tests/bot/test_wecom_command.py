"""`complaint-bot serve` over real HTTP on 127.0.0.1 (with Telegram beside WeChat when a token
is set), and `complaint-bot wecom link|check`."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fake_telegram import DEFAULT_TOKEN, FakeBotAPI
from fake_wecom import Callbacks, FakeCustomer, FakeWecom
from telegram_chat import Chat
from wecom_chat import NOW, wecom_settings

from bot.__main__ import main
from bot.app import Serving
from bot.clock import ManualClock
from bot.wecom_command import check, link
from flows.model import ConversationKey
from flows.records import Conversation, NewCase, NewReminder, StepCommit


def now() -> datetime:
    return datetime.now(UTC)


async def test_serve_answers_wechat_over_http_on_loopback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.app")
    fake = FakeWecom(now)
    server = Serving(
        wecom_settings(tmp_path, fake), wecom_transport=httpx.ASGITransport(app=fake.app)
    )
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
            assert (await http.get("/healthz")).text == "ok"
            callbacks = Callbacks(fake, http)
            checked = await callbacks.check_url()
            assert checked.text == checked.extensions["expected"]
            alice = FakeCustomer(fake, callbacks, "wmLoopback01")
            await alice.send_text("/start")
            assert callbacks.answers[-1] == (200, "success")
            assert server.wecom is not None
            await server.wecom.settle()
            assert "遇到了什么问题" in alice.text
        assert server.telegram is None
        assert [r.message for r in caplog.records if "Telegram" in r.message] == [
            "no Telegram token (TELEGRAM_BOT_TOKEN): serving WeChat only"
        ]
    finally:
        await server.stop()


async def seed_due_case(serving: Serving, key: ConversationKey, chat_id: str) -> str:
    """File a case for `key` whose deadline reminder falls due an hour from NOW."""
    assert serving.services is not None
    due = NOW + timedelta(hours=1)
    case = NewCase(
        "sms", "营销短信", "sms", 2, "zh", {}, [], NOW, due_at=due,
        reminder=NewReminder("deadline", due),
    )  # fmt: skip
    conversation = Conversation(key, chat_id, "zh", draft_id=f"d-{key.user_id}", updated_at=NOW)
    number = await serving.services.store.commit(StepCommit(conversation, new_case=case))
    assert number is not None
    return number


async def test_serve_runs_telegram_beside_wechat_on_one_engine(tmp_path: Path) -> None:
    clock = ManualClock(NOW)
    wecom, telegram = FakeWecom(clock.now), FakeBotAPI()
    settings = wecom_settings(tmp_path, wecom).replace(
        telegram_token=DEFAULT_TOKEN, quiet_hours="off"
    )
    serving = Serving(
        settings,
        clock=clock,
        wecom_transport=httpx.ASGITransport(app=wecom.app),
        telegram_requests=(telegram.make_request(), telegram.make_request()),
    )
    await serving.start()
    try:
        assert serving.wecom is not None and serving.services is not None
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{serving.port}") as http:
            alice = FakeCustomer(wecom, Callbacks(wecom, http), "wmBeside01")
            await alice.send_text("/start")
            await serving.wecom.settle()
        assert "遇到了什么问题" in alice.text  # answered on WeChat...
        bob = Chat(telegram, telegram.add_user("Bob"))
        await bob.say("/start", "遇到了什么问题")  # ...and on Telegram, by the same process
        alice.new()
        alice_case = await seed_due_case(
            serving, ConversationKey("wecom", alice.id), f"{alice.open_kfid}|{alice.id}"
        )
        bob_case = await seed_due_case(
            serving, ConversationKey("telegram", str(bob.user.id)), str(bob.user.id)
        )
        clock.advance(timedelta(hours=1, minutes=1))
        await serving.services.scheduler.settle()
        # Each reminder went out through the messenger of its person, and only there.
        [wechat_reminder] = alice.new()
        assert alice_case in wechat_reminder.shown and bob_case not in wechat_reminder.shown
        telegram_reminder = await bob.expect(bob_case)
        assert alice_case not in (telegram_reminder.text or "")
        assert wecom.refusals == []
    finally:
        await serving.stop()


async def test_link_and_check_use_the_configured_accounts(tmp_path: Path) -> None:
    fake = FakeWecom(now)
    settings = wecom_settings(tmp_path, fake)
    urls = await link(settings, "poster1", transport=httpx.ASGITransport(app=fake.app))
    assert urls and urls[0].startswith("https://work.weixin.qq.com/kfid/wkFAKEKF0001")
    lines = await check(settings, transport=httpx.ASGITransport(app=fake.app))
    assert lines[0].startswith("ok") and "wkFAKEKF0001" in lines[1] and "(configured)" in lines[1]


def test_a_missing_setting_stops_with_its_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("WECOM_SECRET", "WECOM_TOKEN", "WECOM_AES_KEY"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "config.yaml"
    config.write_text("wecom:\n  corp_id: ww123\n", encoding="utf-8")
    assert main(["--config", str(config), "wecom", "check"]) == 1
    assert "wecom.secret: not set (or WECOM_SECRET)" in capsys.readouterr().err


def test_a_bad_aes_key_is_refused_without_showing_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WECOM_AES_KEY", "tooshort-secret-value")
    assert main(["wecom", "check"]) == 1
    err = capsys.readouterr().err
    assert "wecom.encoding_aes_key" in err and "tooshort-secret-value" not in err


async def test_serve_on_postgresql_keeps_the_token_for_the_next_start(
    tmp_path: Path, pg_url: str
) -> None:
    fake = FakeWecom(now)
    settings = wecom_settings(tmp_path, fake).replace(storage_url=pg_url)
    answered: list[int] = []  # how many messages Alice has had after each
    for word in ("/start", "/help"):  # each in a server of its own: a restart between
        server = Serving(settings, wecom_transport=httpx.ASGITransport(app=fake.app))
        await server.start()
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
                alice = FakeCustomer(fake, Callbacks(fake, http), "wmLoopback01")
                await alice.send_text(word)
                assert server.wecom is not None
                await server.wecom.settle()
                answered.append(len(alice.inbox))
        finally:
            await server.stop()

    assert "遇到了什么问题" in alice.text
    assert 0 < answered[0] < answered[1]  # both servers answered her
    assert fake.calls.count("gettoken") == 1  # the second server used the kept token
    assert not (tmp_path / "bot.sqlite3").exists()  # everything went to PostgreSQL
