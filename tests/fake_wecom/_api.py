"""The fake WeCom customer-service API: a Starlette app over a state machine that enforces the rules.

Rules enforced (a breach is recorded in `refusals` and answered as WeCom does):
- access tokens expire after 7,200 s on the test clock (42001); unknown ones give 40014;
- kf/sync_msg pages with a cursor and has_more, keeps 3 days of messages, and without a
  callback token (valid 10 minutes) allows 10 calls a minute (45009);
- kf/send_msg: 2,048 bytes of text (45002), msgmenu of at most 10 items (45098), ids of at
  most 64 bytes and labels of at most 128, head and tail of 1,024; a person who wrote more
  than 48 h ago, or was sent 5 messages since, gets nothing: the call succeeds and a
  msg_send_fail event (fail_type 4 or 6) follows, as the real API does;
- media: uploads kept 3 days (40007 after), files 20 MB, images 2 MB (larger ones reach the
  bot as a text notice, as WeCom does), downloads streamed with Content-Disposition;
- kf/send_msg_on_event: an enter_session event carries a welcome_code only when the person
  was neither greeted nor sent anything in the last 48 h; the code allows one text or menu
  message, once, within 20 s of the event (refused otherwise, and recorded in `refusals`).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

TOKEN_LIFE = timedelta(seconds=7200)
CALLBACK_TOKEN_LIFE = timedelta(minutes=10)
KEEP_MESSAGES = timedelta(days=3)
KEEP_MEDIA = timedelta(days=3)
WINDOW = timedelta(hours=48)
QUOTA = 5
MAX_TEXT = 2048
MAX_ITEMS = 10
MAX_FILE = 20 * 1024 * 1024
MAX_IMAGE = 2 * 1024 * 1024
UNTOKENED_PER_MINUTE = 10
WELCOME_CODE_LIFE = timedelta(seconds=20)
# The sources give the rules of a welcome_code, not the code WeCom answers when one is broken.
BAD_EVENT_CODE = 95016


@dataclass
class Refusal:
    """A send or call the fake refused, and why."""

    person: str
    reason: str
    body: dict[str, Any]


@dataclass
class Delivered:
    """A message WeChat showed the customer."""

    msgtype: str
    text: str = ""
    menu: list[tuple[str, str]] = field(default_factory=list)  # (id, label)
    file_name: str | None = None
    content: bytes = b""
    at: datetime | None = None
    call: int = -1  # index in FakeWecom.calls of the send_msg that delivered it

    @property
    def shown(self) -> str:
        """Return what the customer reads: the text, then the menu labels."""
        return "\n".join([self.text, *(label for _, label in self.menu)]).strip()


@dataclass
class _Media:
    name: str
    mime: str
    content: bytes
    at: datetime


@dataclass
class _Person:
    last_wrote: datetime | None = None
    sent_since: int = 0
    inbox: list[Delivered] = field(default_factory=list)
    state: int = 1  # service_state: 1 bot (API), 3 a human agent
    last_sent: datetime | None = None  # when the bot last sent them anything
    last_welcome: datetime | None = None  # when they were last greeted with a welcome_code


@dataclass
class _WelcomeCode:
    open_kfid: str
    person: str
    issued: datetime


class FakeWecom:
    """One corp with its customer-service accounts, its people and its rules."""

    def __init__(
        self,
        clock: Callable[[], datetime],
        *,
        corp_id: str = "wwfakecorp0001",
        secret: str = "fake-kf-secret-0123456789abcdef",
        open_kfids: tuple[str, ...] = ("wkFAKEKF0001",),
        page_size: int = 1000,
    ) -> None:
        self.clock = clock
        self.corp_id = corp_id
        self.secret = secret
        self.open_kfids = open_kfids
        self.page_size = page_size
        self.tokens: dict[str, datetime] = {}
        self.callback_tokens: dict[str, datetime] = {}
        self.messages: dict[str, list[dict[str, Any]]] = {k: [] for k in open_kfids}
        self.media: dict[str, _Media] = {}
        self.people: dict[str, _Person] = {}
        self.refusals: list[Refusal] = []
        self.calls: list[str] = []
        self.untokened: list[datetime] = []
        self.failures: dict[str, list[int]] = {}  # path -> HTTP statuses to answer next
        self.sync_gate: asyncio.Event | None = None  # set: sync_msg waits until it is set
        self.welcome_codes: dict[str, _WelcomeCode] = {}  # issued and not yet used
        self.media_gate: asyncio.Event | None = None  # set: media/get waits until it is set
        self.pulled: list[str] = []  # msgid of every message sync_msg handed out, in order
        self._ids = itertools.count(1)
        self.app = Starlette(
            routes=[
                Route("/cgi-bin/gettoken", self._gettoken, methods=["GET"]),
                Route("/cgi-bin/kf/sync_msg", self._sync_msg, methods=["POST"]),
                Route("/cgi-bin/kf/send_msg", self._send_msg, methods=["POST"]),
                Route("/cgi-bin/kf/send_msg_on_event", self._send_on_event, methods=["POST"]),
                Route("/cgi-bin/media/upload", self._upload, methods=["POST"]),
                Route("/cgi-bin/media/get", self._media_get, methods=["GET"]),
                Route("/cgi-bin/kf/add_contact_way", self._contact_way, methods=["POST"]),
                Route("/cgi-bin/kf/account/list", self._accounts, methods=["POST"]),
                Route("/cgi-bin/kf/service_state/get", self._state, methods=["POST"]),
            ]
        )

    # --------------------------------------------------------------------- test controls

    def person(self, external_userid: str) -> _Person:
        return self.people.setdefault(external_userid, _Person())

    def fail_next(self, path: str, *statuses: int) -> None:
        """Answer the next calls of `path` (e.g. "kf/sync_msg") with these HTTP statuses."""
        self.failures.setdefault(path, []).extend(statuses)

    def new_callback_token(self) -> str:
        token = "ENC" + secrets.token_urlsafe(24)
        self.callback_tokens[token] = self.clock() + CALLBACK_TOKEN_LIFE
        return token

    def add_media(self, name: str, mime: str, content: bytes) -> str:
        media_id = f"media{next(self._ids)}_{secrets.token_hex(8)}"
        self.media[media_id] = _Media(name, mime, content, self.clock())
        return media_id

    def customer_wrote(self, open_kfid: str, person: str, message: dict[str, Any]) -> None:
        """Queue a message from the customer for sync_msg, and open their window."""
        now = self.clock()
        body = {
            "msgid": f"from_msgid_{next(self._ids)}_{secrets.token_hex(4)}",
            "open_kfid": open_kfid,
            "external_userid": person,
            "send_time": int(now.timestamp()),
            "origin": 3,
            **message,
        }
        self.messages[open_kfid].append(body)
        if message.get("msgtype") != "event":
            state = self.person(person)
            state.last_wrote, state.sent_since = now, 0

    def expire_media(self, media_id: str) -> None:
        """Age a file past the 3 days WeCom keeps it (media/get then answers 40007)."""
        self.media[media_id].at -= KEEP_MEDIA + timedelta(seconds=1)

    def event(self, open_kfid: str, person: str, event: dict[str, Any]) -> None:
        """Queue an event (enter_session, msg_send_fail) for sync_msg.

        enter_session gets a welcome_code when WeCom would give one (see the module's rules).
        """
        if event.get("event_type") == "enter_session" and "welcome_code" not in event:
            now, state = self.clock(), self.person(person)
            recent = [t for t in (state.last_sent, state.last_welcome) if t is not None]
            if all(now - t > WINDOW for t in recent):
                code = "WELCOME" + secrets.token_urlsafe(16)
                self.welcome_codes[code] = _WelcomeCode(open_kfid, person, now)
                event = {**event, "welcome_code": code}
        self.messages[open_kfid].append(
            {
                "msgid": f"event_{next(self._ids)}",
                "send_time": int(self.clock().timestamp()),
                "origin": 4,
                "msgtype": "event",
                "event": {"open_kfid": open_kfid, "external_userid": person, **event},
            }
        )

    def redeliver(self, open_kfid: str, msgids: list[str]) -> None:
        """Hand these messages out again (same msgid and body) after everything pulled so far."""
        by_id = {m["msgid"]: m for m in self.messages[open_kfid]}
        self.messages[open_kfid] += [dict(by_id[m]) for m in msgids]

    # --------------------------------------------------------------------- the API

    def _fault(self, path: str) -> Response | None:
        statuses = self.failures.get(path)
        if statuses:
            return Response("upstream trouble", status_code=statuses.pop(0))
        return None

    def _token_error(self, request: Request) -> JSONResponse | None:
        token = request.query_params.get("access_token", "")
        expires = self.tokens.get(token)
        if expires is None:
            return _error(40014, "invalid access_token")
        if self.clock() >= expires:
            return _error(42001, "access_token expired")
        return None

    async def _gettoken(self, request: Request) -> Response:
        self.calls.append("gettoken")
        if (fault := self._fault("gettoken")) is not None:
            return fault
        q = request.query_params
        if q.get("corpid") != self.corp_id:
            return _error(40013, "invalid corpid")
        if q.get("corpsecret") != self.secret:
            return _error(40001, "invalid credential")
        token = secrets.token_urlsafe(48)
        self.tokens[token] = self.clock() + TOKEN_LIFE
        return _ok(access_token=token, expires_in=int(TOKEN_LIFE.total_seconds()))

    async def _sync_msg(self, request: Request) -> Response:
        self.calls.append("kf/sync_msg")
        if self.sync_gate is not None:
            await self.sync_gate.wait()
        if (fault := self._fault("kf/sync_msg")) is not None:
            return fault
        if (error := self._token_error(request)) is not None:
            return error
        body = await request.json()
        now = self.clock()
        token = body.get("token")
        if token:
            if self.callback_tokens.get(token, now) <= now:
                return _error(95007, "invalid msg token")
        else:
            self.untokened = [t for t in self.untokened if now - t < timedelta(minutes=1)]
            if len(self.untokened) >= UNTOKENED_PER_MINUTE:
                return _error(45009, "api freq out of limit")
            self.untokened.append(now)
        if len(str(body.get("cursor", ""))) > 64 or int(body.get("limit", 1000)) > 1000:
            return _error(40058, "invalid cursor or limit")
        open_kfid = body.get("open_kfid")
        if open_kfid not in self.messages:
            return _error(95000, "invalid open_kfid")
        start = _decode_cursor(body.get("cursor"))
        everything = self.messages[open_kfid]
        limit = min(int(body.get("limit", 1000)), self.page_size)
        page = everything[start : start + limit]
        recent = [m for m in page if now - _sent(m) <= KEEP_MESSAGES]
        end = start + len(page)
        self.pulled += [str(m["msgid"]) for m in recent]
        return _ok(
            next_cursor=_encode_cursor(end),
            has_more=int(end < len(everything)),
            msg_list=recent,
        )

    async def _send_msg(self, request: Request) -> Response:
        self.calls.append("kf/send_msg")
        if (fault := self._fault("kf/send_msg")) is not None:
            return fault
        if (error := self._token_error(request)) is not None:
            return error
        body = await request.json()
        person_id = str(body.get("touser", ""))
        if body.get("open_kfid") not in self.messages:
            return self._refuse(person_id, "unknown open_kfid", body, 95000)
        if len(str(body.get("msgid", "")).encode()) > 32:
            return self._refuse(person_id, "msgid over 32 bytes", body, 40058)
        person = self.person(person_id)
        if person.state in (2, 3):
            return self._refuse(person_id, "a human agent holds the session", body, 95018)
        kind = body.get("msgtype")
        delivered: Delivered
        if kind == "text":
            text = str((body.get("text") or {}).get("content", ""))
            if not text or len(text.encode()) > MAX_TEXT:
                return self._refuse(person_id, f"text of {len(text.encode())} bytes", body, 45002)
            delivered = Delivered("text", text=text)
        elif kind == "msgmenu":
            menu = body.get("msgmenu") or {}
            items = menu.get("list") or []
            if not items or len(items) > MAX_ITEMS:
                return self._refuse(person_id, f"menu of {len(items)} items", body, 45098)
            if len(str(menu.get("head_content", "")).encode()) > 1024:
                return self._refuse(person_id, "menu head over 1024 bytes", body, 45002)
            if len(str(menu.get("tail_content", "")).encode()) > 1024:
                return self._refuse(person_id, "menu tail over 1024 bytes", body, 45002)
            pairs = []
            for item in items:
                click = item.get("click") or {}
                ident, label = str(click.get("id", "")), str(click.get("content", ""))
                if not 1 <= len(ident.encode()) <= 64 or not 1 <= len(label.encode()) <= 128:
                    return self._refuse(person_id, f"menu item {label[:20]!r}", body, 40058)
                pairs.append((ident, label))
            delivered = Delivered("msgmenu", text=str(menu.get("head_content", "")), menu=pairs)
        elif kind == "file":
            media_id = str((body.get("file") or {}).get("media_id", ""))
            media = self.media.get(media_id)
            if media is None or self.clock() - media.at > KEEP_MEDIA:
                return self._refuse(person_id, "unknown or expired media_id", body, 40007)
            delivered = Delivered("file", file_name=media.name, content=media.content)
        else:
            return self._refuse(person_id, f"msgtype {kind!r} not faked", body, 40008)
        now = self.clock()
        # The real API answers ok and reports the failure later, as an event.
        if person.last_wrote is None or now - person.last_wrote > WINDOW:
            self.refusals.append(Refusal(person_id, "48-hour window closed", body))
            self.event(
                body["open_kfid"],
                person_id,
                {"event_type": "msg_send_fail", "fail_msgid": "x", "fail_type": 4},
            )
            return _ok(msgid=f"msg{next(self._ids)}")
        if person.sent_since >= QUOTA:
            self.refusals.append(Refusal(person_id, "over 5 messages", body))
            self.event(
                body["open_kfid"],
                person_id,
                {"event_type": "msg_send_fail", "fail_msgid": "x", "fail_type": 6},
            )
            return _ok(msgid=f"msg{next(self._ids)}")
        person.sent_since += 1
        delivered.at = person.last_sent = now
        delivered.call = len(self.calls) - 1
        person.inbox.append(delivered)
        return _ok(msgid=f"msg{next(self._ids)}")

    async def _send_on_event(self, request: Request) -> Response:
        self.calls.append("kf/send_msg_on_event")
        if (error := self._token_error(request)) is not None:
            return error
        body = await request.json()
        code = self.welcome_codes.pop(str(body.get("code", "")), None)  # usable once
        if code is None:
            return self._refuse("", "unknown or used welcome_code", body, BAD_EVENT_CODE)
        now = self.clock()
        if now - code.issued > WELCOME_CODE_LIFE:
            return self._refuse(code.person, "welcome_code past 20 s", body, BAD_EVENT_CODE)
        kind = body.get("msgtype")
        if kind == "text":
            text = str((body.get("text") or {}).get("content", ""))
            if not text or len(text.encode()) > MAX_TEXT:
                return self._refuse(code.person, f"text of {len(text.encode())} bytes", body, 45002)
            delivered = Delivered("text", text=text)
        elif kind == "msgmenu":
            menu = body.get("msgmenu") or {}
            items = menu.get("list") or []
            if not items or len(items) > MAX_ITEMS:
                return self._refuse(code.person, f"menu of {len(items)} items", body, 45098)
            if len(str(menu.get("head_content", "")).encode()) > 1024:
                return self._refuse(code.person, "menu head over 1024 bytes", body, 45002)
            pairs = [
                (
                    str((i.get("click") or {}).get("id", "")),
                    str((i.get("click") or {}).get("content", "")),
                )
                for i in items
            ]
            delivered = Delivered("msgmenu", text=str(menu.get("head_content", "")), menu=pairs)
        else:
            return self._refuse(code.person, f"msgtype {kind!r} on an event", body, 40008)
        person = self.person(code.person)
        delivered.at = person.last_welcome = now
        person.inbox.append(delivered)
        return _ok(msgid=f"msg{next(self._ids)}")

    def _refuse(self, person: str, reason: str, body: dict[str, Any], code: int) -> Response:
        self.refusals.append(Refusal(person, reason, body))
        return _error(code, reason)

    async def _upload(self, request: Request) -> Response:
        self.calls.append("media/upload")
        if (error := self._token_error(request)) is not None:
            return error
        kind = request.query_params.get("type")
        async with request.form() as form:
            upload = form.get("media")
            if upload is None or isinstance(upload, str):
                return _error(41001, "missing media")
            content = await upload.read()
            file_name, mime = upload.filename or "file", upload.content_type
        limit = MAX_IMAGE if kind == "image" else MAX_FILE
        if len(content) <= 5 or len(content) > limit:
            return _error(40006, f"invalid media size {len(content)}")
        media_id = self.add_media(file_name, mime or "application/octet-stream", content)
        return _ok(type=kind, media_id=media_id, created_at=str(int(self.clock().timestamp())))

    async def _media_get(self, request: Request) -> Response:
        self.calls.append("media/get")
        if self.media_gate is not None:
            await self.media_gate.wait()
        if (fault := self._fault("media/get")) is not None:
            return fault
        if (error := self._token_error(request)) is not None:
            return error
        media = self.media.get(request.query_params.get("media_id", ""))
        if media is None or self.clock() - media.at > KEEP_MEDIA:
            return _error(40007, "invalid media_id")
        disposition = f"attachment; filename*=UTF-8''{quote(media.name)}"
        return Response(
            media.content,
            media_type=media.mime,
            headers={"Content-Disposition": disposition},
        )

    async def _contact_way(self, request: Request) -> Response:
        if (error := self._token_error(request)) is not None:
            return error
        body = await request.json()
        if body.get("open_kfid") not in self.messages:
            return _error(95000, "invalid open_kfid")
        scene = body.get("scene")
        if scene is not None and (
            len(scene.encode()) > 32 or not scene.replace("_", "").replace("-", "").isalnum()
        ):
            return _error(95004, "invalid scene")
        url = f"https://work.weixin.qq.com/kfid/{body['open_kfid']}"
        return _ok(
            url=url
            + (f"?enc_scene=ENC{base64.b32encode(scene.encode()).decode()}" if scene else "")
        )

    async def _accounts(self, request: Request) -> Response:
        if (error := self._token_error(request)) is not None:
            return error
        return _ok(
            account_list=[
                {"open_kfid": k, "name": f"客服 {k[-4:]}", "manage_privilege": True}
                for k in self.open_kfids
            ]
        )

    async def _state(self, request: Request) -> Response:
        if (error := self._token_error(request)) is not None:
            return error
        body = await request.json()
        return _ok(service_state=self.person(str(body.get("external_userid"))).state)


def _ok(**fields: Any) -> JSONResponse:
    return JSONResponse({"errcode": 0, "errmsg": "ok", **fields})


def _error(code: int, message: str) -> JSONResponse:
    return JSONResponse({"errcode": code, "errmsg": message})


def _sent(message: dict[str, Any]) -> datetime:
    from datetime import UTC

    return datetime.fromtimestamp(int(message.get("send_time", 0)), UTC)


def _encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"p": position}).encode()).decode()


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(json.loads(base64.urlsafe_b64decode(cursor.encode()))["p"])
    except (ValueError, KeyError, TypeError):
        return 0
