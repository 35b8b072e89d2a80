"""5. Memory: conversations started and left idle cost the bot (almost) no memory.

Each simulated person sends /start and picks a category, so a conversation is in progress, then
goes quiet. Resident memory (RSS) is read after a warm-up and again after all of them, garbage
collected both times; what the fake Bot API keeps about a person is dropped once they are done,
so the growth is the bot's. Baseline in the same run: a bare PTB echo bot given the same updates.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bots import SMS, App, echo_bot, our_bot, settings_for
from harness import BenchAPI, Person, Step, heading, running_application, settled_rss_kb, verdict

TARGET_KB = 2.0
START = (Step("command", "start", "遇到了什么问题"), Step("press", SMS, "（1/11）"))


async def start_many(
    api: BenchAPI, count: int, chats: int, echo: bool, names: itertools.count[int]
) -> None:
    """Start `count` conversations, `chats` at a time, and forget each person in the fake."""
    left = iter(range(count))

    async def one_chat() -> None:
        for _ in left:
            person = Person(api, api.add_user(f"p{next(names)}"))
            for step in START:
                await person.do(step, b"", echo=echo)
            api.forget(person.user)

    await asyncio.gather(*(one_chat() for _ in range(chats)))


async def growth(
    api: BenchAPI, app: App, count: int, warm: int, chats: int, echo: bool
) -> tuple[int, int]:
    """Return RSS (KB) after `warm` conversations and after `count` more."""
    names = itertools.count()
    async with running_application(app, allowed_updates=["message", "callback_query"]):
        await start_many(api, warm, chats, echo, names)
        before = settled_rss_kb()
        await start_many(api, count, chats, echo, names)
        after = settled_rss_kb()
    return before, after


def report(name: str, count: int, before: int, after: int) -> float:
    """Print one line; return KB per conversation."""
    per = (after - before) / count
    print(
        f"{name:<28} RSS {before / 1024:7.1f} MB -> {after / 1024:7.1f} MB:"
        f" {per * 1024:7.1f} bytes per conversation"
    )
    return per


def main(argv: Sequence[str] | None = None) -> bool:
    """Run the benchmark, print its figures; return whether the target holds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--warm", type=int, default=5_000, help="started before the first reading")
    parser.add_argument("--chats", type=int, default=100, help="people at once")
    parser.add_argument("--quick", action="store_true", help="300 conversations")
    args = parser.parse_args(argv)
    if args.quick:
        args.conversations, args.warm, args.chats = 300, 50, 10
    logging.basicConfig(level=logging.WARNING)
    heading(f"5. memory: {args.conversations:,} conversations started and left idle")
    echo_api = BenchAPI()
    echo = asyncio.run(
        growth(echo_api, echo_bot(echo_api), args.conversations, args.warm, args.chats, True)
    )
    report("bare PTB echo bot", args.conversations, *echo)
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        api = BenchAPI()
        app = our_bot(api, settings_for(Path(tmp)))
        ours = asyncio.run(growth(api, app, args.conversations, args.warm, args.chats, False))
    per = report("complaint-bot", args.conversations, *ours)
    holds = per <= TARGET_KB
    print(
        f"{per * 1024:.0f} bytes per idle conversation (target <= {TARGET_KB:.0f} KB):"
        f" {verdict(holds)}"
    )
    return holds


if __name__ == "__main__":
    main()
