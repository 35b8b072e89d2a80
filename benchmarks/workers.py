"""11. The intake with 1, 2 and 4 worker processes on one PostgreSQL database, SQLite beside it.

Bot processes (`run_telegram_led`, as `complaint-bot run` with `storage.url` runs it, without the
rate limiter: with it every row would measure Telegram's 30 messages/s) talk HTTP to the fake
Bot API, served by this script; people walk the SMS intake (benchmark 1's walk), each waiting
for the answer before the next update, all chats at once. Rows, in one run, on one throwaway
PostgreSQL server (127.0.0.1, fsync off):
- SQLite, one process (the embedded default), as the baseline;
- PostgreSQL, one process with `telegram.workers: 1` (the leader answers everything);
- PostgreSQL, 2 and 4 processes with `telegram.workers` 2 and 4: every process answers, one
  person at a time each (bot/messengers/inbox.py);
- PostgreSQL, one process with `telegram.workers: 2`: what taking people costs by itself.
Each row runs twice: with a per-call latency of the fake Bot API (default 100 ms round trip,
half before the call and half after it: a server a continent away from Telegram's) and with
none. Every process is warmed up first (people walk once, unmeasured). Printed with each row:
the CPU per update of the bot processes, of the PostgreSQL server and of this script (the
fake Bot API and the people), and how many of the machine's cores all of it kept busy.
Target: 4 workers >= 2.5x one, with the latency.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import os
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import backends
from harness import BenchAPI, Figures, Person, heading, make_png, verdict

# isort: split
# After harness, which puts the repo and tests/ on the path.
from bot_cluster import LEADS, STANDBY
from bot_process import ChildProcess
from bots import SMS_WALK
from fake_telegram import FakeBotAPIServer
from fake_telegram._http import HttpResponse, UploadedFile

TARGET = 2.5
LATENCY = 0.100  # seconds per Bot API call, round trip
PHOTO = make_png(64, 48)
WORKER = (sys.executable, str(Path(__file__).resolve()), "worker")
_TICKS = os.sysconf("SC_CLK_TCK")


class LatentAPI(BenchAPI):
    """The benchmarks' fake Bot API, every call delayed as over a network (half each way)."""

    def __init__(self, latency: float) -> None:
        super().__init__()
        self.round_trip = latency
        self.methods: Counter[str] = Counter()  # Bot API calls by method, getUpdates left out

    async def call(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        files: Mapping[str, UploadedFile] | None = None,
    ) -> HttpResponse:
        if method != "getUpdates":
            self.methods[method] += 1
        return await super().call(method, params, files)

    async def dispatch(
        self,
        http_method: str,
        path: str,
        params: Mapping[str, Any],
        files: Mapping[str, UploadedFile],
    ) -> HttpResponse:
        if self.round_trip:
            await asyncio.sleep(self.round_trip / 2)
        response = await super().dispatch(http_method, path, params, files)
        if self.round_trip:
            await asyncio.sleep(self.round_trip / 2)
        return response


@dataclass
class Row:
    """One configuration's figures: throughput and latency, and where the CPU went."""

    figures: Figures
    bots: list[float] = field(default_factory=list)  # CPU seconds of each bot process
    server: float = 0.0  # of the PostgreSQL server
    script: float = 0.0  # of this process: the fake Bot API and the people
    machine: float = 0.0  # CPU seconds the whole machine used meanwhile, every process of it
    methods: Counter[str] = field(default_factory=Counter)  # Bot API calls meanwhile
    inbox: list[str] = field(default_factory=list)  # each worker's inbox counts, as logged

    def line(self) -> str:
        updates = len(self.figures.latencies) or 1
        ms = 1000 / updates
        wall = self.figures.wall
        bots = sum(self.bots)
        cores = (bots + self.server + self.script) / wall
        each = " / ".join(f"{cpu / wall:.2f}" for cpu in self.bots)
        calls = ", ".join(f"{m} {n / updates:.2f}" for m, n in self.methods.most_common())
        lines = [
            self.figures.line(),
            f"  CPU per update: bots {bots * ms:.2f} ms, server {self.server * ms:.2f} ms,"
            f" fake + people {self.script * ms:.2f} ms; {cores:.2f} cores busy (each bot"
            f" {each}, server {self.server / wall:.2f}, fake + people {self.script / wall:.2f});"
            f" the whole machine {self.machine / wall:.2f} of {os.cpu_count()} cores busy",
            f"  Bot API calls per update: {calls}",
            *(f"  inbox of bot {i}: {counts}" for i, counts in enumerate(self.inbox)),
        ]
        return "\n".join(lines)


def cpu_of(pids: Sequence[int]) -> float:
    """Return the CPU seconds (user + system) the processes `pids` have used so far."""
    total = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])
    return total / _TICKS


