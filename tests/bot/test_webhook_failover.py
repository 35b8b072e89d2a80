"""Two `complaint-bot run` in webhook mode on one PostgreSQL database, as two real processes.

Telegram (the fake Bot API, served over HTTP) posts every update to the standby, as a load
balancer may. The leader answers it, once; then the leader is killed with SIGKILL, and what is
posted next is kept by the survivor, which takes over and answers it. WEBHOOK_FAILOVER_KILLS
(default 1) kills the leader that many times, the killed one restarted as the standby, and
prints each time from SIGKILL to the answer. The in-process version, with WeChat and
reminders, is test_serve_leader.py.
"""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

import psycopg
from bot_cluster import LEADS, STANDBY, Cluster
from bot_process import BotProcess
from fake_telegram import FakeBotAPI, FakeBotAPIServer, WebhookPusher
from telegram_chat import Chat
from test_serve_leader import START, texts_to, until

URL = "https://bot.example.com/telegram/hook"
SECRET = "failover-webhook-secret_01"
LISTENING = "Telegram bot listening on"
KILLS = int(os.environ.get("WEBHOOK_FAILOVER_KILLS", "1"))


def idle(url: str) -> bool:
    """Return whether no update waits to be handled and no reply to be sent."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM inbox WHERE done_at IS NULL)"
            " + (SELECT count(*) FROM outbox)"
        ).fetchone()
    return row is not None and row[0] == 0


def free_port() -> int:
    """Return a port nobody listens on now (the bot binds it a moment later)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_the_standby_keeps_what_is_posted_and_answers_once_the_leader_is_killed(
    tmp_path: Path, pg_url: str
) -> None:
    fake = FakeBotAPI()
    ports = {"a": free_port(), "b": free_port()}
    takeovers: list[float] = []
    async with FakeBotAPIServer(fake) as server:
        bots: dict[str, BotProcess] = {}
        for name, port in ports.items():
            (tmp_path / name).mkdir()
            env = {
                "COMPLAINT_BOT_STORAGE__URL": pg_url,
                "COMPLAINT_BOT_TELEGRAM__MODE": "webhook",
                "COMPLAINT_BOT_TELEGRAM__WEBHOOK_URL": URL,
                "TELEGRAM_WEBHOOK_SECRET": SECRET,
                "COMPLAINT_BOT_HTTP__LISTEN": f"127.0.0.1:{port}",
            }
            bots[name] = BotProcess(fake, server, tmp_path / name, env=env)

        def said(name: str) -> tuple[int, int, int]:
            bot = bots[name]
            return (
                Cluster.said(bot, LEADS),
                Cluster.said(bot, STANDBY),
                Cluster.said(bot, LISTENING),
            )

        try:
            for bot in bots.values():
                await bot.spawn()
            await until(
                "a leader and a standby, both listening",
                lambda: sorted(said(name) for name in bots) == [(0, 1, 1), (1, 0, 1)],
                wait=60,
            )
            leader = next(name for name in bots if said(name)[0])
            async with WebhookPusher(fake, target="http://127.0.0.1:1") as pushed:
                bob = Chat(fake, fake.add_user("Bob"))
                for kill in range(KILLS):
                    standby = next(name for name in bots if name != leader)
                    pushed.target = f"http://127.0.0.1:{ports[standby]}"
                    if kill == 0:
                        await bob.say("/start", START)  # posted to the standby, led here
                    # Killed between sending a reply and noting it sent, a leader leaves it
                    # to be sent again (the outbox's crash window): kill it once all is noted.
                    await until("the leader to note its replies sent", lambda: idle(pg_url))
                    terms = said(standby)[0]
                    await bots[leader].kill()
                    killed_at = asyncio.get_running_loop().time()
                    bob.user.send_command("/help")
                    await bob.expect("/cases", timeout=30)
                    takeovers.append(asyncio.get_running_loop().time() - killed_at)
                    assert said(standby)[0] == terms + 1
                    if kill + 1 < KILLS:  # the killed one comes back as the standby
                        before = said(leader)
                        await bots[leader].spawn()
                        await until(
                            "the restarted process to stand by",
                            lambda n=leader, b=before: said(n)[1:] == (b[1] + 1, b[2] + 1),
                            wait=60,
                        )
                    leader = standby
            assert texts_to(fake, bob.user.id, START) == 1
            assert texts_to(fake, bob.user.id, "/cases") == KILLS
            assert pushed.pushes and {p.status for p in pushed.pushes} == {200}
        finally:
            for bot in bots.values():
                await bot.stop()
    print(f"webhook failover, {KILLS} kills: seconds from SIGKILL to the answer", takeovers)
    for bot in bots.values():
        log = bot.log.read_text()
        assert "Traceback" not in log, log[-3000:]
