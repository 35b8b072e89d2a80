"""8. A crafted message does not stall the bot: the check is linear, capped and off the loop.

Two parts:
- the time of one check (bot.analysis.analyse) on crafted inputs of growing length, the slowest
  of several shapes ('1.' repeated, digits, letters, Chinese, many short links, ...): it grows
  linearly up to the READ_LIMIT characters the check reads, then stays flat;
- others' reply times (/help, and checking an ordinary scam SMS, each person pausing THINK
  seconds between messages) through the real PTB Application on the default settings (flood
  limit included), while one person sends the worst input the bot accepts (a 4,096-character
  message, Telegram's maximum) as fast as the flood gate accepts it: its whole allowance at
  once, then one each time the gate refills. Baseline, in the same run: the same people,
  without the attacker.

Target: others' p95 under 200 ms with the attacker.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bots import our_bot, settings_for
from harness import (
    BenchAPI,
    Figures,
    Person,
    Step,
    heading,
    make_png,
    running_application,
    verdict,
)

from bot.analysis import READ_LIMIT, analyse

TARGET = 0.200
WORST = "1." * 2048  # the probe's input: 4,096 characters, the longest Telegram message
SHAPES = ("1.", "1", "a", "中", "a.cn ", "1 ", "12.", "http://a", "a ", "验证码")
SCAM = "【医保中心】您的医保卡已被冻结，请在24小时内登录 nhsa-gov.cn.xyz 重新认证，逾期将停用。"
STEPS = (Step("command", "help", "/cases"), Step("text", SCAM, "诈骗"))
PHOTO = make_png(8, 8)
THINK = 0.5  # seconds a person takes between two messages (staying under the flood limit)


def time_checks(lengths: Sequence[int], repeats: int) -> list[tuple[int, float, str]]:
    """Return (length, slowest ms per check, its shape) for each length."""
    analyse("warm up: a.cn 13800138000")
    rows = []
    for length in lengths:
        slowest, which = 0.0, ""
        for shape in SHAPES:
            text = shape * (length // len(shape))
            started = time.perf_counter()
            for _ in range(repeats):
                analyse(text, "13800138000")
            took = (time.perf_counter() - started) / repeats * 1000
            if took > slowest:
                slowest, which = took, shape
        rows.append((length, slowest, which))
    return rows


async def others_while(
    folder: Path, people: int, seconds: float, attacker: bool
) -> tuple[Figures, int]:
    """Run `people` asking /help and checking an SMS for `seconds`; return their figures."""
    api = BenchAPI()
    settings = settings_for(folder)
    app = our_bot(api, settings)
    figures = Figures("others, with the attacker" if attacker else "others, baseline")
    sent = 0
    async with running_application(app, allowed_updates=["message", "callback_query"]):
        warm = Person(api, api.add_user("warm"))
        for step in STEPS:  # loads what a first check loads, outside the measurement
            await warm.do(step, PHOTO)
        stop = asyncio.Event()

        async def attack() -> None:
            nonlocal sent
            assert settings.flood_rate is not None
            limit, period = settings.flood_rate
            mallory = api.add_user("mallory")
            # entities=[]: what Telegram finds in it (nothing), without the fake's slow look
            for _ in range(limit):  # the whole allowance at once
                mallory.send_text(WORST, entities=[])
                sent += 1
            while not stop.is_set():  # then one each time the gate has room again
                await asyncio.sleep(period / limit)
                mallory.send_text(WORST, entities=[])
                sent += 1

        async def one(index: int) -> None:
            person = Person(api, api.add_user(f"p{index}"), timeout=120.0)
            while not stop.is_set():
                for step in STEPS:
                    figures.latencies.append(await person.do(step, PHOTO))
                    await asyncio.sleep(THINK)

        loop = asyncio.get_running_loop()
        started, busy = loop.time(), api.busy
        tasks = [asyncio.create_task(one(i)) for i in range(people)]
        if attacker:
            tasks.append(asyncio.create_task(attack()))
        await asyncio.sleep(seconds)
        stop.set()
        await asyncio.gather(*tasks)
        figures.wall, figures.fake = loop.time() - started, api.busy - busy
    return figures, sent


async def measure(people: int, seconds: float, folder: Path) -> tuple[Figures, Figures, int]:
    """The baseline, then the same with the attacker, each on a fresh fake and database."""
    baseline, _ = await others_while(folder / "baseline", people, seconds, attacker=False)
    attacked, sent = await others_while(folder / "attacked", people, seconds, attacker=True)
    return baseline, attacked, sent


def main(argv: Sequence[str] | None = None) -> bool:
    """Run the benchmark, print its figures; return whether the target holds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=5, help="others using the bot (5)")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each run (20)")
    parser.add_argument("--quick", action="store_true", help="2 people, 2 s, short inputs")
    args = parser.parse_args(argv)
    lengths = [250, 500, 1000, 2000, 4096, 32768]
    repeats = 5
    if args.quick:
        args.people, args.seconds, lengths, repeats = 2, 2.0, [250, 1000, 4096], 1
    logging.basicConfig(level=logging.WARNING)
    heading("8. a crafted message does not stall the bot")
    print(f"one check, slowest of {len(SHAPES)} crafted shapes (the check reads {READ_LIMIT:,}):")
    for length, ms, shape in time_checks(lengths, repeats):
        print(f"  {length:>6,} characters: {ms:7.2f} ms  ({shape!r} repeated)")
    with tempfile.TemporaryDirectory(prefix="bench-stall-") as tmp:
        baseline, attacked, sent = asyncio.run(measure(args.people, args.seconds, Path(tmp)))
    print(baseline.line())
    print(attacked.line())
    p95 = attacked.percentile(95)
    holds = p95 < TARGET
    print(
        f"the attacker sent {sent} messages of {len(WORST):,} characters;"
        f" others' p95 {p95 * 1000:.0f} ms with it, {baseline.percentile(95) * 1000:.0f} ms"
        f" without (target < {TARGET * 1000:.0f} ms): {verdict(holds)}"
    )
    return holds


if __name__ == "__main__":
    main()
