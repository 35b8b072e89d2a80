"""6. Reminder dispatch: thousands of reminders due at once, against Telegram's 30 messages/s.

The fake Bot API answers sendMessage with 429 and `retry_after` once more than 30 arrived within
one second, as Telegram does. Our bot runs as in production (its rate limiter included) on a
database where every case's deadline has passed. Baseline in the same run: a bare PTB bot with
PTB's AIORateLimiter as we configure it (3 retries) sending as many messages at once.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bots import our_bot, settings_for
from dataset import FIRST_USER, build
from harness import BenchAPI, data_dir, heading, running_application, verdict
from telegram.ext import AIORateLimiter, ExtBot

LIMIT = 30  # messages per second the fake Bot API accepts, all chats together
MIN_RATE = 25.0


@dataclass
class Sends:
    """What the fake Bot API saw of one run."""

    name: str
    sent: list[float]
    refused: list[float]

    @property
    def start(self) -> float:
        return min(self.sent[:1] + self.refused[:1])

    def refused_after_first_second(self) -> int:
        return sum(1 for at in self.refused if at - self.start > 1.0)

    def rate(self) -> float:
        """Messages/s accepted from the first attempt to the last accepted message."""
        span = self.sent[-1] - self.start
        return (len(self.sent) - 1) / span if span > 0 else 0.0

    def line(self) -> str:
        return (
            f"{self.name:<34} {len(self.sent):6,} delivered in {self.sent[-1] - self.start:6.1f} s"
            f"  {self.rate():5.1f}/s   429s: {len(self.refused)} in all,"
            f" {self.refused_after_first_second()} after the first second"
        )


def limited_api(people: int, latency: float) -> BenchAPI:
    """A fake Bot API with `people` private chats and Telegram's overall limit."""
    api = BenchAPI()
    api.latency = latency
    for i in range(people):
        api.add_user(f"p{i}", user_id=FIRST_USER + i)
    api.set_rate_limit(LIMIT, methods=("sendMessage",))
    api.count_sends = True
    return api


async def baseline(count: int, latency: float) -> Sends:
    """Send `count` messages at once through a bare PTB bot with AIORateLimiter(max_retries=3)."""
    api = limited_api(count, latency)
    # It logs each message it gives up on with a traceback; the count below says it all.
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)
    bot = ExtBot(
        api.token,
        request=api.make_request(),
        get_updates_request=api.make_request(),
        rate_limiter=AIORateLimiter(max_retries=3),
    )
    async with bot:
        await asyncio.gather(
            *(bot.send_message(FIRST_USER + i, f"reminder {i}") for i in range(count)),
            return_exceptions=True,  # given up after 3 retries: counted as not delivered
        )
    return Sends("bare PTB + AIORateLimiter(3 retries)", api.sent_ok, api.too_many)


async def ours(path: Path, count: int, latency: float) -> Sends:
    """Start our bot on a database with `count` reminders due; wait until all went out."""
    api = limited_api(count, latency)
    settings = settings_for(path.parent, storage_db_path=str(path), quiet_hours="off")
    app = our_bot(api, settings, rate_limited=True)
    async with running_application(app, allowed_updates=["message", "callback_query"]):
        while len(api.sent_ok) < count:
            await asyncio.sleep(0.5)
            if len(api.too_many) > count:
                raise AssertionError("more refusals than reminders: the bot does not back off")
    return Sends("complaint-bot scheduler", api.sent_ok, api.too_many)


def main(argv: Sequence[str] | None = None) -> bool:
    """Run the benchmark, print its figures; return whether the target holds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=10_000, help="reminders due at once")
    parser.add_argument("--baseline", type=int, default=1_000, help="messages the baseline sends")
    parser.add_argument(
        "--latency", type=float, default=0.05, help="seconds each Bot API request takes (0.05)"
    )
    parser.add_argument("--quick", action="store_true", help="40 reminders, baseline 30")
    args = parser.parse_args(argv)
    if args.quick:
        args.reminders, args.baseline = 40, 30
    logging.basicConfig(level=logging.ERROR)
    heading(
        f"6. reminder dispatch: {args.reminders:,} reminders due at once, the Bot API allowing"
        f" {LIMIT}/s (429 with retry_after above)"
    )
    path = data_dir("dispatch") / "due.sqlite3"
    asyncio.run(build(path, args.reminders, due=args.reminders))
    base = asyncio.run(baseline(args.baseline, args.latency))
    print(base.line())
    result = asyncio.run(ours(path, args.reminders, args.latency))
    print(result.line())
    holds = (
        len(result.sent) == args.reminders
        and result.refused_after_first_second() == 0
        and result.rate() >= MIN_RATE
    )
    print(f"all delivered, no 429 after the first second, >= {MIN_RATE:.0f}/s: {verdict(holds)}")
    return holds


if __name__ == "__main__":
    main()
