"""A throwaway PostgreSQL server on 127.0.0.1 for the tests: initdb and pg_ctl in a temp folder.

One server per test session (per xdist worker); each test gets a fresh database on it. As root
(CI) the server runs as the `postgres` user, since initdb refuses root. Without the binaries the
tests that need the server are skipped, unless CB_REQUIRE_POSTGRES=1 says they must run.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

from storage.postgres import PostgresStore

# Where Debian puts the binaries when they are not on PATH.
_DEBIAN_BIN = Path("/usr/lib/postgresql")


def binaries() -> tuple[str, str] | None:
    """Return the paths of initdb and pg_ctl, or None when PostgreSQL is not installed."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return initdb, pg_ctl
    for version in sorted(_DEBIAN_BIN.glob("*/bin"), reverse=True):
        if (version / "initdb").exists() and (version / "pg_ctl").exists():
            return str(version / "initdb"), str(version / "pg_ctl")
    return None


def required() -> bool:
    """Return True when the tests must not skip for want of PostgreSQL (CI)."""
    return os.environ.get("CB_REQUIRE_POSTGRES") == "1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class PgServer:
    """A PostgreSQL cluster in its own temp folder, listening on 127.0.0.1 only."""

    def __init__(self) -> None:
        found = binaries()
        if found is None:
            raise RuntimeError("PostgreSQL is not installed (initdb and pg_ctl not found)")
        self._initdb, self._pg_ctl = found
        self._as_root = os.geteuid() == 0
        self.folder = Path(tempfile.mkdtemp(prefix="complaint-bot-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self.user = "postgres" if self._as_root else "bot"
        self._names = itertools.count(1)

    def _run(self, *args: str) -> None:
        command = list(args)
        if self._as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")

    def start(self) -> None:
        """Create the cluster and start it; fsync off, since nothing here must outlive a crash."""
        if self._as_root:
            shutil.chown(self.folder, "postgres")
        self._run(
            self._initdb,
            "-D",
            str(self.data),
            "-U",
            self.user,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off"
            f" -c unix_socket_directories={self.folder} -c max_connections=200"
        )
        self._run(
            self._pg_ctl, "-D", str(self.data), "-l", str(self.folder / "log"), "-o", options,
            "-w", "start",
        )  # fmt: skip

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        with contextlib.suppress(RuntimeError):
            self._run(self._pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        """Return the URL of `database` on this server."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """Create an empty database and return its URL."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


async def make_postgres_store(url: str, data_dir: str | Path | None = None) -> PostgresStore:
    """Open a PostgresStore on `url` with a small pool (tests open many).

    `data_dir` holds only documents saved for people (evidence is in the database); without
    one, a new temp folder.
    """
    folder = data_dir if data_dir is not None else tempfile.mkdtemp(prefix="complaint-bot-docs-")
    return await PostgresStore.open(url, folder, pool_size=4)
