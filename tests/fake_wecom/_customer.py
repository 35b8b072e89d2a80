"""A WeChat user talking to a customer-service account, and the callbacks WeCom posts the bot.

Callbacks are encrypted and signed with wechatpy, an implementation independent of the bot's,
so the two check each other on every message.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import httpx
from wechatpy.enterprise.crypto import WeChatCrypto

from ._api import Delivered, FakeWecom

CALLBACK_TOKEN = "fakecallbacktoken"
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"


class Callbacks:
    """Post kf_msg_or_event callbacks to the bot, with faults on demand."""

    def __init__(self, fake: FakeWecom, bot: httpx.AsyncClient, path: str = "/wecom/kf") -> None:
        self.fake = fake
        self.bot = bot
        self.path = path
        self.crypto = WeChatCrypto(CALLBACK_TOKEN, AES_KEY, fake.corp_id)
        self.lose = 0  # callbacks to drop (only the safety pull finds their messages)
        self.duplicate = False  # post every callback twice
        self.tamper = False  # break the signature (the bot must refuse it)
        self.answers: list[tuple[int, str]] = []

    async def notify(self, open_kfid: str) -> None:
        """Tell the bot an account has news, as WeCom does after each message."""
        if self.lose > 0:
            self.lose -= 1
            return
        for _ in range(2 if self.duplicate else 1):
            try:
                await self.post(open_kfid)
            except httpx.TransportError as exc:  # the bot is down: WeCom gives up, nothing more
                self.answers.append((0, type(exc).__name__))

    async def post(self, open_kfid: str) -> httpx.Response:
        now = str(int(self.fake.clock().timestamp()))
        nonce = secrets.token_hex(5)
        token = self.fake.new_callback_token()
        plain = (
            f"<xml><ToUserName><![CDATA[{self.fake.corp_id}]]></ToUserName>"
            f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            "<Event><![CDATA[kf_msg_or_event]]></Event>"
            f"<Token><![CDATA[{token}]]></Token><OpenKfId><![CDATA[{open_kfid}]]></OpenKfId></xml>"
        )
        sealed = self.crypto.encrypt_message(plain, nonce, now)
        signature = sealed.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
        if self.tamper:
            signature = ("0" if signature[0] != "0" else "1") + signature[1:]
        response = await self.bot.post(
            self.path,
            params={"msg_signature": signature, "timestamp": now, "nonce": nonce},
            content=sealed.encode(),
        )
        self.answers.append((response.status_code, response.text))
        return response

    async def check_url(self) -> httpx.Response:
        """Do WeCom's URL check (GET with an encrypted echostr)."""
        now = str(int(self.fake.clock().timestamp()))
        nonce = secrets.token_hex(5)
        echo = str(secrets.randbelow(10**18))
        sealed = self.crypto.encrypt_message(echo, nonce, now)
        encrypted = sealed.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
        signature = sealed.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
        response = await self.bot.get(
            self.path,
            params={
                "msg_signature": signature,
                "timestamp": now,
                "nonce": nonce,
                "echostr": encrypted,
            },
        )
        response.extensions["expected"] = echo
        return response


class FakeCustomer:
    """One WeChat user in a chat with one customer-service account."""

    def __init__(
        self, fake: FakeWecom, callbacks: Callbacks, external_userid: str, open_kfid: str = ""
    ) -> None:
        self.fake = fake
        self.callbacks = callbacks
        self.id = external_userid
        self.open_kfid = open_kfid or fake.open_kfids[0]
        self.seen = 0  # how many delivered messages were read with `new()`

    async def _write(self, message: dict[str, Any]) -> None:
        self.fake.customer_wrote(self.open_kfid, self.id, message)
        await self.callbacks.notify(self.open_kfid)

    async def send_text(self, text: str) -> None:
        await self._write({"msgtype": "text", "text": {"content": text}})

    async def click_menu(self, label: str) -> None:
        """Tap the newest menu item whose label contains `label`."""
        for message in reversed(self.inbox):
            for ident, shown in message.menu:
                if label in shown:
                    await self._write(
                        {"msgtype": "text", "text": {"content": shown, "menu_id": ident}}
                    )
                    return
        raise AssertionError(f"no menu item {label!r} in {self.text}")

    async def send_image(self, content: bytes, name: str = "screenshot.png") -> None:
        if len(content) > 2 * 1024 * 1024:  # WeCom turns an oversized image into a notice
            await self.send_text("[图片过大，无法接收]")
            return
        media_id = self.fake.add_media(name, "image/png", content)
        await self._write({"msgtype": "image", "image": {"media_id": media_id}})

    async def send_file(self, name: str, content: bytes, mime: str = "application/pdf") -> None:
        if len(content) > 20 * 1024 * 1024:
            await self.send_text("[文件过大，无法接收]")
            return
        media_id = self.fake.add_media(name, mime, content)
        await self._write({"msgtype": "file", "file": {"media_id": media_id}})

    async def send_files(self, files: list[tuple[str, bytes, str]]) -> None:
        """Send several images or files at once: WeCom posts callbacks, one pull finds them all."""
        for name, content, mime in files:
            media_id = self.fake.add_media(name, mime, content)
            kind = "image" if mime.startswith("image/") else "file"
            self.fake.customer_wrote(
                self.open_kfid, self.id, {"msgtype": kind, kind: {"media_id": media_id}}
            )
        await self.callbacks.notify(self.open_kfid)

    async def send_voice(self) -> None:
        media_id = self.fake.add_media("voice.amr", "voice/amr", b"#!AMR\n" + b"\0" * 64)
        await self._write({"msgtype": "voice", "voice": {"media_id": media_id}})

    async def forward_chat(
        self, items: list[tuple[str, str]], title: str = "聊天记录", *, dated: bool = True
    ) -> None:
        """Forward chat records: (sender name, text) pairs (dated: with their send times)."""
        now = int(self.fake.clock().timestamp())
        records = [
            {
                "send_time": now - 60 * (len(items) - i) if dated else 0,
                "msgtype": "text",
                "sender_name": sender,
                "msg_content": json.dumps({"text": {"content": text}}, ensure_ascii=False),
            }
            for i, (sender, text) in enumerate(items)
        ]
        await self._write(
            {"msgtype": "merged_msg", "merged_msg": {"title": title, "item": records}}
        )

    async def enter_session(self, scene: str = "poster1") -> None:
        self.fake.event(
            self.open_kfid,
            self.id,
            {"event_type": "enter_session", "scene": "kf", "scene_param": scene},
        )
        await self.callbacks.notify(self.open_kfid)

    @property
    def inbox(self) -> list[Delivered]:
        return self.fake.person(self.id).inbox

    def new(self) -> list[Delivered]:
        """Return the messages delivered since the last call."""
        fresh = self.inbox[self.seen :]
        self.seen = len(self.inbox)
        return fresh

    @property
    def text(self) -> str:
        return "\n".join(m.shown for m in self.inbox)
