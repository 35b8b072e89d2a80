"""The HTTP server (Starlette on uvicorn) that messengers' routes are served by, with /healthz.

It knows no messenger: the app hands it a list of routes (WeChat's callback URL, a Telegram
webhook...) and the `host:port` to listen on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.config import ConfigError

log = logging.getLogger(__name__)


async def healthz(request: Request) -> Response:
    """Say the process is up (for a load balancer or a monitor)."""
    return PlainTextResponse("ok")


def build_app(routes: list[BaseRoute]) -> Starlette:
    """Return the ASGI app: the messengers' routes and /healthz."""
    return Starlette(routes=[*routes, Route("/healthz", healthz)])


class HttpServer:
    """Serve routes on `listen` ("host:port"; port 0 picks a free one) until stopped."""

    def __init__(self, routes: list[BaseRoute], listen: str) -> None:
        host, _, port = listen.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(
                f"http.listen: expected host:port like 127.0.0.1:8080, got {listen!r}"
            )
        self.listen = listen
        config = uvicorn.Config(
            build_app(routes),
            host=host.strip("[]"),
            port=int(port),
            log_config=None,
            # One line per WeChat callback or Telegram post says nothing the bot's own log
            # does not; errors still come through uvicorn.error.
            access_log=False,
            lifespan="off",
        )
        self.server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start serving; return once the port is bound (ConfigError if it cannot be)."""
        self._task = asyncio.create_task(self.server.serve(), name="http")
        while not self.server.started:
            if self._task.done():
                with contextlib.suppress(SystemExit):  # uvicorn exits when it cannot bind
                    await self._task
                raise ConfigError(f"http.listen: could not listen on {self.listen}")
            await asyncio.sleep(0.01)

    @property
    def port(self) -> int:
        """Return the port bound (useful when http.listen asked for port 0)."""
        return int(self.server.servers[0].sockets[0].getsockname()[1])

    async def wait(self) -> None:
        """Run until the server stops (Ctrl-C or SIGTERM)."""
        if self._task is not None:
            await self._task

    async def stop(self) -> None:
        """Stop serving: finish the requests under way, then close the port."""
        self.server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
