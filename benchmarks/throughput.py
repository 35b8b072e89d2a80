"""1. End-to-end throughput: people walking the SMS intake through the real PTB Application.

Each simulated person waits for the bot's answer before the next update, as a person would; all
chats run at once. Baseline, in the same run: a bare PTB echo bot on the same harness, answering
each update with one message (the ceiling this pipeline of PTB + fake Bot API can reach).
All run without a rate limiter: with one, all would measure Telegram's 30 messages/s.

Two more runs show where the time goes:
- a bare PTB bot sending the fewest messages this intake could send (one message, or one in-place
  edit of the pressed question, per step; no flow logic, no storage): what PTB alone costs for
  questions with buttons, the ceiling for any bot walking this intake;
- our Application answering with our bot's recorded replies (our messages, no logic): what PTB
  and our Telegram layer cost for exactly what we send.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from bots import (
    SMS_WALK,
    App,
    RecordingEngine,
    ReplayEngine,
    echo_bot,
    fewest_bot,
    our_bot,
    services_of,
    settings_for,
)
from harness import BenchAPI, Figures, Person, Step, heading, make_png, running_application, verdict

from flows.model import Reply

TARGET = 0.60
PHOTO = make_png(64, 48)


async def walk_all(
    api: BenchAPI,
    app: App,
    walk: Sequence[Step],
    chats: int,
    walks: int,
    name: str,
    echo: bool,
    replay: list[list[Reply]] | None = None,
    in_place: bool = False,
    metered: Callable[[App], AbstractContextManager[object]] | None = None,
) -> Figures:
    """Run `chats` people at once, each doing `walks` walks as new people; return the figures.

    With `replay`, our engine is swapped for one that answers with those recorded replies;
    `in_place`: presses are answered by editing the pressed message; `metered(app)` is entered
    around the measured part (after the warm-up), for a caller's own meters.
    """
    figures = Figures(name)
    names = itertools.count()
    async with running_application(app, allowed_updates=["message", "callback_query"]):
        if replay is not None:
            services_of(app).engine = ReplayEngine(replay)
        warm = Person(api, api.add_user(f"warm-{name}"))
        for step in walk:  # loads what a first update loads, outside the measurement
            await warm.do(step, PHOTO, echo=echo, in_place=in_place)

        async def one_chat() -> None:
            for _ in range(walks):
                person = Person(api, api.add_user(f"p{next(names)}"))
                for step in walk:
                    took = await person.do(step, PHOTO, echo=echo, in_place=in_place)
                    figures.latencies.append(took)

        loop = asyncio.get_running_loop()
        with metered(app) if metered is not None else nullcontext():
            started, busy, cpu = loop.time(), api.busy, time.process_time()
            await asyncio.gather(*(one_chat() for _ in range(chats)))
            figures.wall, figures.fake = loop.time() - started, api.busy - busy
            figures.cpu = time.process_time() - cpu
    return figures


async def record_replies(folder: Path) -> list[list[Reply]]:
    """Walk the intake once with our bot and return its replies, step by step."""
    api = BenchAPI()
    app = our_bot(api, settings_for(folder))
    async with running_application(app, allowed_updates=["message", "callback_query"]):
        services = services_of(app)
        recording = services.engine = RecordingEngine(services.engine)
        person = Person(api, api.add_user("recorder"))
        for step in SMS_WALK:
            await person.do(step, PHOTO)
    return recording.recorded


async def measure(chats: int, walks: int, folder: Path) -> tuple[Figures, ...]:
    """Echo, the fewest messages, our messages replayed, then ours, each on a fresh fake."""
    echo_api = BenchAPI()
    echo = await walk_all(
        echo_api, echo_bot(echo_api), SMS_WALK, chats, walks, "bare PTB echo bot", echo=True
    )
    recorded = await record_replies(folder / "record")
    fewest_api = BenchAPI()
    fewest = await walk_all(
        fewest_api,
        fewest_bot(fewest_api, recorded, SMS_WALK),
        SMS_WALK,
        chats,
        walks,
        "bare PTB, fewest messages",
        echo=False,
        in_place=True,
    )
    replay_api = BenchAPI()
    replay = await walk_all(
        replay_api,
        our_bot(replay_api, settings_for(folder / "replay")),
        SMS_WALK,
        chats,
        walks,
        "our messages, no logic",
        echo=False,
        replay=recorded,
    )
    ours_api = BenchAPI()
    ours = await walk_all(
        ours_api,
        our_bot(ours_api, settings_for(folder)),
        SMS_WALK,
        chats,
        walks,
        "complaint-bot (SMS intake)",
        echo=False,
    )
    return echo, fewest, replay, ours


def main(argv: Sequence[str] | None = None) -> bool:
    """Run the benchmark, print its figures; return whether the target holds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=100, help="people at once (100)")
    parser.add_argument("--walks", type=int, default=3, help="intakes each chat walks (3)")
    parser.add_argument("--quick", action="store_true", help="5 chats, 1 walk")
    args = parser.parse_args(argv)
    if args.quick:
        args.chats, args.walks = 5, 1
    logging.basicConfig(level=logging.WARNING)
    heading(
        f"1. end-to-end throughput: {args.chats} chats at once, {args.walks} SMS intakes each,"
        f" {len(SMS_WALK)} updates per intake (one photo)"
    )
    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as tmp:
        echo, fewest, replay, ours = asyncio.run(measure(args.chats, args.walks, Path(tmp)))
    ratio = ours.rate / echo.rate
    print(echo.line())
    print(fewest.line())
    print(replay.line())
    print(ours.line())
    holds = ratio >= TARGET
    print(f"ours / echo = {ratio:.2f} (target >= {TARGET:.2f}): {verdict(holds)}")
    print(
        f"without the fake Bot API's own time: echo {echo.net_rate:.1f}/s, ours"
        f" {ours.net_rate:.1f}/s, ours / echo = {ours.net_rate / echo.net_rate:.2f}"
    )
    print(
        f"bare PTB, fewest messages / echo = {fewest.rate / echo.rate:.2f} (the ceiling for this"
        " intake on PTB: one message or in-place edit per step, no logic, no storage)"
    )
    print(
        f"ours / our messages with no logic = {ours.rate / replay.rate:.2f}"
        " (what the engine and SQLite cost on top of PTB handling our messages)"
    )
    return holds


if __name__ == "__main__":
    main()
