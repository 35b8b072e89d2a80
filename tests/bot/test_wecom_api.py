"""The WeCom API client against the fake, and the fake's rules (what a real account refuses)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fake_wecom import FakeWecom

from bot.clock import ManualClock
from bot.messengers.wecom.api import MediaTooLarge, WecomApi, WecomError

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
KF = "wkFAKEKF0001"


@pytest.fixture
async def world() -> AsyncIterator[tuple[FakeWecom, WecomApi, ManualClock]]:
    clock = ManualClock(NOW)
    fake = FakeWecom(clock.now, page_size=2)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app))
    api = WecomApi(
        client,
        corp_id=fake.corp_id,
        secret=fake.secret,
        clock=clock.now,
        api_base="http://w/cgi-bin",
    )
    yield fake, api, clock
    await client.aclose()


async def test_the_token_is_kept_then_fetched_again_before_it_expires(world) -> None:
    fake, api, clock = world
    first = await api.token()
    assert await api.token() == first and fake.calls.count("gettoken") == 1
    clock.advance(timedelta(seconds=7200 - 60))  # inside the 5-minute margin
    assert await api.token() != first and fake.calls.count("gettoken") == 2


async def test_a_revoked_token_is_replaced_once_and_the_call_goes_through(world) -> None:
    fake, api, _ = world
    await api.token()
    fake.tokens.clear()  # WeCom revoked it (another process fetched a new one...)
    assert await api.accounts()
    assert fake.calls.count("gettoken") == 2


async def test_a_wrong_secret_is_an_error_with_its_code(world) -> None:
    fake, api, clock = world
    bad = WecomApi(
        api.client, corp_id=fake.corp_id, secret="wrong", clock=clock.now, api_base=api.api_base
    )
    with pytest.raises(WecomError) as caught:
        await bad.token()
    assert caught.value.code == 40001


async def test_sync_pages_follow_has_more_and_the_cursor(world) -> None:
    fake, api, _ = world
    for n in range(5):
        fake.customer_wrote(KF, "wmA", {"msgtype": "text", "text": {"content": f"m{n}"}})
    token = fake.new_callback_token()
    seen, cursor, pages = [], None, 0
    while True:
        page = await api.sync_msg(KF, cursor, token)
        pages += 1
        seen += [m["text"]["content"] for m in page.messages]
        cursor = page.next_cursor
        if not page.has_more:
            break
    assert seen == ["m0", "m1", "m2", "m3", "m4"] and pages == 3
    assert (await api.sync_msg(KF, cursor, token)).messages == []  # nothing new past the end


async def test_without_a_callback_token_pulls_are_rate_limited(world) -> None:
    _, api, clock = world
    for _ in range(10):
        await api.sync_msg(KF, None, None)
    with pytest.raises(WecomError) as caught:
        await api.sync_msg(KF, None, None)
    assert caught.value.code == 45009
    clock.advance(timedelta(minutes=1))
    await api.sync_msg(KF, None, None)


async def test_messages_older_than_three_days_are_no_longer_pulled(world) -> None:
    fake, api, clock = world
    fake.customer_wrote(KF, "wmA", {"msgtype": "text", "text": {"content": "old"}})
    clock.advance(timedelta(days=3, seconds=1))
    assert (await api.sync_msg(KF, None, fake.new_callback_token())).messages == []


async def test_media_downloads_stop_at_the_cap_and_expire_after_three_days(world) -> None:
    fake, api, clock = world
    media_id = fake.add_media("record.pdf", "application/pdf", b"%PDF-1.4 " + b"x" * 5000)
    got = await api.media(media_id, 10_000)
    assert got.file_name == "record.pdf" and got.mime_type == "application/pdf"
    with pytest.raises(MediaTooLarge):
        await api.media(media_id, 1000)
    clock.advance(timedelta(days=3, seconds=1))
    with pytest.raises(WecomError) as caught:
        await api.media(media_id, 10_000)
    assert caught.value.code == 40007


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ({"msgtype": "text", "text": {"content": "字" * 683}}, 45002),  # 2,049 bytes
        (
            {
                "msgtype": "msgmenu",
                "msgmenu": {
                    "head_content": "选一个",
                    "list": [
                        {"type": "click", "click": {"id": str(i), "content": f"{i}"}}
                        for i in range(11)
                    ],
                },
            },
            45098,
        ),
        (
            {
                "msgtype": "msgmenu",
                "msgmenu": {"list": [{"type": "click", "click": {"id": "x" * 65, "content": "a"}}]},
            },
            40058,
        ),
    ],
)
async def test_the_fake_refuses_what_wechat_refuses(world, message, code) -> None:
    fake, api, _ = world
    fake.customer_wrote(KF, "wmA", {"msgtype": "text", "text": {"content": "hi"}})
    with pytest.raises(WecomError) as caught:
        await api.send_msg({"touser": "wmA", "open_kfid": KF, **message})
    assert caught.value.code == code and len(fake.refusals) == 1


async def test_past_48_hours_or_5_messages_a_send_fails_later_as_an_event(world) -> None:
    fake, api, clock = world
    fake.customer_wrote(KF, "wmA", {"msgtype": "text", "text": {"content": "hi"}})
    text = {"touser": "wmA", "open_kfid": KF, "msgtype": "text", "text": {"content": "ok"}}
    for _ in range(6):
        await api.send_msg(text)  # the API says ok every time
    assert [r.reason for r in fake.refusals] == ["over 5 messages"]
    clock.advance(timedelta(hours=49))
    fake.customer_wrote(KF, "wmB", {"msgtype": "text", "text": {"content": "hi"}})
    clock.advance(timedelta(hours=49))
    await api.send_msg({**text, "touser": "wmB"})
    assert fake.refusals[-1].reason == "48-hour window closed"
    events = [m["event"]["fail_type"] for m in fake.messages[KF] if m["msgtype"] == "event"]
    assert events == [6, 4]


async def test_an_uploaded_file_can_be_sent_for_three_days(world) -> None:
    fake, api, clock = world
    fake.customer_wrote(KF, "wmA", {"msgtype": "text", "text": {"content": "hi"}})
    media_id = await api.upload("file", "letter.txt", "投诉书".encode() * 3, "text/plain")
    await api.send_msg(
        {"touser": "wmA", "open_kfid": KF, "msgtype": "file", "file": {"media_id": media_id}}
    )
    assert fake.person("wmA").inbox[-1].file_name == "letter.txt"
    clock.advance(timedelta(days=3, seconds=1))
    with pytest.raises(WecomError):
        await api.send_msg(
            {"touser": "wmA", "open_kfid": KF, "msgtype": "file", "file": {"media_id": media_id}}
        )


async def test_a_server_error_is_an_error_the_caller_can_retry(world) -> None:
    fake, api, _ = world
    fake.fail_next("kf/sync_msg", 502)
    with pytest.raises(WecomError) as caught:
        await api.sync_msg(KF, None, fake.new_callback_token())
    assert caught.value.code == -1
    assert (await api.sync_msg(KF, None, fake.new_callback_token())).messages == []
