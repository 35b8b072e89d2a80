"""What every benchmark shares: the tests' fake Bot API without sockets, simulated people, figures.

The fake Bot API is the one the test suite drives the real PTB Application with
(tests/fake_telegram), reached in-process through its `InProcessRequest` (a PTB `BaseRequest`
that answers from the fake without HTTP). `BenchAPI` trims what only tests need: it keeps no
call log or transcript, and wakes only the chat a message went to, so with 100 chats in flight
the harness does not wake 100 waiters for every message.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# A 429 must reach AIORateLimiter as RetryAfter, not as PTB 22's deprecation warning about it.
os.environ.setdefault("PTB_TIMEDELTA", "true")

ROOT = Path(__file__).resolve().parents[1]
# The repo first, so tests/bot and tests/storage (folders of tests) never shadow the packages.
sys.path[:0] = [str(ROOT)]
sys.path.append(str(ROOT / "tests"))
DATA = Path(os.environ.get("COMPLAINT_BOT_BENCH_DATA") or ROOT / "benchmarks" / ".data")

from fake_telegram import (  # noqa: E402 - needs the path above
    DEFAULT_TOKEN,
    FakeBotAPI,
    FakeUser,
    SentMessage,
    make_png,
    running_application,
)
from fake_telegram._api import _QueuedUpdate  # noqa: E402
from fake_telegram._http import ApiError, HttpResponse, UploadedFile  # noqa: E402
from fake_telegram._records import StoredFile  # noqa: E402

__all__ = [
    "DATA",
    "DEFAULT_TOKEN",
    "ROOT",
    "BenchAPI",
    "Figures",
    "Person",
    "Step",
    "data_dir",
    "heading",
    "make_png",
    "median",
    "running_application",
    "settled_rss_kb",
    "timed",
    "verdict",
]

JSON = dict[str, Any]


class BenchAPI(FakeBotAPI):
    """The tests' FakeBotAPI, lean enough to measure a bot with, not the fake."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._watchers: dict[int, Callable[[], None]] = {}
        self.sent_ok: list[float] = []  # perf_counter() of each accepted sendMessage
        self.too_many: list[float] = []  # perf_counter() of each 429 answered
        self.count_sends = False
        self._bot_user = self.bot_user
        self.busy = 0.0  # seconds spent answering calls other than getUpdates (Telegram's work)
        self.latency = 0.0  # seconds every request takes on the way, as over a network

    def make_request(
        self, *, latency: float | None = None, read_timeout: float | None = 30.0
    ) -> Any:
        """An in-process request to this fake, delayed by `latency` (default: `self.latency`)."""
        latency = self.latency if latency is None else latency
        return super().make_request(latency=latency, read_timeout=read_timeout)

    async def call(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        files: Mapping[str, UploadedFile] | None = None,
    ) -> HttpResponse:
        if method == "getUpdates":
            return await super().call(method, params, files)
        # Nothing but getUpdates waits inside the fake, so this is the fake's own time.
        started = time.perf_counter()
        try:
            return await super().call(method, params, files)
        finally:
            self.busy += time.perf_counter() - started

    # --------------------------------------------------------------- trimmed bookkeeping

    def _record(
        self, method: str, params: JSON, files: dict[str, UploadedFile], response: HttpResponse
    ) -> None:
        if self.count_sends and method == "sendMessage":
            (self.sent_ok if response.status == 200 else self.too_many).append(time.perf_counter())
            if response.status not in (200, 429):
                raise AssertionError(f"sendMessage answered {response.status}: {response.body!r}")

    def _log(self, chat_id: int, line: str) -> None:
        pass

    # The fake copies every message it keeps, sends and returns, so that a test can never see
    # a later change through an old reference. Nothing here mutates them: these overrides keep
    # the Bot API's behaviour for what the benchmarks send, without the copies (which cost more
    # than the bot under test, and a real Bot API costs the bot's process nothing).

    def _enqueue(self, updates: list[JSON], *, forced: bool = False) -> list[JSON]:
        self._queue.extend(_QueuedUpdate(update, forced=forced) for update in updates)
        self._notify()
        return updates

    async def _get_updates(self, params: JSON, files: dict[str, UploadedFile]) -> list[JSON]:
        limit = min(max(int(params.get("limit", 100)), 1), 100)
        timeout = max(float(params.get("timeout", 0)), 0.0)
        self._confirm(params.get("offset"))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            batch = self._queue[:limit]
            remaining = deadline - loop.time()
            if batch or remaining <= 0:
                for queued in batch:
                    queued.delivered = True
                return [queued.update for queued in batch]
            event = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    def message(self, chat_id: int, message_id: int) -> JSON:
        return dict(self._messages[(chat_id, message_id)])

    @staticmethod
    def _inline_markup(markup: Any) -> JSON | None:
        return markup if isinstance(markup, dict) and "inline_keyboard" in markup else None

    def _deliver(
        self,
        method: str,
        params: JSON,
        content: JSON,
        *,
        source_text: str | None,
        files: dict[str, StoredFile] | None = None,
    ) -> JSON:
        chat = self._resolve_chat(params.get("chat_id"))
        message: JSON = {
            "message_id": self._next_message_id(chat["id"]),
            "from": self._bot_user,
            "chat": chat,
            "date": self.now(),
            **content,
        }
        markup = self._inline_markup(params.get("reply_markup"))
        if markup is not None:
            message["reply_markup"] = markup
        key = (chat["id"], message["message_id"])
        self._messages[key] = message
        sent = SentMessage(
            chat_id=chat["id"],
            message_id=message["message_id"],
            method=method,
            raw=message,
            params=params,
            source_text=source_text,
            parse_mode=params.get("parse_mode"),
            files=dict(files or {}),
        )
        self._outbox.setdefault(chat["id"], []).append(sent)
        self._sent_index[key] = sent
        self._poke(chat["id"])
        return message

    def _apply_edit(self, sent: SentMessage, changes: JSON, markup: JSON | None, what: str) -> JSON:
        current = sent.raw
        unchanged = all(current.get(key) == value for key, value in changes.items())
        if unchanged and current.get("reply_markup") == markup:
            raise ApiError.bad_request("message is not modified")
        updated = {k: v for k, v in current.items() if changes.get(k, v) is not None}
        updated.update({k: v for k, v in changes.items() if v is not None})
        updated.pop("reply_markup", None)
        if markup is not None:
            updated["reply_markup"] = markup
        updated["edit_date"] = self.now()
        sent.raw = updated
        self._messages[(sent.chat_id, sent.message_id)] = updated
        self._poke(sent.chat_id)
        return updated

    def _poke(self, chat_id: int) -> None:
        watcher = self._watchers.get(chat_id)
        if watcher is not None:
            watcher()

    def forget(self, user: FakeUser) -> None:
        """Drop everything the fake keeps about `user`'s chat (for long runs)."""
        chat = user.id
        self._users.pop(chat, None)
        self._chats.pop(chat, None)
        for message_id in range(1, self._message_counters.pop(chat, 0) + 1):
            self._messages.pop((chat, message_id), None)
            self._sent_index.pop((chat, message_id), None)
        self._outbox.pop(chat, None)
        # Only this person's queries: they stay few, as each person's are dropped when done.
        for query_id in [q for q, v in self._callback_queries.items() if v["from"]["id"] == chat]:
            del self._callback_queries[query_id]
            self._callback_answers.pop(query_id, None)

    # ------------------------------------------------------------------------ waiting

    async def until(self, chat_id: int, predicate: Callable[[], bool], seconds: float) -> None:
        """Wait until `predicate()` holds, checked again whenever the bot writes in the chat."""
        if predicate():
            return
        done = asyncio.get_running_loop().create_future()

        def check() -> None:
            if not done.done() and predicate():
                done.set_result(None)

        self._watchers[chat_id] = check
        try:
            await asyncio.wait_for(done, seconds)
        finally:
            self._watchers.pop(chat_id, None)


