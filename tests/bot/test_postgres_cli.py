"""The whole bot on PostgreSQL (storage.url): a person files a case, an operator sees and forgets it."""

from __future__ import annotations

import json
import re
from pathlib import Path

from cli_run import run_cli
from test_cli import SMS_SPAM

from storage import case_numbers


def test_a_case_filed_in_the_console_lives_in_postgresql(tmp_path: Path, pg_url: str) -> None:
    env = {"COMPLAINT_BOT_STORAGE__URL": pg_url}
    sqlite_file = tmp_path / "data" / "complaint-bot.sqlite3"

    chat = run_cli("chat", stdin="\n".join(SMS_SPAM) + "\n", env=env, cwd=tmp_path)

    assert chat.returncode == 0, chat.stderr
    filed = re.search(rf"投诉已提交，编号 ({case_numbers.ANY.pattern})", chat.stdout)
    assert filed, chat.stdout
    assert not sqlite_file.exists()  # nothing went to SQLite
    listed = run_cli("cases", "list", "--json", env=env, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    [case] = json.loads(listed.stdout)
    assert (case["number"], case["user"], case["state"]) == (filed[1], "console:local", "waiting")
    assert case["answers"]["content"] == "积分清零，点击领取"
    due = run_cli("cases", "due", "--json", env=env, cwd=tmp_path)
    assert [r["case"] for r in json.loads(due.stdout)] == [filed[1]]

    forgotten = run_cli("users", "forget", "console:local", "--yes", env=env, cwd=tmp_path)

    assert forgotten.returncode == 0, forgotten.stderr
    assert json.loads(run_cli("cases", "list", "--json", env=env, cwd=tmp_path).stdout) == []
