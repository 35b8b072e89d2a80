"""Settings: defaults, YAML, environment; bad values stop start-up with key, expected, got."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import SETTINGS, ConfigError, Settings, example_yaml, load_settings

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
            "config.yaml:2: unknown setting 'storage.db_pth' (known here: storage.data_dir, storage.db_path)",
        ),
        ("telegram: [1, 2\n", "config.yaml:2: not valid YAML"),
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
