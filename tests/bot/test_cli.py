"""The command line: flows check/diagram, cases list/show, chat on a pipe, run without a token."""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from cli_run import run_cli

from bot.__main__ import main
from flows.definition.schema import DEFINITIONS
from storage import case_numbers

SMS_SPAM = [
    "/start",
    "2",  # texts (the scam intake comes first)
    "1",  # spam
    "10690123456789",
    "昨天",
    "3",
    "积分清零，点击领取",
    "1",  # unsubscribed, still coming
    "跳过",  # the day they unsubscribed
    "跳过",  # when and how many
    "1",  # China Mobile
    "跳过",  # the number that received them
    "1",  # evidence: skip
    "1",
    "8",  # remedies: stop sending, done
    "1",  # file
]


def test_flows_check_passes_on_the_shipped_flows(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flows", "check"]) == 0
    out = capsys.readouterr().out
    for flow in ("scam@1", "sms@2", "calls@2", "wallet@2", "crypto@2", "other@2"):
        assert f"ok  {flow}" in out


def test_flows_check_fails_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(DEFINITIONS, tmp_path / "flows")
    sms = tmp_path / "flows" / "sms.yaml"
    lines = sms.read_text(encoding="utf-8").splitlines()
    index = next(i for i, line in enumerate(lines) if "validate: sms_sender" in line)
    lines[index] = lines[index].replace("sms_sender", "eval")
    sms.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["flows", "check", str(tmp_path / "flows")]) == 1
    err = capsys.readouterr().err
    assert f"sms.yaml:{index + 1}: step 'sender': unknown validator 'eval'" in err


