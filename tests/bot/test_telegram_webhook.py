"""Telegram in webhook mode: `complaint-bot run` serves HTTP and Telegram posts updates to it.

The bot runs as `run` does in webhook mode (`TelegramWebhookServer`: uvicorn on 127.0.0.1, the
webhook set with its secret), calling the fake Bot API in process; the fake's `WebhookPusher`
posts each update to the bot's port over real HTTP with the secret header, as Telegram does
through nginx, and posts again until it gets a 2xx.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from fake_telegram import (
    SECRET_HEADER,
    FakeBotAPI,
    SentMessage,
    WebhookPusher,
    make_png,
    origin_hidden_user,
)
from telegram_chat import (
    SMS,
    Chat,
    bot_settings,
    finish_sms,
    read_back,
    running_bot,
    the_case,
    walk_sms_to_evidence,
)
from transcripts.test_transcripts import _CASE, SHANGHAI, _dig, _typed

from bot.app import Services, TelegramWebhookServer
from bot.case_json import case_to_json
from bot.clock import ManualClock
from bot.config import ConfigError, Settings, load_settings
from flows.model import ConversationKey

DATA = TRANSCRIPT_DATA = Path(__file__).parent.parent / "data"
URL = "https://bot.example.com/telegram/webhook"
SECRET = "s3cret_Webhook-token_0123456789"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return bot_settings(
        tmp_path,
        telegram_mode="webhook",
        telegram_webhook_url=URL,
        telegram_webhook_secret=SECRET,
        http_listen="127.0.0.1:0",
        telegram_album_wait=0.2,
        telegram_forward_wait=0.2,
    )


@asynccontextmanager
async def webhook_bot(fake: FakeBotAPI, settings: Settings) -> AsyncIterator[TelegramWebhookServer]:
    """Run the bot in webhook mode on the fake; stop it (the webhook stays set) at the end."""
    server = TelegramWebhookServer(settings, request=fake.make_request())
    try:
        await server.start()
        yield server
    finally:
        await server.stop()


def local(server: TelegramWebhookServer) -> str:
    return f"http://127.0.0.1:{server.port}"


async def test_a_complaint_is_filed_by_webhook_with_buttons_a_photo_and_an_album(
    settings: Settings,
) -> None:
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    screenshot = (DATA / "sms-screenshot.png").read_bytes()
    pictures = [make_png(40 + i, 30) for i in range(2)]
    async with webhook_bot(fake, settings) as bot, WebhookPusher(fake, target=local(bot)) as push:
        webhook = fake.webhook
        assert (webhook["url"], webhook["secret_token"]) == (URL, SECRET)
        assert webhook["allowed_updates"] == ["message", "callback_query"]
        await walk_sms_to_evidence(chat)  # commands, buttons and typed answers
        alice.send_photo(screenshot)
        await chat.expect("已收到 1 份，共 1 份证据")
        alice.send_album(pictures)
        await chat.expect("共 3 份证据")
        number = await finish_sms(chat)
        await fake.wait_for_delivery()

    assert push.pushes and {p.status for p in push.pushes} == {200}
    assert not fake.calls("getUpdates")  # nothing was polled
    case = await the_case(settings, alice, number)
    assert (case.category, case.problem, case.state) == ("sms", "spam", "waiting")
    stored = {(Path(settings.storage_data_dir) / e.path).read_bytes() for e in case.evidence}
    assert stored == {screenshot, *pictures}
    assert len({e.group_id for e in case.evidence if e.group_id}) == 1  # the album


async def test_a_post_without_the_right_secret_is_refused_and_nothing_is_recorded(
    settings: Settings,
) -> None:
    fake = FakeBotAPI()
    mallory = fake.add_user("Mallory")
    update = {
        "update_id": 77,
        "message": {
            "message_id": 1,
            "date": 1_764_000_000,
            "chat": {"id": mallory.id, "type": "private", "first_name": "Mallory"},
            "from": mallory.to_dict(),
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }
    async with webhook_bot(fake, settings) as bot, httpx.AsyncClient(base_url=local(bot)) as http:
        for headers in ({}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: SECRET + "x"}):
            response = await http.post("/telegram/webhook", json=update, headers=headers)
            assert response.status_code == 403
        await fake.settle(quiet=0.3)
        assert fake.sent_to(mallory.id) == []
        key = ConversationKey("telegram", str(mallory.id))
        assert await read_back(settings, lambda s: s.load_conversation(key)) is None
        # The same post with the secret is answered: the refusals were not about the update.
        ok = await http.post("/telegram/webhook", json=update, headers={SECRET_HEADER: SECRET})
        assert ok.status_code == 200
        await fake.wait_for_sent(mallory.id)

    assert await read_back(settings, lambda s: s.load_conversation(key)) is not None


BAD_BODIES = {
    "broken": (b"{not json", 400),
    "not-utf8": (b"\xff\xfe", 400),
    "a-list": (b"[1, 2]", 400),
    "no-update-id": (b'{"message": {}}', 400),
    "text-id": (b'{"update_id": "7"}', 400),
    "over-1mb": (b'{"update_id": 7, "pad": "' + b"x" * (1024 * 1024) + b'"}', 413),
}


async def test_a_body_that_is_not_an_update_is_refused_and_the_bot_goes_on(
    settings: Settings,
) -> None:
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    headers = {SECRET_HEADER: SECRET, "content-type": "application/json"}
    async with webhook_bot(fake, settings) as bot, httpx.AsyncClient(base_url=local(bot)) as http:
        for name, (body, status) in BAD_BODIES.items():
            response = await http.post("/telegram/webhook", content=body, headers=headers)
            assert response.status_code == status, name
        assert (await http.get("/telegram/webhook")).status_code == 405
        assert (await http.get("/healthz")).text == "ok"
        async with WebhookPusher(fake, target=local(bot)):
            await chat.say("/start", "遇到了什么问题")


async def test_an_update_posted_twice_has_one_effect(settings: Settings) -> None:
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    async with webhook_bot(fake, settings) as bot, WebhookPusher(fake, target=local(bot)) as push:
        await chat.say("/start", "遇到了什么问题")
        await chat.choose(SMS, "（1/11）")
        await chat.choose("垃圾 / 骚扰短信", "（2/11）")
        update = alice.send_text("10690123456789")
        await chat.expect("（3/11）")
        fake.enqueue(update)  # Telegram posts it again (its first 200 was lost on the way)
        await fake.wait_for_delivery()
        await fake.settle(quiet=0.4)
        assert push.statuses(update["update_id"]) == [200, 200]
        assert [m.text for m in chat._new()] == []  # no second answer
        await chat.say("昨天", "（4/11）")  # and the conversation goes on from the next step


async def test_what_comes_while_the_bot_is_down_is_posted_again_once_it_is_back(
    settings: Settings,
) -> None:
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    async with WebhookPusher(fake, retry_delay=0.05) as push:
        async with webhook_bot(fake, settings) as bot:
            push.target = local(bot)
            await chat.say("/start", "遇到了什么问题")
        update = alice.send_text("/help")  # the bot is stopped: nobody answers the post
        await fake.wait_until(lambda: 0 in push.statuses(update["update_id"]))
        assert fake.webhook["url"] == URL  # kept set while the bot is down
        info = await fake.call("getWebhookInfo")
        assert info.json()["result"]["pending_update_count"] == 1
        assert "Connection failed" in info.json()["result"]["last_error_message"]
        async with webhook_bot(fake, settings) as bot:
            push.target = local(bot)
            await chat.expect("/cases")  # the help text, answered once the bot is back
        assert push.statuses(update["update_id"])[-1] == 200


async def test_back_to_polling_deletes_the_webhook_and_answers(
    settings: Settings,
) -> None:
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    async with webhook_bot(fake, settings):
        pass
    assert fake.webhook["url"] == URL
    async with running_bot(fake, settings.replace(telegram_mode="polling")):
        await chat.say("/start", "遇到了什么问题")
    assert fake.webhook == {} and fake.calls("deleteWebhook")
    assert [c.status for c in fake.calls("getUpdates")][:1] == [200]  # never the 409


# ----------------------------------------------------------------------------- settings


def test_webhook_mode_without_a_url_or_a_secret_names_the_setting(settings: Settings) -> None:
    with pytest.raises(ConfigError, match=r"^telegram\.webhook_url: not set"):
        settings.replace(telegram_webhook_url="").require_webhook()
    no_secret = Settings(**{**_fields(settings), "telegram_webhook_secret": None})
    with pytest.raises(ConfigError, match=r"^telegram\.webhook_secret: not set.*WEBHOOK_SECRET"):
        no_secret.require_webhook()


async def test_the_bot_does_not_start_without_the_secret(settings: Settings) -> None:
    fake = FakeBotAPI()
    settings = Settings(**{**_fields(settings), "telegram_webhook_secret": None})
    with pytest.raises(ConfigError, match=r"telegram\.webhook_secret"):
        async with webhook_bot(fake, settings):
            pass
    assert not fake.calls("setWebhook")


def _fields(settings: Settings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in Settings.__dataclass_fields__}


def test_the_webhook_path_is_the_urls_unless_set(settings: Settings) -> None:
    assert settings.require_webhook().path == "/telegram/webhook"
    assert settings.replace(telegram_webhook_path="/hook").require_webhook().path == "/hook"
    bare = settings.replace(telegram_webhook_url="https://bot.example.com")
    assert bare.require_webhook().path == "/"
    assert SECRET not in repr(settings.require_webhook())


def test_webhook_settings_from_yaml_and_the_secret_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "telegram:\n  mode: webhook\n  webhook_url: https://bot.example.com/tg\n"
        "  webhook_max_connections: 8\n",
        encoding="utf-8",
    )
    settings = load_settings(path, environ={"TELEGRAM_WEBHOOK_SECRET": SECRET})
    webhook = settings.require_webhook()
    assert (webhook.url, webhook.secret, webhook.path, webhook.max_connections) == (
        "https://bot.example.com/tg",
        SECRET,
        "/tg",
        8,
    )


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("mode", "hook", "polling or webhook"),
        ("webhook_url", "http://bot.example.com/tg", "an https:// URL"),
        ("webhook_secret", "has space", "1-256 letters, digits, _ or -"),
        ("webhook_secret", "x" * 257, "1-256 letters, digits, _ or -"),
        ("webhook_secret", "ünïcode", "1-256 letters, digits, _ or -"),
        ("webhook_path", "no-slash", "a path like /telegram/webhook"),
        ("webhook_max_connections", 0, "a whole number from 1 to 100"),
        ("webhook_max_connections", 101, "a whole number from 1 to 100"),
    ],
)
def test_bad_webhook_settings_stop_with_the_key(
    tmp_path: Path, key: str, value: Any, expected: str
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(f"telegram:\n  {key}: {json.dumps(value)}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"telegram\.{key}: expected ") as error:
        load_settings(path, environ={})
    assert expected in str(error.value)
    if key == "webhook_secret":
        assert str(value) not in str(error.value) and "(hidden)" in str(error.value)


# --------------------------------------------------------------------------- transcripts
#
# The transcripts of tests/transcripts/ (see test_transcripts.py for the format), by webhook.
# A `>` line that is the label or the number of a button on the newest message with buttons
# presses it (the console numbers buttons; Telegram shows them); anything else is typed. `/file`
# sends a photo, a PDF, or several as an album; the bot's output since the line is its new
# messages plus those it edited (a toggled choice), buttons on lines of their own. `saved:`
# checks a document the bot sent. A few run in `make test`; CB_WEBHOOK_TRANSCRIPTS=all runs
# every one that does not depend on the console (forwards without a date, sending files one by
# one as the console names them).

TRANSCRIPT_DIR = Path(__file__).parent.parent / "transcripts"
NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, as the console's runner
QUICK = ("sms_spam", "followup_escalate")
_PRESSED = re.compile(r"\n\n→ [^\n]*$")
_MARK = re.compile(r"^[^\w\s]+\s*")
# They check the file name of an image sent, which a Telegram photo does not carry.
CONSOLE_ONLY = frozenset({"calls", "validation"})


def _transcripts() -> list[str]:
    if os.environ.get("CB_WEBHOOK_TRANSCRIPTS") == "all":
        return sorted(p.stem for p in TRANSCRIPT_DIR.glob("*.txt") if p.stem not in CONSOLE_ONLY)
    return list(QUICK)


class TelegramSession:
    """One person running a transcript on the bot in webhook mode."""

    def __init__(self, fake: FakeBotAPI, settings: Settings) -> None:
        self.fake = fake
        self.settings = settings
        self.clock = ManualClock(NOW)
        self.person = fake.add_user("Tester", language_code="zh-hans")
        self.pusher = WebhookPusher(fake)
        self.server: TelegramWebhookServer | None = None
        self.seen: dict[int, str] = {}

    async def start(self) -> None:
        self.server = TelegramWebhookServer(
            self.settings, request=self.fake.make_request(), clock=self.clock
        )
        await self.server.start()
        self.pusher.target = local(self.server)

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()

    @property
    def services(self) -> Services:
        assert self.server is not None and self.server.messenger is not None
        holder = self.server.messenger.application.bot_data["services_holder"]
        return cast(Services, holder["services"])

    def _mark(self) -> None:
        self.seen = {m.message_id: m.describe() for m in self.person.received}

    def _changed(self) -> bool:
        return any(self.seen.get(m.message_id) != m.describe() for m in self.person.received)

    def _output(self) -> str:
        lines: list[str] = []
        for message in self.person.received:
            before = self.seen.get(message.message_id)
            if before == message.describe():
                continue
            if before is not None and _PRESSED.search(message.describe()):
                continue  # a question marked with the button pressed: not a new answer
            if message.document is not None:
                lines.append(f"[document: {message.document.file_name}]")
            lines += (message.text or "").splitlines()
            labels = message.button_labels
            lines += [f"  {n}. {label}" for n, label in enumerate(labels, start=1)]
        return "\n".join(lines)

    async def _settled(self, line: str, *, answered: bool = True) -> str:
        """Wait for the bot's answer (every typed line gets one), then until it has said all."""
        if answered:
            await self.fake.wait_until(
                self._changed, timeout=30, description=f"an answer to {line!r}"
            )
        await self._drained(line)
        await self.fake.settle(quiet=0.25, timeout=30)
        return self._output()

    async def _drained(self, line: str) -> None:
        """Wait until every kept update is handled and its replies sent (a busy machine is slow)."""
        store = self.services.store
        deadline = asyncio.get_running_loop().time() + 30
        while await store.pending_updates("telegram") or await store.unsent_replies("telegram"):
            assert asyncio.get_running_loop().time() < deadline, f"{line!r}: still handling"
            await asyncio.sleep(0.05)

    def _button(self, line: str) -> tuple[SentMessage, str] | None:
        """Return the message and label `line` presses: a label on the newest message showing
        it, or a number on the newest message with buttons (the console numbers them); None:
        `line` is typed."""
        with_buttons = [m for m in reversed(self.person.received) if m.buttons]
        for message in with_buttons:
            labels = message.button_labels
            if line in labels:
                return message, line
            # The console shows "完成" where Telegram's button says "✅ 完成".
            bare = [label for label in labels if _MARK.sub("", label) == line]
            if len(bare) == 1:
                return message, bare[0]
        if with_buttons and line.isdigit():
            labels = with_buttons[0].button_labels
            if 1 <= int(line) <= len(labels):
                return with_buttons[0], labels[int(line) - 1]
        return None

    async def send(self, line: str) -> str:
        self._mark()
        if line.startswith("/file "):
            self._send_files(line.split()[1:])
        elif line.startswith("/forward "):
            # The console's forward carries no date; a hidden sender's shows only a name.
            origin = origin_hidden_user("某人")
            self.person.forward(origin, text=line[len("/forward ") :])
        elif (pressed := self._button(line)) is not None:
            update = self.person.press(pressed[0], label=pressed[1])
            # A press may change nothing on screen (a question skipped): its answer says done.
            await self.fake.wait_until(lambda: self.fake.callback_answer(update) is not None)
            return await self._settled(line, answered=False)
        elif line.startswith("/"):
            command, _, args = line[1:].partition(" ")
            self.person.send_command(command, args)
        else:
            self.person.send_text(line)
        return await self._settled(line)

    def _send_files(self, names: list[str]) -> None:
        """Send images as photos, PDFs as documents; several at once as an album."""
        contents = [(TRANSCRIPT_DATA / name).read_bytes() for name in names]
        pdfs = [name.endswith(".pdf") for name in names]
        if len(names) == 1:
            if pdfs[0]:
                self.person.send_document(contents[0], file_name=names[0])
            else:
                self.person.send_photo(contents[0])
        elif not any(pdfs):
            self.person.send_album(contents)
        else:  # a photo cannot share an album with a document: all go as documents
            kinds = ["application/pdf" if pdf else "image/png" for pdf in pdfs]
            self.person.send_album(contents, kind="document", file_names=names, mime_types=kinds)

    async def at(self, local_time: str) -> str:
        self._mark()
        moment = datetime.fromisoformat(local_time).replace(tzinfo=SHANGHAI).astimezone(UTC)
        self.clock.set(moment)
        await self.services.scheduler.settle()
        return await self._settled(f"~ time {local_time}", answered=False)  # quiet hours

    async def cases(self) -> list[dict[str, Any]]:
        services = self.services
        records = await services.store.list_all_cases(f"telegram:{self.person.id}")
        return [case_to_json(c, flows=services.flows) for c in records]

    def document(self, name: str) -> bytes | None:
        for message in reversed(self.person.received):
            if message.document is not None and message.document.file_name == name:
                return message.document.content
        return None