def inbox_counts(log: Path) -> str:
    """Return what the process's shared inbox logged about its work when it stopped."""
    text = log.read_text(errors="replace") if log.exists() else ""
    found = re.findall(r"inbox telegram, shared: (.*)", text)
    return found[-1] if found else "(not shared)"


def machine_cpu() -> float:
    """Return the CPU seconds every process on the machine has used since it booted."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / _TICKS


def bot_env(
    api: BenchAPI, server: FakeBotAPIServer, url: str, workers: int, limited: bool
) -> dict[str, str]:
    """Return the environment of a bot process on the fake and the database `url`."""
    env = {
        "BENCH_RATE_LIMITED": "1" if limited else "",
        "BENCH_PROFILE": os.environ.get("BENCH_PROFILE", ""),
        "TELEGRAM_BOT_TOKEN": api.token,
        "COMPLAINT_BOT_TELEGRAM__BASE_URL": server.base_url,
        "COMPLAINT_BOT_TELEGRAM__BASE_FILE_URL": server.base_file_url,
        "COMPLAINT_BOT_TELEGRAM__FLOOD_LIMIT": "off",  # these people answer at machine speed
        "COMPLAINT_BOT_TELEGRAM__WORKERS": str(workers),
        "COMPLAINT_BOT_LOG_LEVEL": "INFO",
    }
    if url:
        env["COMPLAINT_BOT_STORAGE__URL"] = url
    return env


async def walk(api: BenchAPI, names: itertools.count[int], walks: int, figures: Figures) -> None:
    """One chat: `walks` new people one after another, each walking the whole intake."""
    for _ in range(walks):
        person = Person(api, api.add_user(f"p{next(names)}"))
        for step in SMS_WALK:
            figures.latencies.append(await person.do(step, PHOTO))


async def started(bots: list[ChildProcess], url: str) -> None:
    """Wait until the processes run: one leads and the others stand by (PostgreSQL)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while True:
        logs = [b.log.read_text(errors="replace") if b.log.exists() else "" for b in bots]
        if any(b.exited for b in bots):
            raise AssertionError(f"a bot process exited: {logs}")
        leads = sum(LEADS in log for log in logs)
        standing = sum(STANDBY in log for log in logs)
        if not url or (leads == 1 and standing == len(bots) - 1):
            return
        assert loop.time() < deadline, f"the processes did not start: {logs}"
        await asyncio.sleep(0.1)


async def measure(
    folder: Path,
    url: str,
    processes: int,
    workers: int,
    chats: int,
    walks: int,
    latency: float,
    limited: bool = False,
) -> Row:
    """Start `processes` bots on `url` (empty: SQLite), warm them, walk; return the figures.

    Warming: 8 people per process walk once first (none with fewer than 10 chats: a quick run).
    """
    warming = 8 if chats >= 10 else 0
    api = LatentAPI(latency)
    name = f"{processes} x workers={workers}" if url else "SQLite, 1 process"
    async with FakeBotAPIServer(api) as server:
        bots = []
        for i in range(processes):
            (folder / f"bot{i}").mkdir(parents=True)
            bots.append(
                ChildProcess(
                    folder / f"bot{i}",
                    command=WORKER,
                    env=bot_env(api, server, url, workers, limited),
                    calls=lambda: 0,
                )
            )
        try:
            for bot in bots:
                await bot.spawn()
            await started(bots, url)
            names = itertools.count()
            # Every process answers some of these: each takes what it sees first.
            warm = Figures("warm-up")
            await asyncio.gather(*(walk(api, names, 1, warm) for _ in range(warming * processes)))
            figures = Figures(name)
            pids = [b.process.pid for b in bots if b.process is not None]
            server_cpu = backends.server_cpu(backends.server()) if url else 0.0
            bots_cpu, script_cpu = [cpu_of([p]) for p in pids], time.process_time()
            machine = machine_cpu()
            api.methods.clear()
            began, busy = time.perf_counter(), api.busy
            await asyncio.gather(*(walk(api, names, walks, figures) for _ in range(chats)))
            figures.wall, figures.fake = time.perf_counter() - began, api.busy - busy
            row = Row(
                figures,
                bots=[cpu_of([p]) - before for p, before in zip(pids, bots_cpu, strict=True)],
                server=(backends.server_cpu(backends.server()) - server_cpu) if url else 0.0,
                script=time.process_time() - script_cpu,
                machine=machine_cpu() - machine,
                methods=Counter(api.methods),
            )
        finally:
            for bot in bots:
                await bot.stop()
    # Logged at the stop: they count the warm-up too.
    row.inbox = [inbox_counts(bot.log) for bot in bots] if workers > 1 else []
    return row