def test_flows_diagram_prints_mermaid(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flows", "diagram", "sms"]) == 0
    out = capsys.readouterr().out
    assert "stateDiagram-v2" in out
    assert "problem --> service: next [problem=code_missing]" in out
    assert "summary --> filed: confirm" in out
    assert main(["flows", "diagram", "nope"]) == 1


def test_chat_on_a_pipe_files_a_case_and_cases_shows_it(tmp_path: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    result = run_cli(
        "chat",
        "--db",
        str(db),
        "--data-dir",
        str(tmp_path / "data"),
        stdin="\n".join(SMS_SPAM) + "\n",
    )
    assert result.returncode == 0, result.stderr
    assert re.search(rf"投诉已提交，编号 {case_numbers.ANY.pattern}", result.stdout), result.stdout
    assert "Traceback" not in result.stderr

    listed = run_cli("cases", "list", "--db", str(db), "--json")
    assert listed.returncode == 0, listed.stderr
    cases = json.loads(listed.stdout)
    assert len(cases) == 1
    case = cases[0]
    for key in (
        "number",
        "user",
        "category",
        "problem",
        "state",
        "answers",
        "remedies",
        "evidence_count",
        "flow",
        "created_at",
    ):
        assert key in case
    assert (case["user"], case["category"], case["problem"], case["state"]) == (
        "console:local",
        "sms",
        "spam",
        "waiting",
    )
    assert case["flow"] == "sms@2" and case["remedies"] == ["stop_sending"]
    assert case["answers"]["content"] == "积分清零，点击领取"

    shown = run_cli("cases", "show", case["number"].lower(), "--db", str(db), "--json")
    assert json.loads(shown.stdout)["number"] == case["number"]
    text = run_cli("cases", "show", case["number"], "--db", str(db))
    assert "10690123456789" in text.stdout and "时间线" in text.stdout
    missing = run_cli("cases", "show", "TS-2026-999999", "--db", str(db))
    assert missing.returncode == 1 and "no case TS-2026-999999" in missing.stderr
    assert "mistyped" not in missing.stderr  # well formed, only not issued
    number = case["number"]
    typo = number[:-2] + number[-1] + number[-2]  # the last two swapped
    if typo != number:
        mistyped = run_cli("cases", "show", typo, "--db", str(db))
        assert mistyped.returncode == 1
        assert f"no case {typo} (not a valid number: mistyped?)" in mistyped.stderr

    out = tmp_path / "out" / "case.zip"
    exported = run_cli(
        "cases",
        "export",
        case["number"],
        "--out",
        str(out),
        "--db",
        str(db),
        "--data-dir",
        str(tmp_path / "data"),
        "--lang",
        "en",
    )
    assert exported.returncode == 0, exported.stderr
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        assert f"{case['number']}/letters/1-china_mobile.en.txt" in names
        letter = archive.read(f"{case['number']}/letters/1-china_mobile.en.txt").decode()
    assert letter.startswith("Complaint: spam texts from 10690123456789")
    assert "To: China Mobile customer service (10086)" in letter


def test_cases_show_and_due_give_the_ladder_and_the_deadline(tmp_path: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    before = datetime.now(UTC)
    filed = run_cli("chat", "--db", str(db), stdin="\n".join(SMS_SPAM) + "\n", cwd=tmp_path)
    assert filed.returncode == 0, filed.stderr
    number = case_numbers.ANY.search(filed.stdout)
    assert number is not None

    shown = json.loads(run_cli("cases", "show", number[0], "--db", str(db), "--json").stdout)
    assert shown["ladder"]["channel"] == "china_mobile"  # SMS_SPAM answers China Mobile
    assert shown["ladder"]["steps"] == ["china_mobile", "miit_12300"]  # 12321 beside the first
    due_at = datetime.fromisoformat(shown["due_at"])
    # 15 calendar days, ending at the midnight after the last one.
    assert timedelta(days=15) < due_at - before <= timedelta(days=16, minutes=1)
    assert [e["kind"] for e in shown["timeline"]][-1] == "deadline_set"
    text = run_cli("cases", "show", number[0], "--db", str(db)).stdout
    assert "ladder: china_mobile -> miit_12300  (now: china_mobile)" in text

    due = json.loads(run_cli("cases", "due", "--db", str(db), "--json").stdout)
    assert [(d["case"], d["kind"], d["user"]) for d in due] == [
        (number[0], "deadline", "console:local")
    ]
    assert datetime.fromisoformat(due[0]["due_at"]) == due_at
    # Due at midnight, inside the default quiet hours: sent at 08:00 in Shanghai.
    sends_at = datetime.fromisoformat(due[0]["sends_at"]).astimezone(ZoneInfo("Asia/Shanghai"))
    assert (sends_at.hour, sends_at.minute) == (8, 0)
    listed = run_cli("cases", "due", "--db", str(db)).stdout
    assert number[0] in listed and "08:00" in listed


def test_chat_exits_cleanly_on_empty_input(tmp_path: Path) -> None:
    result = run_cli("chat", "--db", str(tmp_path / "x.sqlite3"), "--data-dir", str(tmp_path / "d"))
    assert result.returncode == 0
    assert result.stderr == ""


def test_run_without_a_token_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    result = run_cli("run", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "TELEGRAM_BOT_TOKEN" in result.stderr and "Traceback" not in result.stderr


def test_a_broken_config_file_is_one_line_with_its_line(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("storage:\n  db_path: x\n  colour: blue\n", encoding="utf-8")
    result = run_cli("--config", str(config), "chat")
    assert result.returncode == 1
    assert f"{config}:3: unknown setting 'storage.colour'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["run", "chat"])
def test_config_may_follow_the_command(tmp_path: Path, command: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("storage:\n  db_path: x\n  colour: blue\n", encoding="utf-8")
    result = run_cli(command, "--config", str(config))
    assert result.returncode == 1
    assert f"{config}:3: unknown setting 'storage.colour'" in result.stderr


def test_cases_on_a_missing_database_says_so(tmp_path: Path) -> None:
    result = run_cli("cases", "list", "--db", str(tmp_path / "none.sqlite3"))
    assert result.returncode == 1 and "no database at" in result.stderr


def test_workers_on_sqlite_are_refused_in_one_line(tmp_path: Path) -> None:
    # Several processes cannot share a SQLite file: the setting asks for PostgreSQL.
    env = {"TELEGRAM_BOT_TOKEN": "123456:ABCdef", "COMPLAINT_BOT_TELEGRAM__WORKERS": "2"}
    result = run_cli("run", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "telegram.workers: expected 1 on SQLite" in result.stderr
    assert "storage.url" in result.stderr and "Traceback" not in result.stderr