@dataclass(frozen=True)
class Step:
    """One thing a person does, and the words in the bot's answer that say it was handled."""

    kind: str  # command | text | press | photo | toggle
    value: str
    expect: str  # a new message containing this; for "toggle", the edited button label


class Person:
    """One simulated person: sends the next update only after the answer to the last arrived."""

    def __init__(self, api: BenchAPI, user: FakeUser, timeout: float = 60.0) -> None:
        self.api = api
        self.user = user
        self.seen = 0
        self.timeout = timeout

    def _new(self) -> list[SentMessage]:
        return self.api.sent_to(self.user.id)[self.seen :]

    async def expect(self, text: str | None) -> SentMessage:
        """Wait for a new message containing `text` (None: any new message)."""

        def index() -> int | None:
            for i, message in enumerate(self._new()):
                if text is None or text in (message.text or ""):
                    return i
            return None

        try:
            await self.api.until(self.user.id, lambda: index() is not None, self.timeout)
        except TimeoutError:
            got = [m.text for m in self._new()]
            raise AssertionError(f"no answer with {text!r} from the bot; got {got}") from None
        found = index()
        assert found is not None
        message = self._new()[found]
        self.seen += found + 1
        return message

    def _button(self, label: str) -> tuple[SentMessage, str]:
        for message in reversed(self.api.sent_to(self.user.id)):
            for shown in message.button_labels:
                if label in shown:
                    return message, shown
        raise AssertionError(f"no message has a button {label!r}")

    async def do(
        self, step: Step, photo: bytes, *, echo: bool = False, in_place: bool = False
    ) -> float:
        """Do `step` and wait for its answer; return the seconds that took.

        `in_place`: a press may be answered by editing the pressed message instead.
        """
        started = time.perf_counter()
        user = self.user
        self.api.busy -= time.perf_counter()  # building the update is Telegram's work too
        if step.kind == "command":
            user.send_command(step.value)
        elif step.kind == "text":
            user.send_text(step.value)
        elif step.kind == "photo":
            user.send_photo(photo)
        elif echo:  # an echo bot shows no buttons: press "one" on its last message
            user.press(self.api.sent_to(user.id)[-1], data=step.value[:20], check=False)
        else:
            message, shown = self._button(step.value)
            user.press(message, label=shown)
        self.api.busy += time.perf_counter()
        if step.kind == "toggle" and not echo:
            chat, message_id = user.id, message.message_id
            await self.api.until(
                chat,
                lambda: any(
                    step.expect in label
                    for label in self.api.sent_message(chat, message_id).button_labels
                ),
                self.timeout,
            )
            return time.perf_counter() - started
        if step.kind == "press" and in_place and not echo:
            chat, pressed = user.id, message.message_id

            def answered() -> bool:
                edited = self.api.sent_message(chat, pressed).text or ""
                return step.expect in edited or any(
                    step.expect in (m.text or "") for m in self._new()
                )

            await self.api.until(chat, answered, self.timeout)
            self.seen = len(self.api.sent_to(chat))
            return time.perf_counter() - started
        await self.expect(None if echo else step.expect)
        return time.perf_counter() - started


