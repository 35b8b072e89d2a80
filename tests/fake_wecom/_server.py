"""The fake WeCom served over HTTP on 127.0.0.1, for a bot that runs as its own process."""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType

import uvicorn

from ._api import FakeWecom


class FakeWecomServer:
    """``async with FakeWecomServer(fake) as server:`` then point the bot at ``server.api_base``."""

    def __init__(self, fake: FakeWecom, *, host: str = "127.0.0.1") -> None:
        self.fake = fake
        self.host = host
        config = uvicorn.Config(
            fake.app, host=host, port=0, log_config=None, lifespan="off", access_log=False
        )
        self._server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        return int(self._server.servers[0].sockets[0].getsockname()[1])

    @property
    def api_base(self) -> str:
        return f"http://{self.host}:{self.port}/cgi-bin"

    async def __aenter__(self) -> FakeWecomServer:
        self._task = asyncio.create_task(self._server.serve(), name="fake-wecom")
        while not self._server.started:
            if self._task.done():
                await self._task
                raise RuntimeError("the fake WeCom could not listen")
            await asyncio.sleep(0.01)
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._server.should_exit = True
        if self.fake.sync_gate is not None:
            self.fake.sync_gate.set()  # let held requests end, or shutdown waits for them
        if self.fake.media_gate is not None:
            self.fake.media_gate.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
