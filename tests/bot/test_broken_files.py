"""Broken flow files and config files, through the command line: `file:LINE: message`, exit 1.

Each row breaks one thing in a copy of the shipped files (or in a small config file) and names
the line the complaint must point at, found by a piece of text on it.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.__main__ import main
from flows.definition.schema import DEFINITIONS

LOCATED = re.compile(r"^\S+\.yaml:\d+: \S.*$")

Edit = Callable[[str], str]


def swap(old: str, new: str) -> Edit:
    def edit(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)

    return edit


# (what is broken, file, how, text on the line reported, words of the message)
FLOW_CASES: list[tuple[str, str, Edit, str, str]] = [
    (
        "invalid YAML",
        "sms.yaml",
        swap("  - id: service\n", "  - id: [service\n"),
        "label: {zh: 验证码来源",
        "not valid YAML",
    ),
    (
        "a tab for indentation",
        "sms.yaml",
        swap("    max_length: 200\n    next: started", "\tmax_length: 200\n    next: started"),
        "\tmax_length",
        "not valid YAML",
    ),
    (
        "an unknown step kind",
        "sms.yaml",
        swap("expect: choice", "expect: chioce"),
        "expect: chioce",
        "expect: expected one of text, choice",
    ),
    (
        "an unknown validator",
        "sms.yaml",
        swap("validate: sms_sender", "validate: sms_sendr"),
        "validate: sms_sendr",
        "unknown validator 'sms_sendr'",
    ),
    (
        "an unknown action",
        "sms.yaml",
        swap("actions: [classify_sender]", "actions: [os.system]"),
        "actions: [os.system]",
        "unknown action 'os.system'",
    ),
    (
        "a next step that does not exist",
        "sms.yaml",
        swap("next: started", "next: strated"),
        "next: strated",
        "next step 'strated' not found",
    ),
    (
        "a key given twice",
        "sms.yaml",
        swap(
            "    max_length: 200\n    next: started",
            "    max_length: 200\n    max_length: 300\n    next: started",
        ),
        "max_length: 300",
        "duplicate key 'max_length'",
    ),
    (
        "a version that is no number",
        "sms.yaml",
        swap("version: 2", "version: one"),
        "version: one",
        "version: expected 1, 2, ..., got 'one'",
    ),
    (
        "a question in an unknown language",
        "sms.yaml",
        swap("en: What exactly is happening?", "fr: Quoi ?"),
        "zh: 具体是哪种情况？",
        "unknown language 'fr'",
    ),
    (
        "a pattern that is no regex",
        "sms.yaml",
        swap(
            "    max_length: 200\n    next: started",
            "    max_length: 200\n    pattern: '[unclosed'\n    hint: {zh: 不对, en: Wrong}\n    next: started",
        ),
        "pattern: '[unclosed'",
        "pattern is not a valid regex",
    ),
    (
        "an unknown top-level key",
        "sms.yaml",
        swap("order: 10", "ordre: 10"),
        "ordre: 10",
        "unknown key 'ordre'",
    ),
    (
        "a condition on an option that does not exist",
        "sms.yaml",
        swap("when: {problem: code_missing}", "when: {problem: code_lost}"),
        "when: {problem: code_lost}",
        "has no option 'code_lost'",
    ),
    ("an empty file", "sms.yaml", lambda text: "", "", "expected a mapping at the top of the file"),
    (
        "a file that is a list",
        "sms.yaml",
        lambda text: "- just\n- a list\n",
        "- just",
        "expected a mapping at the top of the file",
    ),
    (
        "a byte that is not UTF-8 on line 3",
        "sms.yaml",
        lambda text: "flow: sms\nversion: 1\norder: \xff10\n",
        "order:",
        "not UTF-8",
    ),
    (
        "a date YAML cannot build",
        "sms.yaml",
        swap("order: 10", "order: 2026-13-45"),
        "order: 2026-13-45",
        "month must be in 1..12",
    ),
    (
        "an engine text missing",
        "common.yaml",
        swap("  too_short:\n", "  too_shirt:\n"),
        "  greeting:",
        "texts.too_short: missing",
    ),
    (
        "a channel without a source",
        "channels.yaml",
        lambda text: re.sub(r"\n    source: [^\n]*", "", text, count=1),
        "",
        "source",
    ),
    (
        "a rung beside an unknown channel",
        "sms.yaml",
        swap("also: [anti_fraud_96110, anti_fraud_app]", "also: [anti_fraud_96111]"),
        "also: [anti_fraud_96111]",
        "ladder: also: unknown channel 'anti_fraud_96111'",
    ),
    (
        "an identity a channel cannot ask for",
        "channels.yaml",
        swap("identity: [name, phone, address]", "identity: [name, id_card]"),
        "identity: [name, id_card]",
        "identity: expected a list of name, phone, address, postcode",
    ),
    (
        "asks with a demand missing in one language",
        "channels.yaml",
        swap(
            "        - 依法受理，并出具受案回执（《公安机关办理刑事案件程序规定》第一百七十一条）。\n",
            "",
        ),
        "",
        "every language needs the same number of demands",
    ),
    (
        "a remedy for an unknown kind of letter",
        "scam.yaml",
        swap("letters: [police, report]", "letters: [police, court]"),
        "letters: [police, court]",
        "letters: expected a list of complaint, appeal, report, police",
    ),
    (
        "a remedy shown for a problem that does not exist",
        "sms.yaml",
        swap("when: {problem: [fraud]}", "when: {problem: [frauds]}"),
        "when: {problem: [frauds]}",
        "has no option 'frauds'",
    ),
]


@pytest.mark.parametrize(
    ("name", "edit", "on_line", "message"),
    [(c[1], c[2], c[3], c[4]) for c in FLOW_CASES],
    ids=[c[0] for c in FLOW_CASES],
)
def test_a_broken_flow_file_stops_flows_check_with_file_and_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    edit: Edit,
    on_line: str,
    message: str,
) -> None:
    folder = tmp_path / "flows"
    shutil.copytree(DEFINITIONS, folder)
    broken = edit((folder / name).read_text(encoding="utf-8"))
    (folder / name).write_bytes(broken.encode("utf-8").replace("\xff".encode(), b"\xff"))
    assert main(["flows", "check", str(folder)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err and all(LOCATED.match(line) for line in err), err
    lines = broken.splitlines() or [""]
    expected = next(i for i, line in enumerate(lines, 1) if on_line in line)
    assert any(line.startswith(f"{name}:") and message in line for line in err), (
        f"no '{message}' in {err}"
    )
    reported = [line for line in err if line.startswith(f"{name}:") and message in line]
    if on_line:  # the complaint points at the broken line itself
        assert any(line.startswith(f"{name}:{expected}: ") for line in reported), (
            expected,
            reported,
        )


CONFIG_CASES = [
    ("timezone: Mars/Olympus\n", 1, "timezone: expected an IANA timezone name, got 'Mars/Olympus'"),
    ("default_language: fr\n", 1, "default_language: expected zh or en, got 'fr'"),
    ("\nmax_file_mb: -3\n", 2, "max_file_mb: expected a number of MB > 0, got -3"),
    ("\nmax_file_mb: lots\n", 2, "max_file_mb: expected a number of MB > 0, got 'lots'"),
    ("storage:\n  db_pth: x\n", 2, "unknown setting 'storage.db_pth'"),
    ("colour: blue\n", 1, "unknown setting 'colour'"),
    ("telegram: 5\n", 1, "unknown setting 'telegram'"),
    ("telegram: [1, 2\n", 2, "not valid YAML"),
    ("storage:\n\tdb_path: x\n", 2, "not valid YAML"),
    ("log_level: INFO\nlog_level: DEBUG\n", 2, "duplicate key 'log_level'"),
    ("quiet_hours: 22-08\n", 1, "quiet_hours: expected HH:MM-HH:MM or off, got '22-08'"),
    ("\nextra_holidays: ['2027-01-01', 1 Jan]\n", 2, "extra_holidays: expected a list of dates"),
    ("\n\nextra_holidays: [2027-13-01]\n", 3, "month must be in 1..12"),
    ("deadline_override: 5\n", 1, "deadline_override: expected a duration like 2s"),
    ("telegram:\n  album_wait: 0\n", 2, "telegram.album_wait: expected a number of seconds > 0"),
    (
        "telegram:\n  token: [123, secret]\n",
        2,
        "telegram.token: expected a bot token like 123456:ABC..., got (hidden)",
    ),
    ("log_level: LOUD\n", 1, "log_level: expected one of DEBUG, INFO, WARNING, ERROR, got 'LOUD'"),
    ("- just\n- a list\n", 1, "expected a mapping of settings"),
    ("timezone: Asia/Shanghai\nquiet_hours: \xff\n", 2, "not UTF-8"),
]


@pytest.mark.parametrize(("text", "line", "message"), CONFIG_CASES)
def test_a_broken_config_file_stops_the_command_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, line: int, message: str
) -> None:
    config = tmp_path / "config.yaml"
    config.write_bytes(text.encode("utf-8").replace("\xff".encode(), b"\xff"))
    assert main(["--config", str(config), "cases", "due", "--db", str(tmp_path / "x.db")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err
    assert err.startswith(f"complaint-bot: {config}:{line}: "), err
    assert message in err
    # The token's value is never echoed (the hint may name telegram.webhook_secret).
    assert "'secret'" not in err and "secret]" not in err
