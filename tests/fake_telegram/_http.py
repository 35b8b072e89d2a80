"""HTTP-level pieces shared by the in-process transport and the loopback server.

Everything here mirrors what the real Bot API server does with a request before the method
runs: split the URL into token + method (or token + file path), read the parameters from the
query string and from a JSON, url-encoded or multipart body, and turn each parameter's string
value into the type the method expects.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

JSON = dict[str, Any]

__all__ = [
    "ApiError",
    "HttpResponse",
    "UploadedFile",
    "decode_params",
    "error_response",
    "json_response",
    "parse_body",
    "parse_query",
    "split_path",
]


@dataclass(frozen=True)
class UploadedFile:
    """One multipart file part as the server received it."""

    filename: str
    content: bytes
    content_type: str


@dataclass(frozen=True)
class HttpResponse:
    """What the server answers: status code, body and its content type."""

    status: int
    body: bytes
    content_type: str = "application/json"

    def json(self) -> JSON:
        """The body decoded as JSON (raises ``ValueError`` for non-JSON bodies)."""
        decoded = json.loads(self.body)
        if not isinstance(decoded, dict):
            raise ValueError("response body is not a JSON object")
        return decoded


class ApiError(Exception):
    """Raised by method implementations; becomes ``{"ok": false, ...}`` on the wire."""

    def __init__(
        self, status: int, description: str, parameters: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {description}")
        self.status = status
        self.description = description
        self.parameters = dict(parameters) if parameters else None

    @classmethod
    def bad_request(cls, detail: str) -> ApiError:
        return cls(400, f"Bad Request: {detail}")


def json_response(status: int, payload: Mapping[str, Any]) -> HttpResponse:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return HttpResponse(status, body)


_NGINX_STATUSES = {502: "Bad Gateway", 504: "Gateway Time-out"}


def error_response(
    status: int, description: str, parameters: Mapping[str, Any] | None = None
) -> HttpResponse:
    """An error answer exactly as Telegram sends it.

    502/504 come from Telegram's nginx front end, so they are an HTML page, not JSON.
    """
    if status in _NGINX_STATUSES:
        title = f"{status} {_NGINX_STATUSES[status]}"
        html = (
            f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
            "</body>\r\n</html>\r\n"
        )
        return HttpResponse(status, html.encode(), "text/html")
    payload: JSON = {"ok": False, "error_code": status, "description": description}
    if parameters:
        payload["parameters"] = dict(parameters)
    return json_response(status, payload)


# ------------------------------------------------------------------------------------- routing

_FILE_RE = re.compile(r"^(?:.*?)/file/bot(?P<token>[^/]+)/(?P<path>.+)$")
_METHOD_RE = re.compile(r"^(?:.*?)/bot(?P<token>[^/]+)/(?P<method>[^/]*)/?$")


def split_path(path: str) -> tuple[str, str, str] | None:
    """``("method", token, method)`` or ``("file", token, file_path)``; ``None`` if neither."""
    path = unquote(path)
    match = _FILE_RE.match(path)
    if match:
        return "file", match["token"], match["path"]
    match = _METHOD_RE.match(path)
    if match:
        return "method", match["token"], match["method"]
    return None


# ---------------------------------------------------------------------------------- body parsing


def parse_query(query: str) -> dict[str, str]:
    return dict(parse_qsl(query, keep_blank_values=True))


def _header_params(value: str) -> tuple[str, dict[str, str]]:
    """Split ``type/sub; a="b"; c=d`` into the main value and its parameters."""
    main, _, rest = value.partition(";")
    params: dict[str, str] = {}
    for match in re.finditer(
        r"""\s*([A-Za-z0-9_*-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)\s*;?""", rest
    ):
        key = match.group(1).lower()
        raw = match.group(2).strip()
        if raw.startswith('"') and raw.endswith('"'):
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        if key.endswith("*"):  # RFC 5987: utf-8''percent-encoded
            charset, _, encoded = raw.partition("''")
            raw = unquote(encoded, encoding=charset or "utf-8")
            key = key[:-1]
        params[key] = raw
    return main.strip().lower(), params


def _parse_multipart(body: bytes, boundary: str) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    fields: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    delimiter = b"\r\n--" + boundary.encode("latin-1")
    chunks = (b"\r\n" + body).split(delimiter)
    if len(chunks) < 2:
        raise ApiError.bad_request("invalid multipart/form-data body")
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break  # closing delimiter
        chunk = chunk.removeprefix(b"\r\n")
        raw_headers, separator, content = chunk.partition(b"\r\n\r\n")
        if not separator:
            raise ApiError.bad_request("invalid multipart/form-data part")
        headers: dict[str, str] = {}
        for line in raw_headers.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        _, disposition = _header_params(headers.get("content-disposition", ""))
        name = disposition.get("name")
        if name is None:
            continue
        if "filename" in disposition:
            content_type = headers.get("content-type", "application/octet-stream")
            files[name] = UploadedFile(disposition["filename"], content, content_type)
        else:
            fields[name] = content.decode("utf-8")
    return fields, files


def parse_body(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Parameters and files from a request body, for the content types Telegram accepts."""
    if not body:
        return {}, {}
    main, params = _header_params(content_type)
    if main == "application/json":
        try:
            decoded = json.loads(body)
        except ValueError as exc:
            raise ApiError.bad_request("can't parse JSON encoded request parameters") from exc
        if not isinstance(decoded, dict):
            raise ApiError.bad_request("can't parse JSON encoded request parameters")
        return decoded, {}
    if main == "multipart/form-data":
        boundary = params.get("boundary")
        if not boundary:
            raise ApiError.bad_request("multipart/form-data without boundary")
        fields, files = _parse_multipart(body, boundary)
        return dict(fields), files
    # application/x-www-form-urlencoded (and, like Telegram, anything unlabelled)
    return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True)), {}


# ------------------------------------------------------------------------------ typed decoding

_JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "reply_parameters",
        "entities",
        "caption_entities",
        "allowed_updates",
        "commands",
        "scope",
        "link_preview_options",
        "media",
        "menu_button",
        "reaction",
        "message_ids",
        "results",
    }
)
_INT_PARAMS = frozenset(
    {
        "message_id",
        "offset",
        "limit",
        "timeout",
        "message_thread_id",
        "cache_time",
        "max_connections",
        "reply_to_message_id",
        "user_id",
        "duration",
        "width",
        "height",
        "until_date",
        "file_size",
    }
)
_CHAT_PARAMS = frozenset({"chat_id", "from_chat_id"})
_FLOAT_PARAMS = frozenset({"latitude", "longitude", "horizontal_accuracy"})
_BOOL_PARAMS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "show_alert",
        "drop_pending_updates",
        "allow_sending_without_reply",
        "disable_web_page_preview",
        "has_spoiler",
        "disable_content_type_detection",
        "allow_paid_broadcast",
        "show_caption_above_media",
        "revoke_messages",
    }
)
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off", ""})


def _decode_one(name: str, value: Any) -> Any:
    if name in _JSON_PARAMS:
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError as exc:
                what = "reply keyboard markup" if name == "reply_markup" else name
                raise ApiError.bad_request(f"can't parse {what} JSON object") from exc
        return value
    if name in _CHAT_PARAMS:
        if isinstance(value, bool):
            raise ApiError.bad_request("chat not found")
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if re.fullmatch(r"-?\d+", text):
            return int(text)
        return text  # "@channelusername"
    if name in _INT_PARAMS:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        try:
            return int(str(value).strip())
        except ValueError as exc:
            raise ApiError.bad_request(f"invalid {name} specified") from exc
    if name in _FLOAT_PARAMS:
        try:
            return float(value)
        except (TypeError, ValueError) as exc:
            raise ApiError.bad_request(f"invalid {name} specified") from exc
    if name in _BOOL_PARAMS:
        if isinstance(value, bool):
            return value
        lowered = str(value).strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ApiError.bad_request(f"invalid {name} specified")
    if isinstance(value, str | int | float | bool | list | dict) or value is None:
        return value
    return str(value)


def decode_params(raw: Mapping[str, Any]) -> JSON:
    """Typed parameters from string (form/multipart/query) or JSON-typed values."""
    return {name: _decode_one(name, value) for name, value in raw.items() if value is not None}
