"""``InProcessRequest``: a PTB ``BaseRequest`` that hands requests to a FakeBotAPI directly.

It decodes ``RequestData`` the way the server sees an httpx request from PTB: every parameter as
its ``json_parameters`` string (strings raw, everything else JSON-encoded), uploads as multipart
parts named by ``attach_name`` or the parameter name, and GETs of ``base_file_url/<token>/<path>``
served as file downloads. Timeouts behave like httpx: a request that outlives its read timeout
raises ``telegram.error.TimedOut``.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from telegram._utils.defaultvalue import DefaultValue
from telegram.error import TimedOut
from telegram.request import BaseRequest, RequestData

from ._http import UploadedFile, parse_query

if TYPE_CHECKING:
    from telegram._utils.types import ODVInput

    from ._api import FakeBotAPI

__all__ = ["InProcessRequest"]


class InProcessRequest(BaseRequest):
    """Routes PTB's HTTP requests to ``api`` without sockets.

    Use one instance for ``request`` and another for ``get_updates_request`` (PTB requires two
    objects); ``FakeBotAPI.application_builder()`` does that for you.
    """

    __slots__ = ("_api", "_initialized", "_latency", "_read_timeout")

    def __init__(
        self, api: FakeBotAPI, *, latency: float = 0.0, read_timeout: float | None = 5.0
    ) -> None:
        self._api = api
        self._latency = latency
        self._read_timeout = read_timeout
        self._initialized = False

    @property
    def api(self) -> FakeBotAPI:
        return self._api

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        self._initialized = True

    async def shutdown(self) -> None:
        self._initialized = False

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if not self._initialized:
            # same contract as HTTPXRequest: PTB wraps this into a NetworkError
            raise RuntimeError("This InProcessRequest is not initialized!")
        timeout = self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout

        parts = urlsplit(url)
        params: dict[str, Any] = dict(parse_query(parts.query))
        files: dict[str, UploadedFile] = {}
        if request_data is not None:
            params.update(request_data.json_parameters)
            for name, (filename, content, mimetype) in request_data.multipart_data.items():
                data = content if isinstance(content, bytes) else content.read()
                files[name] = UploadedFile(filename, data, mimetype)

        async def exchange() -> tuple[int, bytes]:
            # a real request always yields to the loop at least once
            await asyncio.sleep(self._latency)
            response = await self._api.dispatch(method, parts.path, params, files)
            return response.status, response.body

        try:
            return await asyncio.wait_for(exchange(), timeout)
        except TimeoutError as exc:
            raise TimedOut from exc