@pytest.mark.parametrize("name", _transcripts())
async def test_transcript_by_webhook(name: str, settings: Settings) -> None:
    fake = FakeBotAPI()
    settings = settings.replace(telegram_album_wait=0.1, telegram_forward_wait=0.1)
    session = TelegramSession(fake, settings)
    path = TRANSCRIPT_DIR / f"{name}.txt"
    async with session.pusher:
        await session.start()
        try:
            await _run_transcript(session, path)
        except AssertionError:
            print("\n".join(e.splitlines()[0] for e in fake.transcript(session.person.id)[-15:]))
            raise
        finally:
            await session.stop()
    assert {p.status for p in session.pusher.pushes} == {200}


async def _run_transcript(session: TelegramSession, path: Path) -> None:
    output, last_sent = "", "(start)"
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        where = f"{path.name}:{number}"
        if not line or line.startswith("#"):
            continue
        if "{case " in line:
            filed = [case["number"] for case in reversed(await session.cases())]
            line = _CASE.sub(partial(_typed, filed), line)
        if line.startswith("> "):
            last_sent = line[2:]
            output = await session.send(last_sent)
        elif line.startswith("<! "):
            assert line[3:] not in output, f"{where}: after '> {last_sent}' got:\n{output}"
        elif line.startswith("< "):
            assert line[2:] in output, (
                f"{where}: after '> {last_sent}' expected:\n{line[2:]}\n--- got:\n{output}"
            )
        elif line.startswith("[") and line.endswith("]"):
            labels = [row.split(". ", 1)[-1] for row in output.splitlines() if row.startswith("  ")]
            assert line[1:-1] in labels, f"{where}: no button {line}; buttons: {labels}"
        elif line == "~ restart":
            await session.stop()
            await session.start()
        elif line.startswith("~ time "):
            last_sent = line
            output = await session.at(line[len("~ time ") :])
        elif line.startswith("saved:"):
            name, _, text = (part.strip() for part in line[6:].partition("~"))
            content = session.document(name)
            assert content is not None, f"{where}: no document {name}"
            assert text.encode() in content, f"{where}: {name} lacks {text!r}"
        elif line.startswith("cases:"):
            found = len(await session.cases())
            assert found == int(line.split(":", 1)[1]), f"{where}: {found} cases"
        elif line.startswith("case:"):
            key, _, wanted = line[5:].partition("=")
            cases = await session.cases()
            assert cases, f"{where}: no case filed"
            value = _dig(cases[0], key.strip())
            shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            assert shown == wanted.strip(), f"{where}: case {key.strip()} is {shown!r}"
        else:
            raise AssertionError(f"{where}: cannot read this transcript line: {raw!r}")
