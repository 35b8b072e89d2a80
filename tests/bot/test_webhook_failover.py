"""Two `complaint-bot run` in webhook mode on one PostgreSQL database, as two real processes.

Telegram (the fake Bot API, served over HTTP) posts every update to the standby, as a load
balancer may. The leader answers it, once; then the leader is killed with SIGKILL, and what is
posted next is kept by the survivor, which takes over and answers it. The in-process version,
with WeChat and reminders, is test_serve_leader.py.
"""

from __future__ import annotations

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
        try:
            for bot in bots.values():
                await bot.spawn()
            await until(
                "a leader and a standby, both listening",
                lambda: (
                    sorted(
                        (
                            Cluster.said(b, LEADS),
                            Cluster.said(b, STANDBY),
                            Cluster.said(b, LISTENING),
                        )
                        for b in bots.values()
                    )
                    == [(0, 1, 1), (1, 0, 1)]
                ),
                wait=60,
            )
            leader = next(n for n, b in bots.items() if Cluster.said(b, LEADS))
            standby = next(n for n in bots if n != leader)
            target = f"http://127.0.0.1:{ports[standby]}"
            async with WebhookPusher(fake, target=target) as pushed:
                bob = Chat(fake, fake.add_user("Bob"))
                await bob.say("/start", START)
                # Killed between sending a reply and noting it sent, a leader leaves it to be
                # sent again (the outbox's crash window): kill it once it noted everything.
                await until("the leader to note its replies sent", lambda: idle(pg_url), wait=30)
                await bots[leader].kill()
                bob.user.send_command("/help")
                await bob.expect("/cases", timeout=30)
                assert Cluster.said(bots[standby], LEADS) == 1
            assert texts_to(fake, bob.user.id, START) == 1
            assert texts_to(fake, bob.user.id, "/cases") == 1
            assert pushed.pushes and {p.status for p in pushed.pushes} == {200}
        finally:
            for bot in bots.values():
                await bot.stop()
    log = bots[standby].log.read_text()
    assert "Traceback" not in log, log[-3000:]
