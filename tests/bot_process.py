"""A bot as a child process on a fake messenger API: started, killed, restarted.

`BotProcess` runs `complaint-bot run` on the fake Bot API; `ChildProcess` is what any bot
process shares (the WeChat crash test runs `complaint-bot serve` with it).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from fake_telegram import FakeBotAPI, FakeBotAPIServer

RUN = (sys.executable, "-m", "bot", "run")
SERVE = (sys.executable, "-m", "bot", "serve")


class ChildProcess:
    """One bot process (and its restarts) on a data folder, logging to `folder/log_name`.

    `calls` counts the calls the fake API has recorded so far: a call at index i was made by
    the process of the last mark <= i (the one before is dead by then).
    """

    def __init__(
        self,
        folder: Path,
        *,
        command: Sequence[str],
        env: dict[str, str],
        calls: Callable[[], int],
        log_name: str = "bot.log",
    ) -> None:
        self.folder = folder
        self.command = tuple(command)
        self.log = folder / log_name
        self.env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("TELEGRAM_", "COMPLAINT_BOT_", "WECOM_"))
            },
            "COMPLAINT_BOT_STORAGE__DB_PATH": str(folder / "bot.sqlite3"),
            "COMPLAINT_BOT_STORAGE__DATA_DIR": str(folder / "data"),
            "COMPLAINT_BOT_LOG_LEVEL": "INFO",
            **env,
        }
        self._calls = calls
        self.process: asyncio.subprocess.Process | None = None
        self.up = asyncio.Event()  # set while a started bot is taking messages
        self.kills = 0
        self.starts = 0
        self.starting_time = 0.0  # seconds from spawning to ready, summed
        self.marks: list[int] = []

    @property
    def db_path(self) -> Path:
        return Path(self.env["COMPLAINT_BOT_STORAGE__DB_PATH"])

    async def spawn(self) -> None:
        self.marks.append(self._calls())
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                *self.command, cwd=self.folder, env=self.env, stdout=log, stderr=log
            )
        self.starts += 1

    async def ready(self) -> None:
        """Wait until the spawned process takes messages (raise if it exits first)."""
        raise NotImplementedError

    async def start(self) -> None:
        """Spawn the bot and wait until it takes messages."""
        began = asyncio.get_running_loop().time()
        await self.spawn()
        await self.ready()
        assert not self.exited, f"the bot exited: {self.log.read_text()[-3000:]}"
        self.starting_time += asyncio.get_running_loop().time() - began
        self.up.set()

    @property
    def exited(self) -> bool:
        return self.process is None or self.process.returncode is not None

    async def wait(self) -> int:
        """Wait for the process to end; return its exit status."""
        assert self.process is not None
        return await self.process.wait()

    async def kill(self) -> None:
        """SIGKILL the process, if running, and wait until it is gone."""
        self.up.clear()
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            self.kills += 1
        if self.process is not None:
            await self.process.wait()

    async def stop(self) -> None:
        """Stop the process as systemd would (SIGTERM, then SIGKILL after 15 s)."""
        self.up.clear()
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 15)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


class BotProcess(ChildProcess):
    """`complaint-bot run` on the fake Bot API served over HTTP."""

    def __init__(
        self,
        fake: FakeBotAPI,
        server: FakeBotAPIServer,
        folder: Path,
        *,
        command: Sequence[str] = RUN,
        env: dict[str, str] | None = None,
        log_name: str = "bot.log",
    ) -> None:
        self.fake = fake
        super().__init__(
            folder,
            command=command,
            env={
                "TELEGRAM_BOT_TOKEN": fake.token,
                "COMPLAINT_BOT_TELEGRAM__BASE_URL": server.base_url,
                "COMPLAINT_BOT_TELEGRAM__BASE_FILE_URL": server.base_file_url,
                "COMPLAINT_BOT_TELEGRAM__ALBUM_WAIT": "0.2",
                "COMPLAINT_BOT_TELEGRAM__FORWARD_WAIT": "0.2",
                **(env or {}),
            },
            calls=lambda: len(fake.calls()),
            log_name=log_name,
        )

    async def start(self) -> None:
        """Spawn the bot and wait until it polls for updates."""
        self._polls = len(self.fake.calls("getUpdates"))
        await super().start()

    async def ready(self) -> None:
        """Wait until the spawned bot polls for updates."""
        await self.fake.wait_until(
            lambda: len(self.fake.calls("getUpdates")) > self._polls or self.exited,
            timeout=30,
            description="the bot to start polling",
        )


@asynccontextmanager
async def bot_process(fake: FakeBotAPI, folder: Path) -> AsyncIterator[BotProcess]:
    """Serve the fake Bot API over HTTP and give a bot process on `folder`, killed at the end."""
    async with FakeBotAPIServer(fake) as server:
        bot = BotProcess(fake, server, folder)
        try:
            yield bot
        finally:
            await bot.kill()
