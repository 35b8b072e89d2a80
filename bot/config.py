"""Settings, each declared once with its default and help; read from YAML, then the environment."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.deadlines import QuietHours, parse_duration
from flows.errors import ComplaintBotError
from flows.yamlfile import Mapping_, YamlSyntaxError, load

TOKEN_ENV = "TELEGRAM_BOT_TOKEN"
ENV_PREFIX = "COMPLAINT_BOT_"


class ConfigError(ComplaintBotError):
    """A setting is missing or wrong; the message says which, what was expected and a hint."""


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError
    return value.strip()


def _optional_text(value: Any) -> str | None:
    return None if value in (None, "") else _text(value)


def _language(value: Any) -> str:
    if value not in ("zh", "en"):
        raise ValueError
    return str(value)


def _timezone(value: Any) -> str:
    try:
        ZoneInfo(_text(value))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError from exc
    return str(value).strip()


def _positive_number(value: Any) -> float:
    number = float(value)
    if number <= 0:
        raise ValueError
    return number


def _quiet_hours(value: Any) -> str:
    if value in (None, "", False):  # YAML reads a bare `off` as false
        return "off"
    quiet = QuietHours.parse(_text(value))
    return "off" if quiet is None else str(quiet)


def _duration(value: Any) -> str | None:
    if value in (None, ""):
        return None
    text = _text(value)
    parse_duration(text)
    return text


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value  # YAML reads an unquoted 2027-01-01 as a date
    text = _text(value)
    if not _ISO_DATE.fullmatch(text):
        raise ValueError
    return date.fromisoformat(text)


def _dates(value: Any) -> tuple[date, ...]:
    if value in (None, ""):
        return ()
    if isinstance(value, str):  # from the environment: comma-separated
        value = [part for part in value.split(",") if part.strip()]
    if not isinstance(value, list):
        raise ValueError
    return tuple(sorted({_date(item) for item in value}))


_FLOOD = re.compile(r"\s*(\d+)\s*/\s*(\S+)\s*")


def _flood_limit(value: Any) -> str:
    if value in (None, "", False):  # YAML reads a bare `off` as false
        return "off"
    text = _text(value)
    if text.lower() == "off":
        return "off"
    match = _FLOOD.fullmatch(text)
    if match is None or int(match[1]) < 1:
        raise ValueError
    parse_duration(match[2])
    return f"{int(match[1])}/{match[2]}"


def _log_level(value: Any) -> str:
    level = _text(value).upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ValueError
    return level


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting: where it lives in the YAML, its default, what it means, how it is checked."""

    key: str
    default: Any
    help: str
    parse: Callable[[Any], Any]
    expected: str
    hint: str = ""

    @property
    def attribute(self) -> str:
        return self.key.replace(".", "_")

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.key.upper().replace(".", "__")


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "telegram.token",
        None,
        f"Bot token from @BotFather. Prefer the environment variable {TOKEN_ENV}, which wins.",
        _optional_text,
        "a bot token like 123456:ABC...",
    ),
    Setting(
        "telegram.base_url",
        "https://api.telegram.org/bot",
        "Bot API endpoint; point it at a self-hosted telegram-bot-api server if you run one.",
        _text,
        "a URL ending in /bot",
    ),
    Setting(
        "telegram.base_file_url",
        "https://api.telegram.org/file/bot",
        "Where files are downloaded from; change together with telegram.base_url.",
        _text,
        "a URL ending in /file/bot",
    ),
    Setting(
        "telegram.album_wait",
        0.8,
        "Seconds to wait for the rest of an album (several photos sent at once) before answering.",
        _positive_number,
        "a number of seconds > 0",
        "0.5 to 1.5 works well",
    ),
    Setting(
        "telegram.forward_wait",
        0.4,
        "Seconds to wait for more forwarded messages after one arrives, to check a burst as one.",
        _positive_number,
        "a number of seconds > 0",
        "0.3 to 1",
    ),
    Setting(
        "telegram.flood_limit",
        "60/1m",
        "Most messages one person may send per time (N/DURATION; off: no limit); the excess"
        " is dropped and they are asked once to slow down. An album counts as one message.",
        _flood_limit,
        "N/DURATION like 60/1m, or off",
        "e.g. 20/10s; units: ms, s, m, h",
    ),
    Setting(
        "storage.db_path",
        "data/complaint-bot.sqlite3",
        "The SQLite database file (created with its folder if missing).",
        _text,
        "a file path",
    ),
    Setting(
        "storage.data_dir",
        "data",
        "Folder for evidence files, stored by content hash.",
        _text,
        "a folder path",
    ),
    Setting(
        "default_language",
        "zh",
        "Language of a new conversation: zh or en (each person can switch with /lang).",
        _language,
        "zh or en",
    ),
    Setting(
        "timezone",
        "Asia/Shanghai",
        "Timezone for dates shown to people and for reading 'today' / 'yesterday'.",
        _timezone,
        "an IANA timezone name",
        "e.g. Asia/Shanghai",
    ),
    Setting(
        "quiet_hours",
        "22:00-08:00",
        "Local hours when no reminder is sent (HH:MM-HH:MM, may cross midnight); off: any time.",
        _quiet_hours,
        "HH:MM-HH:MM or off",
        "e.g. 22:00-08:00",
    ),
    Setting(
        "extra_holidays",
        (),
        "Public holidays the chinesecalendar package does not know yet, as dates YYYY-MM-DD.",
        _dates,
        "a list of dates YYYY-MM-DD",
        "e.g. [2027-01-01, 2027-02-05]; in the environment comma-separated",
    ),
    Setting(
        "deadline_override",
        None,
        "Make every deadline this long (2s, 10m, 1d) for a test or a demo; empty: the real rules.",
        _duration,
        "a duration like 2s, 10m, 3h or 1d",
        "units: ms, s, m, h, d, w",
    ),
    Setting(
        "max_file_mb",
        20.0,
        "Largest evidence file accepted, in MB (the Telegram Bot API serves at most 20 MB).",
        _positive_number,
        "a number of MB > 0",
    ),
    Setting(
        "flows_dir",
        None,
        "Folder of flow files; empty means the flows shipped with the bot.",
        _optional_text,
        "a folder path",
    ),
    Setting(
        "log_level",
        "INFO",
        "DEBUG, INFO, WARNING or ERROR.",
        _log_level,
        "one of DEBUG, INFO, WARNING, ERROR",
    ),
)


