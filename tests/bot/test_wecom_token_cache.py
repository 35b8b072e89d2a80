"""The WeCom access token kept in the database: WeCom counts every `gettoken` against a quota.

A restart, or a second process on the same database, uses the token still valid instead of
fetching one; an expired token, or one WeCom refuses (40014, 42001), is fetched again and the
new one kept. Counted with the fake WeCom's record of `gettoken` calls.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fake_wecom import FakeWecom
from wecom_chat import NOW, wecom_bot

from bot.clock import ManualClock
from bot.messengers.wecom.api import WecomApi
from bot.wecom_state import StoredWecomState, wecom_state
from storage.factory import open_store


async def test_a_restart_uses_the_kept_token_until_it_expires_or_is_refused(
    tmp_path: Path,
) -> None:
    async with wecom_bot(tmp_path) as bot:
        alice = bot.customer()
        assert await bot.say(alice, "/start")
        await bot.stop()
        await bot.start()

        assert await bot.say(alice, "/help")  # answered: the kept token worked
        assert bot.fake.calls.count("gettoken") == 1
        # Two hours on, the kept token has expired: fetched again, once.
        bot.clock.advance(timedelta(hours=2))
        assert await bot.say(alice, "/help")
        assert bot.fake.calls.count("gettoken") == 2
        # WeCom no longer knows it (40014): replaced, and the replacement kept.
        bot.fake.tokens.clear()
        assert await bot.say(alice, "/help")
        await bot.stop()
        await bot.start()
        assert await bot.say(alice, "/help")

        assert bot.fake.calls.count("gettoken") == 3
        assert bot.fake.refusals == []


@pytest.fixture
async def shared(tmp_path: Path) -> AsyncIterator[tuple[FakeWecom, StoredWecomState, ManualClock]]:
    """A fake WeCom and the token cache of one database, for two API clients (processes)."""
    clock = ManualClock(NOW)
    fake = FakeWecom(clock.now)
    store = await open_store("", tmp_path / "bot.sqlite3", tmp_path / "data")
    try:
        yield fake, wecom_state(store), clock
    finally:
        await store.close()


def client(fake: FakeWecom, cache: StoredWecomState, clock: ManualClock) -> WecomApi:
    transport = httpx.ASGITransport(app=fake.app)
    return WecomApi(
        httpx.AsyncClient(transport=transport),
        corp_id=fake.corp_id,
        secret=fake.secret,
        clock=clock.now,
        api_base="http://wecom.test/cgi-bin",
        tokens=cache,
    )


async def test_a_second_process_uses_the_token_the_first_fetched(
    shared: tuple[FakeWecom, StoredWecomState, ManualClock],
) -> None:
    fake, cache, clock = shared
    first, second = client(fake, cache, clock), client(fake, cache, clock)

    token = await first.token()
    assert await second.token() == token
    assert await second.accounts() is not None
    assert fake.calls.count("gettoken") == 1

    # The first one's token is refused: the second has already put a new one in the cache,
    # and the first takes that rather than fetching a third.
    del fake.tokens[token]
    await second.accounts()
    await first.accounts()
    assert fake.calls.count("gettoken") == 2
    assert await first.token() == await second.token() != token
    for api in (first, second):
        await api.client.aclose()


async def test_a_token_kept_for_another_secret_is_not_used(
    shared: tuple[FakeWecom, StoredWecomState, ManualClock],
) -> None:
    fake, cache, clock = shared
    mine = client(fake, cache, clock)
    await mine.token()
    other = WecomApi(
        httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app)),
        corp_id=fake.corp_id,
        secret="another secret",
        clock=clock.now,
        api_base="http://wecom.test/cgi-bin",
        tokens=cache,
    )

    with pytest.raises(Exception, match="40001"):
        await other.token()  # fetched with its own secret, which the fake refuses
    for api in (mine, other):
        await api.client.aclose()