def run_rows(
    folder: Path,
    chats: int,
    walks: int,
    latency: float,
    sizes: Sequence[int],
    sqlite: bool,
    limited: bool = False,
) -> dict[str, Row]:
    """Measure SQLite (if asked), then PostgreSQL with each number of processes in `sizes`,
    and one process with the workers' locks ("shared"): what sharing costs by itself."""
    rows = {}
    if sqlite:
        rows["sqlite"] = asyncio.run(
            measure(folder / "sqlite", "", 1, 1, chats, walks, latency, limited)
        )
    configs = [(str(n), n, n) for n in sizes] + ([("shared", 1, 2)] if sqlite else [])
    for name, processes, workers in configs:
        url = backends.server().new_database()
        rows[name] = asyncio.run(
            measure(folder / name, url, processes, workers, chats, walks, latency, limited)
        )
        backends.drop_database(url)
    return rows


def main(argv: Sequence[str] | None = None) -> bool:
    """Run the benchmark, print its figures; return whether the target holds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=100, help="people at once (100)")
    parser.add_argument("--walks", type=int, default=1, help="intakes each chat walks (1)")
    parser.add_argument(
        "--latency", type=float, default=LATENCY, help=f"Bot API round trip, s ({LATENCY})"
    )
    parser.add_argument(
        "--quick", action="store_true", help="3 chats, 1 and 2 processes, with latency only"
    )
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[1, 2, 4], help="worker processes (1 2 4)"
    )
    parser.add_argument(
        "--no-baselines", action="store_true", help="no SQLite row and no 1-process sharing row"
    )
    parser.add_argument(
        "--one-latency", action="store_true", help="only --latency's rows, not 0 ms's as well"
    )
    parser.add_argument(
        "--limited",
        action="store_true",
        help="the bots send through Telegram's rate limiter, as in production (no SQLite row)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.chats, args.walks = 3, 1
    logging.basicConfig(level=logging.WARNING)
    heading(
        f"11. the intake with 1, 2 and 4 workers on PostgreSQL: {args.chats} chats at once,"
        f" {args.walks} intake(s) each, {len(SMS_WALK)} updates per intake, bots as processes"
        f" over HTTP, on {os.cpu_count()} cores"
    )
    if "postgres" not in backends.chosen("postgres"):
        return True
    one_latency = args.quick or args.one_latency
    latencies = [args.latency] if one_latency else list(dict.fromkeys([args.latency, 0.0]))
    sizes = (1, 2) if args.quick else tuple(args.sizes)
    holds = True
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        for latency in latencies:
            print(f"-- Bot API round trip {latency * 1000:.0f} ms", flush=True)
            folder = Path(tmp) / f"{latency}"
            sqlite = not (args.quick or args.limited or args.no_baselines)
            rows = run_rows(folder, args.chats, args.walks, latency, sizes, sqlite, args.limited)
            for row in rows.values():
                print(row.line(), flush=True)
            if "1" not in rows:
                continue
            one = rows["1"].figures.rate
            ratios = ", ".join(f"{n} workers {rows[str(n)].figures.rate / one:.2f}x" for n in sizes)
            if "sqlite" in rows:
                ratios += f"; 1 worker / SQLite {one / rows['sqlite'].figures.rate:.2f}x"
                ratios += f"; 1 process sharing / not {rows['shared'].figures.rate / one:.2f}x"
            print(f"PostgreSQL vs 1 worker: {ratios}")
            if latency == args.latency:
                ratio = rows[str(sizes[-1])].figures.rate / one
                holds = ratio >= TARGET
                print(
                    f"{sizes[-1]} workers / 1 = {ratio:.2f} (target for 4 >= {TARGET}):"
                    f" {verdict(holds)}"
                )
    return holds


def worker() -> None:
    """Run one bot process from the environment's settings (the rows' processes)."""
    from bot.app import ALLOWED_UPDATES, run_telegram_led, telegram_application
    from bot.config import load_settings
    from bot.logs import setup_logging

    settings = load_settings(None)
    setup_logging(settings.log_level)
    limited = bool(os.environ.get("BENCH_RATE_LIMITED"))
    profile = os.environ.get("BENCH_PROFILE")
    if settings.storage_url and profile:
        import cProfile

        cProfile.runctx(
            "asyncio.run(run_telegram_led(settings, rate_limited=limited))",
            globals(),
            locals(),
            filename=profile,
        )
    elif settings.storage_url:
        asyncio.run(run_telegram_led(settings, rate_limited=limited))
    else:
        app = telegram_application(settings, rate_limited=limited)
        app.run_polling(allowed_updates=ALLOWED_UPDATES)


if __name__ == "__main__":
    if sys.argv[1:] == ["worker"]:
        worker()
    else:
        main()
