"""Logs of the WeChat messenger at DEBUG: no corp secret, access token or callback key in them."""

from __future__ import annotations

import io
import logging
from pathlib import Path

from fake_wecom import AES_KEY
from wecom_chat import wecom_bot

from bot.logs import RedactingFilter


async def test_secrets_and_tokens_never_reach_the_log(tmp_path: Path) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        async with wecom_bot(tmp_path) as bot:
            alice = bot.customer()
            assert "遇到了什么问题" in await bot.say(alice, "/start")
            bot.callbacks.tamper = True  # a refused callback is logged
            await alice.send_text("伪造的")
            tokens = list(bot.fake.tokens)
            secret = bot.fake.secret
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    written = stream.getvalue()
    assert "kf/sync_msg" in written and "refused a callback" in written  # it did log
    assert tokens and all(token not in written for token in tokens)
    assert secret not in written
    assert AES_KEY not in written
