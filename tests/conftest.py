"""Fixtures for every test folder: a throwaway PostgreSQL server, started only when asked for.

And the order tests start in: the longest first.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator

import pytest
from pg_server import PgServer, binaries, required

from bot.logs import RedactingFilter

# The tests that take longest (15-90 s each on 2 quiet cores: they start bot processes, run every
# benchmark or fuzz), longest first. `make test` runs on two xdist workers, which take tests in
# collection order; in file order these came last or together, and one worker ran them alone
# while the other had finished. Started first, they run side by side with the short tests.
LONGEST_FIRST = (
    "tests/bot/test_crash.py::test_sigkill",
    "tests/test_benchmarks.py",
    "tests/flows/test_fuzz_conversations.py",
    "tests/bot/test_crash.py",
    "tests/bot/test_scam_model.py::test_retraining",
    "tests/bot/test_one_process.py",
    "tests/bot/test_cli.py",
    "tests/bot/test_postgres_cli.py",
    "tests/bot/test_webhook_failover.py",
    "tests/bot/test_workers.py",
    "tests/bot/test_logs.py::test_the_token",
    "tests/bot/test_check_telegram.py::test_an_album",
    "tests/bot/test_wecom_transcripts.py",
    "tests/transcripts/test_transcripts.py",
)


def _rank(nodeid: str) -> int:
    return next(
        (i for i, start in enumerate(LONGEST_FIRST) if nodeid.startswith(start)),
        len(LONGEST_FIRST),
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Start the longest tests first; the rest keep their order (the sort is stable)."""
    items.sort(key=lambda item: _rank(item.nodeid))


@pytest.fixture(autouse=True)
def _bot_logging_removed() -> Iterator[None]:
    """Take the bot's stderr log handler off the root logger after each test.

    `complaint-bot` commands run in-process (tests/test_docs.py) install it, and a later test on
    the same worker then read its log lines as a command's output. The longest-first order made
    that order of tests possible.
    """
    root = logging.getLogger()
    level, hook = root.level, sys.excepthook
    yield
    for handler in root.handlers[:]:
        if any(isinstance(f, RedactingFilter) for f in handler.filters):
            root.removeHandler(handler)
    root.setLevel(level)
    sys.excepthook = hook


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """Start one PostgreSQL server on 127.0.0.1 for the session, and stop it at the end."""
    if binaries() is None:
        message = "PostgreSQL is not installed (initdb and pg_ctl not found)"
        if required():
            pytest.fail(f"{message}, and CB_REQUIRE_POSTGRES=1 says it must be")
        pytest.skip(message)
    server = PgServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """Return the URL of a fresh, empty database for this test."""
    return pg_server.new_database()
