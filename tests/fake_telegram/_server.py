"""``FakeBotAPIServer``: a FakeBotAPI served over real HTTP/1.1 on 127.0.0.1.

Standard library only (``asyncio.start_server`` + a small HTTP/1.1 parser): keep-alive,
Content-Length and chunked bodies, JSON / url-encoded / multipart requests, file downloads.
"""

from __future__ import annotations

import asyncio
import contextlib
from http import HTTPStatus
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlsplit

from ._http import ApiError, error_response, parse_body, parse_query

if TYPE_CHECKING:
    from telegram.ext import ApplicationBuilder

    from ._api import FakeBotAPI

__all__ = ["FakeBotAPIServer"]

_MAX_BODY = 60 * 1024 * 1024


class _BadHttpRequest(Exception):
    pass


class FakeBotAPIServer:
    """``async with FakeBotAPIServer(fake) as server:`` then point PTB at ``server.url``::

    ApplicationBuilder().token(fake.token)
        .base_url(f"{server.url}/bot").base_file_url(f"{server.url}/file/bot")
    """

    def __init__(self, api: FakeBotAPI, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.api = api
        self._host = host
        self._port = port
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self._stopping = False
        self.requests_served = 0

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("server not started")
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    def application_builder(self) -> ApplicationBuilder[Any, Any, Any, Any, Any, Any]:
        """``ApplicationBuilder`` with the fake's token and this server's URLs (real httpx)."""
        from telegram.ext import ApplicationBuilder

        return (
            ApplicationBuilder()
            .token(self.api.token)
            .base_url(self.base_url)
            .base_file_url(self.base_file_url)
        )

    async def start(self) -> None:
        self._stopping = False
        self._server = await asyncio.start_server(self._on_connection, self._host, self._port)

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping = True
        server.close()
        for task, writer in list(self._connections.items()):
            writer.close()
            task.cancel()
        for task in list(self._connections):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await server.wait_closed()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -------------------------------------------------------------------------- connections

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = writer
        try:
            while await self._serve_one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            # Only stop() cancels these tasks. Ending normally keeps Python 3.11's
            # start_server done-callback from logging the CancelledError as unhandled.
            if not self._stopping:
                raise
        finally:
            self._connections.pop(task, None)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        request_line = await reader.readline()
        if not request_line.strip():
            return False
        try:
            http_method, target, version = request_line.decode("latin-1").split()
        except ValueError:
            await self._write(writer, 400, b"bad request line", "text/plain", keep_alive=False)
            return False
        headers: dict[str, str] = {}
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        try:
            body = await self._read_body(reader, headers)
        except _BadHttpRequest as exc:
            await self._write(writer, 400, str(exc).encode(), "text/plain", keep_alive=False)
            return False

        keep_alive = (
            version.upper() == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        )
        parts = urlsplit(target)
        try:
            params, files = parse_body(headers.get("content-type", ""), body)
        except ApiError as exc:
            response = error_response(exc.status, exc.description)
        else:
            merged = {**parse_query(parts.query), **params}
            response = await self.api.dispatch(http_method, parts.path, merged, files)
        self.requests_served += 1
        payload = b"" if http_method.upper() == "HEAD" else response.body
        await self._write(
            writer,
            response.status,
            payload,
            response.content_type,
            keep_alive=keep_alive,
            content_length=len(response.body),
        )
        return keep_alive

    @staticmethod
    async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            total = 0
            while True:
                size_line = await reader.readline()
                try:
                    size = int(size_line.split(b";")[0].strip(), 16)
                except ValueError as exc:
                    raise _BadHttpRequest("bad chunk size") from exc
                if size == 0:
                    while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                total += size
                if total > _MAX_BODY:
                    raise _BadHttpRequest("body too large")
                chunks.append(await reader.readexactly(size))
                await reader.readexactly(2)
        length = int(headers.get("content-length", "0") or 0)
        if length > _MAX_BODY:
            raise _BadHttpRequest("body too large")
        return await reader.readexactly(length) if length else b""

    @staticmethod
    async def _write(
        writer: asyncio.StreamWriter,
        status: int,
        body: bytes,
        content_type: str,
        *,
        keep_alive: bool,
        content_length: int | None = None,
    ) -> None:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Unknown"
        head = (
            f"HTTP/1.1 {status} {phrase}\r\n"
            "Server: fake-telegram-bot-api\r\n"
            f"Content-Type: {content_type}\r\n"
            f"Content-Length: {len(body) if content_length is None else content_length}\r\n"
            f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n"
            "\r\n"
        )
        writer.write(head.encode("latin-1") + body)
        await writer.drain()
