"""3. Flat cost as data grows: the SMS intake with 1k, 100k and 1M cases already filed.

The same walk as the throughput benchmark (fewer chats), on copies of generated databases. The
sizes take turns, round after round, so that noise from other work on the machine falls on all of
them alike; the figure per size is the median round. Baseline: the smallest database.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
from collections.abc import Sequence
from pathlib import Path

from bots import SMS_WALK, our_bot, settings_for
from dataset import cached
from harness import BenchAPI, data_dir, heading, median, verdict
from throughput import walk_all

TARGET = 1.25


async def one_round(path: Path, chats: int, walks: int) -> tuple[float, float]:
    """Walk the intake on `path`; return ms per update (wall / updates) and the p50 latency."""
    api = BenchAPI()
    app = our_bot(api, settings_for(path.parent, storage_db_path=str(path)))
    figures = await walk_all(api, app, SMS_WALK, chats, walks, path.stem, echo=False)
    return 1000 / figures.rate, figures.percentile(50) * 1000


def main(argv: Sequence[str] | None = None) -> bool:
    """Run the benchmark, print its figures; return whether the target holds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[1_000, 100_000, 1_000_000], help="cases"
    )
    parser.add_argument("--chats", type=int, default=20)
    parser.add_argument("--walks", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="100 and 2,000 cases, one round")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.chats, args.walks, args.rounds = [100, 2_000], 5, 1, 1
    logging.basicConfig(level=logging.WARNING)
    heading(
        f"3. cost per update with {', '.join(f'{n:,}' for n in args.sizes)} cases filed"
        f" ({args.chats} chats, {args.walks} intakes each, {args.rounds} rounds)"
    )
    folder = data_dir("growth")
    copies = {}
    for size in args.sizes:  # a copy: the walks file new cases into it
        copies[size] = folder / f"cases-{size}.sqlite3"
        shutil.copyfile(asyncio.run(cached(size)), copies[size])
    costs: dict[int, list[tuple[float, float]]] = {size: [] for size in args.sizes}
    for turn in range(args.rounds):
        # Each round starts with another size: none always runs first, or last.
        for size in args.sizes[turn % len(args.sizes) :] + args.sizes[: turn % len(args.sizes)]:
            costs[size].append(asyncio.run(one_round(copies[size], args.chats, args.walks)))
    shutil.rmtree(folder)  # the copies: gigabytes at 1M cases
    base = median([c[0] for c in costs[args.sizes[0]]])
    for size in args.sizes:
        cost = median([c[0] for c in costs[size]])
        p50 = median([c[1] for c in costs[size]])
        print(
            f"{size:>10,} cases: {cost:6.3f} ms per update (p50 latency {p50:6.1f} ms),"
            f" x{cost / base:.2f} the cost at {args.sizes[0]:,}"
        )
    ratio = median([c[0] for c in costs[args.sizes[-1]]]) / base
    holds = ratio <= TARGET
    print(
        f"cost at {args.sizes[-1]:,} / cost at {args.sizes[0]:,} = {ratio:.2f}"
        f" (target <= {TARGET}): {verdict(holds)}"
    )
    return holds


if __name__ == "__main__":
    main()
