"""The local console: the same engine on stdin/stdout, no account needed.

Buttons print as a numbered list; typing the number or the label presses one. Where a typed
answer is expected, buttons are listed without numbers (so "100" is an amount, not button 100)
and pressed by their label. `/file PATH [PATH...]` attaches local files as evidence,
`/forward TEXT` pretends TEXT was forwarded from another chat, `/quit` (or end of input) leaves.
"""

from __future__ import annotations

import asyncio
import mimetypes
import re
import shlex
import sys
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import TextIO

from bot.scheduler import Delivery
from flows.conversation.engine import Engine
from flows.model import Attachment, Button, ConversationKey, Document, Forward, Incoming, Reply
from flows.records import Reminder

MESSENGER = "console"
_NOT_WORD = re.compile(r"[^\w]+")


def _normalise(label: str) -> str:
    return _NOT_WORD.sub("", label).casefold()


def _file_reader(path: Path) -> Callable[[], Awaitable[bytes]]:
    return partial(asyncio.to_thread, path.read_bytes)


class Console:
    """Chat with the engine in a terminal or through a pipe."""

    def __init__(
        self,
        engine: Engine,
        *,
        user_id: str = "local",
        stdin: TextIO = sys.stdin,
        stdout: TextIO = sys.stdout,
        documents: Path | None = None,
    ) -> None:
        self.engine = engine
        self.key = ConversationKey(MESSENGER, user_id)
        self.stdin = stdin
        self.stdout = stdout
        self.documents = documents  # where letters and exports are saved (None: not saved)
        self.buttons: list[Button] = []
        self.labels: list[Button] = []  # every button of the last answer, the newest first
        self.numbered = True
        self.interactive = stdin.isatty()

    def write(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

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
        incoming = self.incoming(line)
        if incoming is None:
            return
        replies = await self.engine.handle(incoming)
        active = max((i for i, r in enumerate(replies) if r.buttons), default=None)
        for index, reply in enumerate(replies):
            self.show(reply, active=index == active)
        # As in a messenger, any button still on screen can be pressed by typing its label;
        # a number picks from the last set.
        labels = [b for r in reversed(replies) for row in r.buttons for b in row]
        if labels:
            self.labels = labels

    async def deliver(self, reminder: Reminder, reply: Reply) -> Delivery:
        """Print a due reminder into the session; its buttons become the ones to press."""
        self.write("")
        self.show(reply, active=True)
        if self.interactive:
            self.stdout.write("> ")
            self.stdout.flush()
        return Delivery.SENT

    def incoming(self, line: str) -> Incoming | None:
        key, chat = self.key, self.key.user_id
        stripped = line.strip()
        button = self.match_button(stripped)
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

    def match_button(self, text: str) -> Button | None:
        if self.numbered and text.isdigit() and 1 <= int(text) <= len(self.buttons):
            return self.buttons[int(text) - 1]
        on_screen = [*self.buttons, *self.labels]
        exact = next((b for b in on_screen if b.label.strip() == text), None)
        if exact is not None:  # labels of emoji only (the rating stars) normalise to nothing
            return exact
        wanted = _normalise(text)
        if not wanted:
            return None
        return next((b for b in on_screen if _normalise(b.label) == wanted), None)

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

    def show(self, reply: Reply, *, active: bool) -> None:
        """Print a reply: its text, then its buttons (numbered if they are the ones to press)."""
        if reply.text:
            self.write(reply.text)
        buttons = [button for row in reply.buttons for button in row]
        numbered = active and not reply.expects_text
        if active:
            self.buttons, self.numbered = buttons, numbered
        for index, button in enumerate(buttons, start=1):
            self.write(f"  {index}. {button.label}" if numbered else f"  · {button.label}")
        if reply.document is not None:
            self.write(f"  [document: {self.save(reply.document)}]")
        self.write("")