@dataclass
class Figures:
    """Latencies of one run (seconds) and its wall time."""

    name: str
    latencies: list[float] = field(default_factory=list)
    wall: float = 0.0
    fake: float = 0.0  # of which the fake Bot API (Telegram's side) was busy
    cpu: float = 0.0  # CPU seconds this process used meanwhile (every thread of it)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall if self.wall else 0.0

    @property
    def net_rate(self) -> float:
        """Updates/s with the fake Bot API's own time taken out (a real one costs us nothing)."""
        net = self.wall - self.fake
        return len(self.latencies) / net if net > 0 else 0.0

    def percentile(self, p: float) -> float:
        data = sorted(self.latencies)
        if not data:
            return 0.0
        return data[min(len(data) - 1, round(p / 100 * (len(data) - 1)))]

    def line(self) -> str:
        ms = 1000
        return (
            f"{self.name:<28} {self.rate:8.1f} updates/s   p50 {self.percentile(50) * ms:6.1f} ms"
            f"   p95 {self.percentile(95) * ms:6.1f} ms   p99 {self.percentile(99) * ms:6.1f} ms"
            f"   ({len(self.latencies)} updates in {self.wall:.1f} s, fake Bot API busy"
            f" {self.fake:.1f} s)"
        )


def verdict(holds: bool) -> str:
    """Say whether a target holds, the way every script prints it."""
    return "target holds" if holds else "TARGET MISSED"


def heading(text: str) -> None:
    """Print a benchmark's title."""
    print(f"\n== {text} ==", flush=True)


def rss_kb() -> int:
    """Return this process's resident memory in KB (Linux)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def settled_rss_kb() -> int:
    """Collect garbage, then return the resident memory in KB."""
    gc.collect()
    return rss_kb()


def median(values: Sequence[float]) -> float:
    """Return the median of `values`."""
    return statistics.median(values)


@contextmanager
def timed() -> Iterator[Callable[[], float]]:
    """`with timed() as took:` ... `took()` is the seconds spent inside the block."""
    started = time.perf_counter()
    end: list[float] = []
    try:
        yield lambda: (end[0] if end else time.perf_counter()) - started
    finally:
        end.append(time.perf_counter())


def data_dir(name: str) -> Path:
    """Return a folder for generated data under benchmarks/.data (git-ignored), made empty."""
    import shutil

    folder = DATA / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder
