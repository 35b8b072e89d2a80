"""Webhook mode with workers: Telegram posts to one process, two processes answer.

Two `complaint-bot run` in webhook mode with `telegram.workers: 2` on one PostgreSQL database,
as real processes. The fake Bot API posts every update to process a (as a load balancer with a
sticky target may); a keeps each in the inbox, and both processes take people from it. Each
person sends three commands at once, without waiting for an answer: each must be answered once,
in the order sent, and both processes must have answered some of them.
"""

from __future__ import annotations

import re
from pathlib import Path

from bot_cluster import LEADS, STANDBY, Cluster
from bot_process import BotProcess
from fake_telegram import FakeBotAPI, FakeBotAPIServer, WebhookPusher
from test_serve_leader import START, until
from test_webhook_failover import LISTENING, SECRET, URL, free_port, idle

PEOPLE = 8
# What each person sends, and a piece of its answer found in no other answer of the three.
SAID = [("/help", "/cases"), ("/cases", "你还没有提交过投诉"), ("/start", START)]
HANDED_ON = re.compile(r"inbox telegram, shared: .* (\d+) updates handed on")


def answers(fake: FakeBotAPI, chat_id: int) -> list[str]:
    """Return which command each message sent to `chat_id` answers, in the order sent."""
    said = []
    for call in fake.calls("sendMessage"):
        if call.ok and str(call.params.get("chat_id")) == str(chat_id):
            text = str(call.params.get("text", ""))
            said += [command for command, piece in SAID if piece in text]
    return said


def handed_on(bot: BotProcess) -> int:
    """Return how many updates the process's inbox handed on, as it logged when it stopped."""
    found = HANDED_ON.findall(bot.log.read_text(errors="replace"))
    assert found, f"{bot.folder.name} did not log its inbox's work"
    return int(found[-1])


async def test_updates_posted_to_one_process_are_answered_by_both_once_in_order(
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
                "COMPLAINT_BOT_TELEGRAM__WORKERS": "2",
                "COMPLAINT_BOT_TELEGRAM__MODE": "webhook",
                "COMPLAINT_BOT_TELEGRAM__WEBHOOK_URL": URL,
                "TELEGRAM_WEBHOOK_SECRET": SECRET,
                "COMPLAINT_BOT_HTTP__LISTEN": f"127.0.0.1:{port}",
            }
            bots[name] = BotProcess(fake, server, tmp_path / name, env=env)

        def started(bot: BotProcess) -> bool:
            roles = Cluster.said(bot, LEADS) + Cluster.said(bot, STANDBY)
            return roles == 1 and Cluster.said(bot, LISTENING) == 1

        try:
            for bot in bots.values():
                await bot.spawn()
            await until("both listening", lambda: all(map(started, bots.values())), wait=60)
            async with WebhookPusher(fake, target=f"http://127.0.0.1:{ports['a']}") as pushed:
                people = [fake.add_user(f"P{i}") for i in range(PEOPLE)]
                for person in people:
                    for command, _ in SAID:
                        person.send_command(command)
                await until(
                    "every command answered",
                    lambda: all(len(answers(fake, p.id)) >= len(SAID) for p in people),
                    wait=60,
                )
                await until("replies noted sent", lambda: idle(pg_url))
            for bot in bots.values():
                await bot.stop()

            assert {p.status for p in pushed.pushes} == {200}
            expected = [command for command, _ in SAID]
            assert {p.first_name: answers(fake, p.id) for p in people} == {
                p.first_name: expected for p in people
            }
            counts = {name: handed_on(bot) for name, bot in bots.items()}
            assert sum(counts.values()) == PEOPLE * len(SAID), counts
            assert all(counts.values()), f"one process answered everybody: {counts}"
            for bot in bots.values():
                log = bot.log.read_text(errors="replace")
                assert "Traceback" not in log, log[-3000:]
        finally:
            for bot in bots.values():
                await bot.kill()
