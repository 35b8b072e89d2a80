"""Two `complaint-bot run` processes on one PostgreSQL database: a leader and a standby.

Used by the failover test and the failover benchmark. Each process logs whether it leads or
stands by (bot/leader.py); this reads those lines to know which one to kill, and waits for the
standby to poll Telegram (the fake Bot API) once it has taken over.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from bot_process import BotProcess
from fake_telegram import FakeBotAPI, FakeBotAPIServer

LEADS = "leader: this process leads"
STANDBY = "standby: waiting for the leader"
WAIT = 60.0  # seconds, only so that a broken run ends


class Cluster:
    """Two bot processes on one database; `up` is set while one of them leads and polls."""

    def __init__(
        self,
        fake: FakeBotAPI,
        server: FakeBotAPIServer,
        folder: Path,
        url: str,
        env: dict[str, str] | None = None,
    ) -> None:
        env = {"COMPLAINT_BOT_STORAGE__URL": url, **(env or {})}
        self.fake = fake
        self.bots: list[BotProcess] = []
        for name in ("a", "b"):
            (folder / name).mkdir()
            self.bots.append(BotProcess(fake, server, folder / name, env=env, log_name="bot.log"))
        self.up = asyncio.Event()
        self.leader: BotProcess | None = None
        self.takeovers: list[float] = []  # seconds from a kill to the new leader's first poll
        self.standbys: dict[BotProcess, int] = {}  # restarted: how often it stood by before

    @staticmethod
    def said(bot: BotProcess, line: str) -> int:
        """Return how many times `bot`'s log has `line` (over all its starts)."""
        return bot.log.read_text(errors="replace").count(line) if bot.log.exists() else 0

    async def until(self, what: str, predicate: Callable[[], bool]) -> None:
        """Wait until `predicate()` holds, reading the logs every 50 ms."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while not predicate():
            assert loop.time() < deadline, f"TAKEOVER: timed out waiting for {what}"
            await asyncio.sleep(0.05)

    async def standing_by(self, bot: BotProcess, before: int) -> None:
        """Wait until `bot` (spawned after it had said STANDBY `before` times) stands by."""
        await self.until(
            "the new process to stand by",
            lambda: self.said(bot, STANDBY) > before or bot.exited,
        )
        assert not bot.exited, f"the standby exited: {bot.log.read_text()[-3000:]}"

    async def start_leader(self, bot: BotProcess, terms: int, since: float = 0.0) -> None:
        """Wait until `bot` leads (a new term past `terms`) and polls Telegram after `since`."""
        await self.until("the standby to lead", lambda: self.said(bot, LEADS) > terms)
        await self.fake.wait_until(lambda: self.polling_since(since), timeout=WAIT)
        self.leader = bot
        self.up.set()

    def polling_since(self, since: float) -> bool:
        """Return whether a process started polling after loop time `since`.

        A poll counts when it arrives: its answer may wait the whole long-poll timeout, and
        the first poll may arrive before the LEADS line is read. PTB deletes any webhook
        before it polls, and a dead process sends nothing, so a poll after a deleteWebhook
        made after the kill is the new leader's (not a request the dead one left in flight).
        """
        hooks = [call.at for call in self.fake.calls("deleteWebhook") if call.at >= since]
        return bool(hooks) and self.fake.polls_received(hooks[0]) > 0

    async def start(self) -> None:
        """Start both processes at once; wait until one leads and the other stands by."""
        for bot in self.bots:
            await bot.spawn()
        await self.until("a leader", lambda: any(self.said(b, LEADS) for b in self.bots))
        leader = next(b for b in self.bots if self.said(b, LEADS))
        await self.start_leader(leader, 0)

    async def kill_leader(
        self, *, restart: bool, then: Callable[[], object] = lambda: None
    ) -> None:
        """SIGKILL the leader, call `then`, wait until the standby polls; restart the dead one."""
        dead = self.leader
        assert dead is not None
        standby = next(b for b in self.bots if b is not dead)
        terms = self.said(standby, LEADS)
        self.up.clear()
        killed_at = asyncio.get_running_loop().time()
        await dead.kill()
        then()
        await self.start_leader(standby, terms, killed_at)
        self.takeovers.append(asyncio.get_running_loop().time() - killed_at)
        if restart:
            self.standbys[dead] = self.said(dead, STANDBY)
            await dead.spawn()

    async def ready(self) -> None:
        """Wait until the process that is not leading stands by."""
        standby = next(b for b in self.bots if b is not self.leader)
        await self.standing_by(standby, self.standbys.pop(standby, 0))

    async def stop(self) -> None:
        """Stop both processes as systemd would (SIGTERM)."""
        for bot in self.bots:
            await bot.stop()

    def kills(self) -> int:
        """Return how many times a process was killed."""
        return sum(bot.kills for bot in self.bots)
