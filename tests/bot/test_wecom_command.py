"""`complaint-bot serve` over real HTTP on 127.0.0.1, and `complaint-bot wecom link|check`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fake_wecom import AES_KEY, CALLBACK_TOKEN, Callbacks, FakeCustomer, FakeWecom

from bot.__main__ import main
from bot.config import Settings
from bot.wecom_command import WecomServer, check, link


def wecom_settings(tmp_path: Path, fake: FakeWecom) -> Settings:
    return Settings.defaults().replace(
        storage_db_path=str(tmp_path / "bot.sqlite3"),
        storage_data_dir=str(tmp_path / "data"),
        http_listen="127.0.0.1:0",
        wecom_corp_id=fake.corp_id,
        wecom_secret=fake.secret,
        wecom_token=CALLBACK_TOKEN,
        wecom_encoding_aes_key=AES_KEY,
        wecom_open_kfids=fake.open_kfids,
        wecom_api_base="http://wecom.test/cgi-bin",
    )


def now() -> datetime:
    return datetime.now(UTC)


async def test_serve_answers_wechat_over_http_on_loopback(tmp_path: Path) -> None:
    fake = FakeWecom(now)
    server = WecomServer(
        wecom_settings(tmp_path, fake), transport=httpx.ASGITransport(app=fake.app)
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
            assert server.messenger is not None
            await server.messenger.settle()
            assert "遇到了什么问题" in alice.text
    finally:
        await server.stop()


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
        server = WecomServer(settings, transport=httpx.ASGITransport(app=fake.app))
        await server.start()
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
                alice = FakeCustomer(fake, Callbacks(fake, http), "wmLoopback01")
                await alice.send_text(word)
                assert server.messenger is not None
                await server.messenger.settle()
                answered.append(len(alice.inbox))
        finally:
            await server.stop()

    assert "遇到了什么问题" in alice.text
    assert 0 < answered[0] < answered[1]  # both servers answered her
    assert fake.calls.count("gettoken") == 1  # the second server used the kept token
    assert not (tmp_path / "bot.sqlite3").exists()  # everything went to PostgreSQL
