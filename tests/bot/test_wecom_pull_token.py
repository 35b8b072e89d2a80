"""After a restart, WeChat's pulls are not refused: the last callback token is kept and used again.

WeCom refuses more than about 10 pulls a minute made without a callback token (45009), and a
token is good for 10 minutes. After quick restarts the first pull (no callback yet) used to be
refused, so what a crash had left (a turn kept and not sent, messages pulled and not answered)
waited for retries, or for the person to write again. Each test exhausts the untokened pulls
first, as quick restarts do, and checks what the person reads once the bot is back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from crash_checks import FILED
from test_wecom_resend import died_with_the_turn_kept, restart
from wecom_chat import WecomBot, quick_bot


@pytest.fixture
async def bot(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[WecomBot]:
    """A bot on SQLite, or on PostgreSQL for a test parametrized with "postgres"."""
    async with quick_bot(tmp_path, request) as running:
        yield running


def refuse_untokened_pulls(bot: WecomBot) -> None:
    """Use up WeCom's untokened pulls for the coming minute (as quick restarts do)."""
    bot.fake.untokened = [bot.clock.now()] * 10


@pytest.mark.parametrize("bot", ["sqlite", "postgres"], indirect=True)
async def test_a_turn_kept_before_a_restart_goes_out_though_untokened_pulls_are_refused(
    bot: WecomBot,
) -> None:
    person = (await died_with_the_turn_kept(bot)).person
    called_back = bot.clock.now()
    bot.clock.advance(timedelta(minutes=8))  # the person's last callback token is 8 min old
    refuse_untokened_pulls(bot)
    await restart(bot)
    read = [m.shown for m in person.new()]
    assert read and FILED.search(read[0]), read
    assert "姓名" in read[-1]  # then the next question
    assert bot.fake.refusals == []
    # Used again, the token keeps the time it came: it is not trusted past its 10 minutes.
    assert bot.messenger is not None
    kfid = bot.fake.open_kfids[0]
    assert await bot.messenger.state.pull_token(kfid, called_back) is not None
    assert await bot.messenger.state.pull_token(kfid, called_back + timedelta(minutes=1)) is None


async def test_a_token_older_than_its_life_is_not_used(bot: WecomBot) -> None:
    person = (await died_with_the_turn_kept(bot)).person
    bot.clock.advance(timedelta(minutes=9, seconds=30))  # WeCom takes it for 30 s more
    refuse_untokened_pulls(bot)
    await restart(bot)
    # Too old to trust: the pull goes without it, is refused, and tries again in 2 s.
    assert person.new() == []
    bot.clock.advance(timedelta(minutes=1))
    await bot.settle()
    read = [m.shown for m in person.new()]
    assert read and FILED.search(read[0]), read


async def test_a_kept_token_wecom_refuses_is_dropped_for_a_pull_without_one(
    bot: WecomBot,
) -> None:
    person = (await died_with_the_turn_kept(bot)).person
    bot.fake.callback_tokens.clear()  # WeCom no longer takes the token kept (95007)
    await restart(bot)
    read = [m.shown for m in person.new()]
    assert read and FILED.search(read[0]), read
    assert bot.fake.refusals == []
