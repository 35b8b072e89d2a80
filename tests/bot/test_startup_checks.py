"""Start-up checks: what an operator gets wrong is said at start-up, in one line, not later.

Each runs the command line as an operator would (`complaint-bot chat`, or `run` for the token)
and reads its exit status and stderr; file modes are read from the disk.
"""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

from bot_process import bot_process
from cli_run import run_cli
from fake_telegram import FakeBotAPI

from storage import SqliteStore

# Never reached: a bot that got past the checks would fail here, not on the network.
OFFLINE = {"COMPLAINT_BOT_TELEGRAM__BASE_URL": "http://127.0.0.1:9/bot"}


def one_line_error(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_database_folder_that_cannot_be_created_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file where the folder should be")
    db = tmp_path / "taken" / "db" / "bot.sqlite3"
    result = run_cli("chat", "--db", str(db), "--data-dir", str(tmp_path / "data"), stdin="/quit\n")
    assert result.returncode == 1
    line = one_line_error(result.stderr)
    assert line.startswith("complaint-bot: storage.db_path: cannot create the folder")
    assert str(db.parent) in line


def test_a_token_with_a_line_break_stops_the_config_check(tmp_path: Path) -> None:
    env = {**OFFLINE, "TELEGRAM_BOT_TOKEN": "7000000001:AAFake\nTokenForTestsOnly0123456789ab"}
    result = run_cli(
        "run", env={**env, "COMPLAINT_BOT_STORAGE__DB_PATH": str(tmp_path / "bot.sqlite3")}
    )
    assert result.returncode == 1
    line = one_line_error(result.stderr)
    assert "telegram.token: expected a bot token like 123456:ABC..., got (hidden)" in line
    assert "line break" in line
    assert "TokenForTestsOnly" not in result.stderr + result.stdout


def test_an_evidence_folder_that_cannot_be_written_stops_start_up(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "evidence").write_text("a file where the evidence folder should be")
    result = run_cli(
        "chat", "--db", str(tmp_path / "bot.sqlite3"), "--data-dir", str(data), stdin="/quit\n"
    )
    assert result.returncode == 1
    line = one_line_error(result.stderr)
    assert line.startswith("complaint-bot: storage.data_dir: cannot write evidence files under")
    assert "遇到了什么问题" not in result.stdout  # it never started talking


async def test_the_telegram_bot_stops_on_it_too_before_taking_messages(tmp_path: Path) -> None:
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    async with bot_process(fake, tmp_path) as bot:
        (tmp_path / "data").mkdir()
        (tmp_path / "data" / "evidence").write_text("a file where the folder should be")
        alice.send_command("/start")
        await bot.spawn()
        assert bot.process is not None
        # A bot that got past the check would keep running: give up on it after a while.
        assert await asyncio.wait_for(bot.process.wait(), timeout=60) == 1
    written = bot.log.read_text()
    assert "Traceback" not in written
    assert "complaint-bot: storage.data_dir: cannot write evidence files under" in written
    assert not alice.received  # nothing was taken in to be lost


async def test_the_database_and_its_wal_files_are_readable_by_the_bot_only(
    tmp_path: Path,
) -> None:
    db = tmp_path / "bot.sqlite3"
    store = await SqliteStore.open(db, tmp_path / "data")
    try:
        await store.put_blob(b"evidence")
        companions = [db, Path(f"{db}-wal"), Path(f"{db}-shm")]
        assert all(p.exists() for p in companions)  # open, in WAL mode: all three are there
        assert [mode(p) for p in companions] == [0o600, 0o600, 0o600]
        [blob] = [p for p in (tmp_path / "data" / "evidence").rglob("*") if p.is_file()]
        assert mode(blob) == 0o600  # the same as evidence
    finally:
        await store.close()


async def test_an_existing_database_others_can_read_is_narrowed(tmp_path: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    store = await SqliteStore.open(db, tmp_path / "data")
    await store.close()
    db.chmod(0o644)
    result = run_cli("chat", "--db", str(db), "--data-dir", str(tmp_path / "data"), stdin="/quit\n")
    assert result.returncode == 0, result.stderr
    assert mode(db) == 0o600
    assert "was readable by others (0644); now 0600" in result.stderr


def test_a_config_file_with_the_token_that_others_can_read_is_warned_about(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "telegram:\n  token: '7000000001:AAFakeTokenForTestsOnly0123456789ab'\n"
        f"storage:\n  db_path: {tmp_path / 'bot.sqlite3'}\n  data_dir: {tmp_path / 'data'}\n"
    )
    warning = "holds the bot token and other users can read it (mode 0644)"
    config.chmod(0o644)
    loose = run_cli("--config", str(config), "chat", stdin="/quit\n")
    assert loose.returncode == 0, loose.stderr
    assert warning in loose.stderr and f"chmod 600 {config}" in loose.stderr
    assert "TokenForTestsOnly" not in loose.stderr
    config.chmod(0o600)
    tight = run_cli("--config", str(config), "chat", stdin="/quit\n")
    assert tight.returncode == 0, tight.stderr
    assert "other users can read it" not in tight.stderr