@dataclass(frozen=True, slots=True)
class Settings:
    """The bot's settings after defaults, the YAML file and the environment were applied."""

    # No defaults here: they are declared once, in SETTINGS; use Settings.defaults().
    telegram_token: str | None
    telegram_base_url: str
    telegram_base_file_url: str
    telegram_album_wait: float
    telegram_forward_wait: float
    telegram_flood_limit: str
    storage_db_path: str
    storage_data_dir: str
    default_language: str
    timezone: str
    quiet_hours: str
    extra_holidays: tuple[date, ...]
    deadline_override: str | None
    max_file_mb: float
    flows_dir: str | None
    log_level: str
    source: str = field(default="defaults", compare=False)

    @classmethod
    def defaults(cls) -> Settings:
        """Return the settings with every default from SETTINGS."""
        return cls(**{s.attribute: s.default for s in SETTINGS})

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def quiet_period(self) -> QuietHours | None:
        return QuietHours.parse(self.quiet_hours)

    @property
    def deadline_override_delta(self) -> timedelta | None:
        return None if self.deadline_override is None else parse_duration(self.deadline_override)

    @property
    def flood_rate(self) -> tuple[int, float] | None:
        """Return (messages, seconds) of telegram.flood_limit, or None when it is off."""
        if self.telegram_flood_limit == "off":
            return None
        count, _, period = self.telegram_flood_limit.partition("/")
        return int(count), parse_duration(period).total_seconds()

    @property
    def max_file_size(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    def replace(self, **changes: Any) -> Settings:
        """Return a copy with some settings changed (command-line options)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update({k: v for k, v in changes.items() if v is not None})
        return Settings(**values)

    def require_token(self) -> str:
        """Return the bot token or stop with a one-line error that names the variable."""
        if not self.telegram_token:
            raise ConfigError(
                f"telegram.token: no bot token (set the environment variable {TOKEN_ENV}, "
                "or telegram.token in the config file; get one from @BotFather)"
            )
        return self.telegram_token


def load_settings(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read settings: defaults, then the YAML file (if any), then environment variables."""
    environ = os.environ if environ is None else environ
    raw: dict[str, tuple[Any, str]] = {}
    source = "defaults"
    if path is not None:
        raw.update(_read_yaml(path))
        source = str(path)
    for setting in SETTINGS:
        if setting.env in environ:
            raw[setting.key] = (environ[setting.env], f"environment {setting.env}")
    if environ.get(TOKEN_ENV):
        raw["telegram.token"] = (environ[TOKEN_ENV], f"environment {TOKEN_ENV}")
    values: dict[str, Any] = {s.attribute: s.default for s in SETTINGS}
    for setting in SETTINGS:
        if setting.key not in raw:
            continue
        value, where = raw[setting.key]
        try:
            values[setting.attribute] = setting.parse(value)
        except (ValueError, TypeError) as exc:
            hint = f" ({setting.hint})" if setting.hint else ""
            shown = "(hidden)" if setting.key == "telegram.token" else repr(value)
            raise ConfigError(
                f"{where}: {setting.key}: expected {setting.expected}, got {shown}{hint}"
            ) from exc
    return Settings(**values, source=source)


def _read_yaml(path: Path) -> dict[str, tuple[Any, str]]:
    try:
        data = load(path)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: config file not found (copy config.example.yaml)") from exc
    except YamlSyntaxError as exc:
        raise ConfigError(f"{path}:{exc.line}: not valid YAML: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    except ValueError as exc:  # a value YAML recognised but cannot build, like 2027-13-01
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, Mapping_):
        raise ConfigError(f"{path}:1: expected a mapping of settings")
    known = {s.key for s in SETTINGS}
    flat: dict[str, tuple[Any, str]] = {}
    for key, value, line in _flatten(data, ""):
        if key not in known:
            close = ", ".join(sorted(k for k in known if k.split(".")[0] == key.split(".")[0]))
            hint = f" (known here: {close})" if close else " (see config.example.yaml)"
            raise ConfigError(f"{path}:{line}: unknown setting '{key}'{hint}")
        flat[key] = (value, f"{path}:{line}")
    return flat


def _flatten(data: Mapping_, prefix: str) -> list[tuple[str, Any, int]]:
    items: list[tuple[str, Any, int]] = []
    for key, value in data.items():
        full = f"{prefix}{key}"
        if isinstance(value, Mapping_) and full in ("telegram", "storage"):
            items.extend(_flatten(value, f"{full}."))
        else:
            items.append((full, value, data.line_of(key)))
    return items


def example_yaml() -> str:
    """Return config.example.yaml: every setting with its help and default."""
    lines = [
        "# complaint-bot settings. Copy to config.yaml (or pass --config FILE) and edit.",
        "# Every setting can also come from the environment: COMPLAINT_BOT_<KEY>, dots as __,",
        f"# e.g. COMPLAINT_BOT_STORAGE__DB_PATH. The bot token is best given as {TOKEN_ENV}.",
        "# This file is generated from bot/config.py; a test checks they agree.",
    ]
    section = ""
    for setting in SETTINGS:
        head, _, name = setting.key.rpartition(".")
        if head != section:
            lines.extend(["", f"{head}:"] if head else [""])
            section = head
        indent = "  " if head else ""
        lines.append(f"{indent}# {setting.help}")
        default = setting.default
        shown = "" if default is None else default
        lines.append(f"{indent}{name or setting.key}: {_yaml_scalar(shown)}")
    return "\n".join(lines) + "\n"


def _yaml_scalar(value: Any) -> str:
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_yaml_scalar(str(item)) for item in value) + "]"
    if isinstance(value, str):
        return f'"{value}"' if value else '""'
    return str(value)
