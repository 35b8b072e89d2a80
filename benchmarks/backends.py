"""Which database a benchmark runs on: SQLite, a throwaway PostgreSQL server, or both in one run.

`--backend both` (the default where a benchmark takes the option) measures SQLite first, as the
baseline, and PostgreSQL right after it in the same process. The server is the tests' throwaway
cluster (tests/pg_server.py: initdb and pg_ctl in a temp folder, 127.0.0.1 only, fsync off), never
a remote one: the figures are the bot's side and the server's CPU, not a disk's.
"""

from __future__ import annotations

import argparse
import atexit
import os
from pathlib import Path

import harness  # noqa: F401 - puts tests/, where pg_server is, on the path
import psycopg
from pg_server import PgServer, binaries

BACKENDS = ("sqlite", "postgres")
_TICKS = os.sysconf("SC_CLK_TCK")


def add_option(parser: argparse.ArgumentParser) -> None:
    """Give a benchmark's parser `--backend postgres|sqlite|both`."""
    parser.add_argument(
        "--backend",
        choices=("both", *BACKENDS),
        default="both",
        help="the database to measure on (both: SQLite as the baseline, then PostgreSQL)",
    )


def chosen(backend: str) -> list[str]:
    """Return the backends `--backend` names, SQLite first; PostgreSQL only when installed."""
    wanted = list(BACKENDS) if backend == "both" else [backend]
    if "postgres" in wanted and binaries() is None:
        print("PostgreSQL skipped: it is not installed (initdb and pg_ctl not found)")
        wanted.remove("postgres")
    return wanted


_server: PgServer | None = None


def server() -> PgServer:
    """Return this process's throwaway PostgreSQL server, started on first use, stopped at exit.

    One for every benchmark `run_all.py` runs in its process: a cluster takes seconds to create.
    """
    global _server
    if _server is None:
        started = PgServer()
        started.start()
        atexit.register(started.stop)
        _server = started
    return _server


def drop_database(url: str) -> None:
    """Drop a database a benchmark made on the server (gigabytes at a million cases)."""
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(server().url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def server_cpu(server: PgServer) -> float:
    """Return the CPU seconds the server's processes running now have used (user + system).

    The postmaster and its children (one backend per connection, the writers): connections a
    benchmark keeps open for its whole measurement are all counted.
    """
    postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended meanwhile
            continue
        # The command name is in parentheses and may hold spaces: split after it.
        fields = text[text.rindex(")") + 2 :].split()
        pid = int(stat.parent.name)
        if pid == postmaster or int(fields[1]) == postmaster:
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICKS
