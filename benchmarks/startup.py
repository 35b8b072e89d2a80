"""7. Start-up: from nothing running to the first answer, with a million cases in the database.

Measured in the same run on an empty database (the baseline): what a big database adds to
start-up is the difference. Module imports are timed on their own, in a fresh interpreter.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bots import our_bot, settings_for
from dataset import cached
from harness import BenchAPI, Person, Step, data_dir, heading, median, running_application, verdict

TARGET = 1.0
START = Step("command", "start", "遇到了什么问题")


async def start_to_ready(path: Path) -> tuple[float, float]:
    """Start our bot on `path`; return seconds until it polls, and until /start is answered."""
    api = BenchAPI()
    person = Person(api, api.add_user("first"))
    settings = settings_for(path.parent, storage_db_path=str(path))
    started = time.perf_counter()
    app = our_bot(api, settings, rate_limited=True)
    async with running_application(app, allowed_updates=["message", "callback_query"]):
        polling = time.perf_counter() - started
        await person.do(START, b"")
        answered = time.perf_counter() - started
    return polling, answered


def import_seconds() -> float:
    """Return how long importing the bot takes in a fresh interpreter."""
    code = "import time; t = time.perf_counter(); import bot.__main__, bot.messengers.telegram; "
    code += "print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout)


def main(argv: Sequence[str] | None = None) -> bool:
    """Run the benchmark, print its figures; return whether the target holds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000, help="cases in the database")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="2,000 cases, once")
    args = parser.parse_args(argv)
    if args.quick:
        args.cases, args.repeat = 2_000, 1
    logging.basicConfig(level=logging.WARNING)
    heading(f"7. start-up to the first answer: empty database, then {args.cases:,} cases")
    full = asyncio.run(cached(args.cases))
    empty = data_dir("startup") / "empty.sqlite3"
    imports = median([import_seconds() for _ in range(3)])
    print(f"importing the bot (fresh interpreter): {imports:.2f} s")
    results = {}
    for name, path in (("empty database", empty), (f"{args.cases:,} cases", full)):
        runs = [asyncio.run(start_to_ready(path)) for _ in range(args.repeat)]
        polling, answered = median([r[0] for r in runs]), median([r[1] for r in runs])
        results[name] = answered
        print(
            f"{name:<16} polling after {polling:.3f} s,"
            f" first /start answered after {answered:.3f} s"
        )
    worst = results[f"{args.cases:,} cases"]
    holds = worst < TARGET
    print(
        f"start-up to ready with {args.cases:,} cases: {worst:.3f} s, {imports + worst:.2f} s with"
        f" imports (target < {TARGET:.0f} s, imports aside): {verdict(holds)}"
    )
    return holds


if __name__ == "__main__":
    main()
