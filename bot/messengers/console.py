"""The local console: the same engine on stdin/stdout, no account needed.

Buttons print as a numbered list; typing the number or the label presses one. Where a typed
answer is expected, buttons are listed without numbers (so "100" is an amount, not button 100)
and pressed by their label. `/file PATH [PATH...]` attaches local files as evidence,
`/forward TEXT` pretends TEXT was forwarded from another chat, `/quit` (or end of input) leaves.

A reminder prints on its own, maybe while the person is typing a number for the question above
it. In a terminal, a number typed less than `READING` after a reminder printed is not taken for
either list (one reading could file a complaint, the other mark a case resolved): the person
is asked to answer again, as on WeChat. Piped input is read as written, with no such race.
"""

from __future__ import annotations

import asyncio
import mimetypes
import shlex
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TextIO

from bot.messengers.base import ButtonStyle, Delivery, Host, Limits, Measure, Receiver
from bot.messengers.fitting import fit
from bot.messengers.numbered import READING, OnScreen, lines
from flows.model import Attachment, ConversationKey, Document, Forward, Incoming, Reply
from flows.records import Reminder

MESSENGER = "console"
# A terminal shows any length; edits are impossible in a printed transcript.
LIMITS = Limits(max_text=1_000_000, measure=Measure.CHARS, buttons=ButtonStyle.NUMBERED)


def _file_reader(path: Path) -> Callable[[], Awaitable[bytes]]:
    return partial(asyncio.to_thread, path.read_bytes)


class Console:
    """Chat with the engine in a terminal or through a pipe (one person: `user_id`)."""

    name = MESSENGER
    limits = LIMITS

    def __init__(
        self,
        engine: Receiver,
        *,
        user_id: str = "local",
        stdin: TextIO = sys.stdin,
        stdout: TextIO = sys.stdout,
        documents: Path | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.host: Host | None = None  # for the words it says on its own (set by `start`)
        self.key = ConversationKey(MESSENGER, user_id)
        self.stdin = stdin
        self.stdout = stdout
        self.documents = documents  # where letters and exports are saved (None: not saved)
        self.screen = OnScreen()  # the buttons a typed number or label presses
        self.interactive = stdin.isatty()
        self.monotonic = monotonic
        self.reminded_at: float | None = None  # when a reminder's list last printed

    def write(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    async def start(self, host: Host) -> None:
        """Answer with `host` from now on (the console reads its input in `run`)."""
        self.engine = host
        self.host = host

    async def stop(self) -> None:
        """Nothing to stop: `run` returns at the end of input."""

    async def run(self) -> None:
        """Read lines until end of input, answering each."""
        if self.interactive:
            self.write("complaint-bot console — /file PATH attaches a file, /quit leaves.\n")
            await self.send("/start")
        while True:
            if self.interactive:
                self.stdout.write("> ")
                self.stdout.flush()
            line = await asyncio.to_thread(self.stdin.readline)
            if not line:
                break
            line = line.rstrip("\n")
            if line.strip() in ("/quit", "/exit"):
                break
            if line.strip():
                await self.send(line)

    async def send(self, line: str) -> None:
        """Turn one typed line into an Incoming, hand it to the engine, print the replies."""
        if self.host is not None and self.typed_as_reminded(line):
            language = await self.host.language(self.key)
            number = line.strip()
            self.write(self.host.text("number_unseen", language).format(number=number) + "\n")
            return
        incoming = self.incoming(line)
        if incoming is None:
            return
        await self.send_replies(self.key, self.key.user_id, await self.engine.handle(incoming))

    async def send_replies(
        self, key: ConversationKey, chat_id: str, replies: Sequence[Reply]
    ) -> None:
        """Print one answer (this session has one person): the last question's buttons numbered."""
        fitted = fit(replies, LIMITS)
        shown, self.screen = self.screen.show(fitted)
        for reply, buttons in zip(fitted, shown, strict=True):
            self.show(reply, buttons)

    async def deliver_reminder(self, reminder: Reminder, reply: Reply) -> Delivery:
        """Print a due reminder into the session; its buttons become the ones to press."""
        self.write("")
        if reply.buttons:
            self.reminded_at = self.monotonic()
        for message in fit([reply], LIMITS):
            self.screen = self.screen.asking(message)
            buttons = [b for row in message.buttons for b in row]
            self.show(message, lines(buttons, numbered=self.screen.numbered))
        if self.interactive:
            self.stdout.write("> ")
            self.stdout.flush()
        return Delivery.SENT

    def typed_as_reminded(self, line: str) -> bool:
        """Return True for a number typed at a terminal within seconds of a reminder's list."""
        if not self.interactive or self.reminded_at is None or self.screen.number(line) is None:
            return False
        return self.monotonic() - self.reminded_at < READING.total_seconds()

    def incoming(self, line: str) -> Incoming | None:
        key, chat = self.key, self.key.user_id
        stripped = line.strip()
        button = self.screen.press(stripped)
        if button is not None:
            return Incoming(key, chat, button=button.data)
        if stripped.startswith("/file"):
            attachments = self.attachments(stripped[len("/file") :])
            return Incoming(key, chat, attachments=tuple(attachments)) if attachments else None
        if stripped.startswith("/forward "):
            return Incoming(key, chat, text=stripped[len("/forward ") :], forward=Forward("user"))
        return Incoming(key, chat, text=line)

    def save(self, document: Document) -> str:
        """Save a document the bot sent under the documents folder; return where it went."""
        if self.documents is None:
            return document.file_name
        self.documents.mkdir(parents=True, exist_ok=True)
        path = self.documents / Path(document.file_name).name
        path.write_bytes(document.content)
        return str(path)

    def attachments(self, args: str) -> list[Attachment]:
        try:
            names = shlex.split(args)
        except ValueError:
            names = args.split()
        if not names:
            self.write("usage: /file PATH [PATH...]")
            return []
        found = []
        for name in names:
            path = Path(name).expanduser()
            if not path.is_file():
                self.write(f"(no such file: {name})")
                continue
            mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            kind = "photo" if mime in ("image/jpeg", "image/png") else "document"
            found.append(
                Attachment(
                    kind=kind,
                    file_name=path.name,
                    mime_type=mime,
                    size=path.stat().st_size,
                    fetch=_file_reader(path),
                )
            )
        return found

    def show(self, reply: Reply, buttons: list[str]) -> None:
        """Print a reply: its text, its button lines, and where its document was saved."""
        if reply.text:
            self.write(reply.text)
        for line in buttons:
            self.write(line)
        if reply.document is not None:
            self.write(f"  [document: {self.save(reply.document)}]")
        self.write("")
