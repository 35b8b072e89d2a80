"""Settings: defaults, YAML, environment; bad values stop start-up with key, expected, got."""

from __future__ import annotations

from datetime import date, time, timedelta
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, example_yaml, load_settings
from bot.deadlines import QuietHours
from bot.settings_table import SETTINGS

ROOT = Path(__file__).parent.parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_config_example_documents_every_setting() -> None:
    assert (ROOT / "config.example.yaml").read_text(encoding="utf-8") == example_yaml()
    for setting in SETTINGS:
        assert setting.help in example_yaml()


def test_the_example_file_loads_to_the_defaults() -> None:
    settings = load_settings(ROOT / "config.example.yaml", environ={})
    assert settings == Settings.defaults()


def test_yaml_then_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "storage:\n  db_path: a.sqlite3\ntimezone: Europe/Berlin\n")
    settings = load_settings(path, environ={"COMPLAINT_BOT_STORAGE__DB_PATH": "b.sqlite3"})
    assert settings.storage_db_path == "b.sqlite3"
    assert settings.timezone == "Europe/Berlin"


def test_the_token_variable_wins_over_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "telegram:\n  token: '111:from-file'\n")
    settings = load_settings(path, environ={"TELEGRAM_BOT_TOKEN": "222:from-env"})
    assert settings.require_token() == "222:from-env"


def test_a_missing_token_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="set the environment variable TELEGRAM_BOT_TOKEN"):
        load_settings(None, environ={}).require_token()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "timezone: Mars/Olympus\n",
            "config.yaml:1: timezone: expected an IANA timezone name, got 'Mars/Olympus' (e.g. Asia/Shanghai)",
        ),
        ("default_language: fr\n", "config.yaml:1: default_language: expected zh or en, got 'fr'"),
        ("\nmax_file_mb: -3\n", "config.yaml:2: max_file_mb: expected a number of MB > 0, got -3"),
        (
            "storage:\n  db_pth: x\n",
            "config.yaml:2: unknown setting 'storage.db_pth' (known here: storage.data_dir, storage.db_path, storage.url)",
        ),
        ("telegram: [1, 2\n", "config.yaml:2: not valid YAML"),
        (
            "quiet_hours: 22-08\n",
            "config.yaml:1: quiet_hours: expected HH:MM-HH:MM or off, got '22-08' (e.g. 22:00-08:00)",
        ),
        (
            "timezone: Asia/Shanghai\nquiet_hours: '09:00-09:00'\n",
            "config.yaml:2: quiet_hours: expected HH:MM-HH:MM or off, got '09:00-09:00'",
        ),
        (
            "\nextra_holidays: ['2027-01-01', 1 Jan]\n",
            "config.yaml:2: extra_holidays: expected a list of dates YYYY-MM-DD, got ['2027-01-01', '1 Jan'] (e.g. [2027-01-01, 2027-02-05]",
        ),
        (
            "extra_holidays: '2027-02-30'\n",
            "config.yaml:1: extra_holidays: expected a list of dates YYYY-MM-DD, got '2027-02-30'",
        ),
        ("extra_holidays: [2027-13-01]\n", "config.yaml:1: not valid YAML: month must be in 1..12"),
        (
            "deadline_override: 5\n",
            "config.yaml:1: deadline_override: expected a duration like 2s, 10m, 3h or 1d, got 5 (units: ms, s, m, h, d, w)",
        ),
        (
            "\n\ndeadline_override: 0s\n",
            "config.yaml:3: deadline_override: expected a duration like 2s, 10m, 3h or 1d, got '0s'",
        ),
        ("- just\n- a list\n", "config.yaml:1: expected a mapping of settings"),
    ],
)
def test_bad_settings_stop_with_key_expected_and_got(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text), environ={})
    assert message in str(caught.value)


def test_a_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(
        ConfigError,
        match=r"environment COMPLAINT_BOT_TELEGRAM__ALBUM_WAIT: telegram\.album_wait: expected",
    ):
        load_settings(None, environ={"COMPLAINT_BOT_TELEGRAM__ALBUM_WAIT": "soon"})


def test_a_bad_token_value_is_not_echoed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, "telegram:\n  token: [123, secret]\n"), environ={})
    assert "secret" not in str(caught.value)


def test_deadline_settings_default_to_real_deadlines_and_quiet_nights() -> None:
    settings = Settings.defaults()
    assert settings.quiet_period == QuietHours(time(22, 0), time(8, 0))
    assert settings.extra_holidays == ()
    assert settings.deadline_override_delta is None


@pytest.mark.parametrize(
    ("text", "quiet", "holidays", "override"),
    [
        (
            "quiet_hours: 23:00-7:30\nextra_holidays: [2027-01-01, '2026-12-31']\ndeadline_override: 2s\n",
            QuietHours(time(23, 0), time(7, 30)),
            (date(2026, 12, 31), date(2027, 1, 1)),
            timedelta(seconds=2),
        ),
        ("quiet_hours: off\nextra_holidays: []\ndeadline_override: ''\n", None, (), None),
        ("quiet_hours: 'off'\ndeadline_override: 500ms\n", None, (), timedelta(milliseconds=500)),
        ("quiet_hours: ''\n", None, (), None),
    ],
)
def test_deadline_settings_from_yaml(
    tmp_path: Path,
    text: str,
    quiet: QuietHours | None,
    holidays: tuple[date, ...],
    override: timedelta | None,
) -> None:
    settings = load_settings(write(tmp_path, text), environ={})
    assert settings.quiet_period == quiet
    assert settings.extra_holidays == holidays
    assert settings.deadline_override_delta == override


def test_deadline_settings_from_the_environment() -> None:
    settings = load_settings(
        None,
        environ={
            "COMPLAINT_BOT_QUIET_HOURS": "off",
            "COMPLAINT_BOT_EXTRA_HOLIDAYS": "2027-02-05, 2027-01-01,",
            "COMPLAINT_BOT_DEADLINE_OVERRIDE": "10m",
        },
    )
    assert settings.quiet_period is None
    assert settings.extra_holidays == (date(2027, 1, 1), date(2027, 2, 5))
    assert settings.deadline_override_delta == timedelta(minutes=10)


def test_a_bad_holiday_in_the_environment_names_the_variable() -> None:
    with pytest.raises(
        ConfigError,
        match=r"environment COMPLAINT_BOT_EXTRA_HOLIDAYS: extra_holidays: expected a list of dates",
    ):
        load_settings(None, environ={"COMPLAINT_BOT_EXTRA_HOLIDAYS": "2027-01-01,tomorrow"})
