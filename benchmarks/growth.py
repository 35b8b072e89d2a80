"""3. Flat cost as data grows: the SMS intake with 1k, 100k and 1M cases already filed.

The same walk as the throughput benchmark (fewer chats), on databases generated in bulk: copies
of SQLite files, and with `--backend postgres` or `both` (the default) databases on a throwaway
PostgreSQL server, seeded with the same rows. The sizes and the backends take turns, round after
round, so that noise from other work on the machine falls on all of them alike; the figure per
size is the median round. Baseline: the smallest database, and SQLite for PostgreSQL.

Per update it prints the wall time (ms per update with all chats at once), the latency each
person saw (p50, p95), the CPU the bot's process spent (the fake Bot API's own time taken out)
and, on PostgreSQL, the server's; and the store's side alone: how long the engine waited for
`load_conversation` and for `commit`, the two calls every update makes.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import backends
from bots import SMS_WALK, App, our_bot, services_of, settings_for
from dataset import build_postgres, cached, seeded
from harness import BenchAPI, Figures, data_dir, heading, median, verdict
from pg_server import PgServer
from throughput import walk_all

from bot.config import Settings

TARGET = 1.25
STORE_CALLS = ("load_conversation", "commit")


@dataclass
class Round:
    """One walk of every chat on one database: per-update figures, in ms."""

    wall: float  # wall time / updates, all chats at once
    p50: float
    p95: float
    cpu: float  # the bot's process, the fake Bot API's time taken out
    server: float  # the PostgreSQL server's processes (0 on SQLite)
    store: dict[str, tuple[float, float]]  # store call -> (p50, p95)


@dataclass
class StoreMeter:
    """Times every call the engine makes to the store's `STORE_CALLS`, and the server's CPU."""

    server: PgServer | None
    took: dict[str, list[float]] = field(default_factory=lambda: {c: [] for c in STORE_CALLS})
    server_cpu: float = 0.0

    def _wrap(self, name: str, call: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
        async def timed_call(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await call(*args, **kwargs)
            finally:
                self.took[name].append(time.perf_counter() - started)

        return timed_call

    @contextmanager
    def __call__(self, app: App) -> Iterator[None]:
        store = services_of(app).store
        for name in STORE_CALLS:  # on the instance: the engine and the bot share this store
            setattr(store, name, self._wrap(name, getattr(store, name)))
        before = backends.server_cpu(self.server) if self.server else 0.0
        yield
        # Read before the app stops: the pool's connections (server processes) are still open.
        if self.server:
            self.server_cpu = backends.server_cpu(self.server) - before

    def percentiles(self) -> dict[str, tuple[float, float]]:
        """Return each store call's p50 and p95, in ms."""
        return {name: (_pct(t, 50), _pct(t, 95)) for name, t in self.took.items()}


def _pct(seconds: list[float], p: float) -> float:
    return Figures("", latencies=seconds).percentile(p) * 1000


async def one_round(settings: Settings, chats: int, walks: int, server: PgServer | None) -> Round:
    """Walk the intake on the database `settings` name; return its per-update figures."""
    api = BenchAPI()
    app = our_bot(api, settings)
    meter = StoreMeter(server)
    figures = await walk_all(api, app, SMS_WALK, chats, walks, "growth", echo=False, metered=meter)
    updates = len(figures.latencies)
    return Round(
        wall=1000 / figures.rate,
        p50=figures.percentile(50) * 1000,
        p95=figures.percentile(95) * 1000,
        cpu=(figures.cpu - figures.fake) * 1000 / updates,
        server=meter.server_cpu * 1000 / updates,
        store=meter.percentiles(),
    )


def _databases(backend: str, sizes: list[int], folder: Path) -> dict[int, Settings]:
    """Make one database per size on `backend`; return the settings that open each."""
    found = {}
    for size in sizes:
        place = folder / f"{backend}-{size}"
        if backend == "sqlite":  # a copy: the walks file new cases into it
            path = place.with_suffix(".sqlite3")
            shutil.copyfile(asyncio.run(cached(size)), path)
            found[size] = settings_for(place, storage_db_path=str(path))
        else:
            url = backends.server().new_database()
            seeded(size, asyncio.run(build_postgres(url, size)))
            found[size] = settings_for(place, storage_url=url)
    return found


def _summary(rounds: list[Round]) -> Round:
    """Return the median of each figure over the rounds."""
    store = {
        name: (
            median([r.store[name][0] for r in rounds]),
            median([r.store[name][1] for r in rounds]),
        )
        for name in STORE_CALLS
    }
    return Round(
        *(median([getattr(r, f) for r in rounds]) for f in ("wall", "p50", "p95", "cpu", "server")),
        store=store,
    )


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
    backends.add_option(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.chats, args.walks, args.rounds = [100, 2_000], 5, 1, 1
    logging.basicConfig(level=logging.WARNING)
    heading(
        f"3. cost per update with {', '.join(f'{n:,}' for n in args.sizes)} cases filed"
        f" ({args.chats} chats, {args.walks} intakes each, {args.rounds} rounds)"
    )
    kinds = backends.chosen(args.backend)
    folder = data_dir("growth")
    databases = {kind: _databases(kind, args.sizes, folder) for kind in kinds}
    server = backends.server() if "postgres" in kinds else None
    rounds: dict[tuple[str, int], list[Round]] = {(k, s): [] for k in kinds for s in args.sizes}
    for turn in range(args.rounds):
        # Each round starts with another size: none always runs first, or last.
        order = args.sizes[turn % len(args.sizes) :] + args.sizes[: turn % len(args.sizes)]
        for size in order:
            for kind in kinds:
                figures = asyncio.run(
                    one_round(
                        databases[kind][size],
                        args.chats,
                        args.walks,
                        server if kind == "postgres" else None,
                    )
                )
                rounds[kind, size].append(figures)
    for kind in kinds:
        if kind == "postgres":
            for settings in databases[kind].values():
                backends.drop_database(settings.storage_url)
    shutil.rmtree(folder)  # the copies: gigabytes at 1M cases
    holds = True
    for kind in kinds:
        base = _summary(rounds[kind, args.sizes[0]])
        for size in args.sizes:
            got = _summary(rounds[kind, size])
            server_cpu = f" + server {got.server:5.2f}" if kind == "postgres" else ""
            store = ", ".join(f"{n} {p50:.1f}/{p95:.1f}" for n, (p50, p95) in got.store.items())
            print(
                f"{kind:<8} {size:>10,} cases: {got.wall:6.3f} ms per update,"
                f" x{got.wall / base.wall:.2f} the cost at {args.sizes[0]:,};"
                f" latency p50 {got.p50:6.1f} ms, p95 {got.p95:6.1f} ms;"
                f" CPU {got.cpu:5.2f}{server_cpu} ms per update;"
                f" store p50/p95 ms: {store}"
            )
        ratio = _summary(rounds[kind, args.sizes[-1]]).wall / base.wall
        holds = holds and ratio <= TARGET
        print(
            f"{kind}: cost at {args.sizes[-1]:,} / cost at {args.sizes[0]:,} = {ratio:.2f}"
            f" (target <= {TARGET}): {verdict(ratio <= TARGET)}"
        )
    if len(kinds) == 2:
        for size in args.sizes:
            lite, pg = (_summary(rounds[kind, size]) for kind in kinds)
            print(
                f"PostgreSQL / SQLite at {size:,} cases: {pg.wall / lite.wall:.2f}x the wall"
                f" time per update, {(pg.cpu + pg.server) / lite.cpu:.2f}x the CPU"
                " (bot + server)"
            )
    return holds


if __name__ == "__main__":
    main()
