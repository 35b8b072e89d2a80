"""Settings: read from YAML, then the environment, each checked (declared in settings_table.py)."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from bot.deadlines import QuietHours, parse_duration
from bot.settings_table import SECRET_ENVS, SECRETS, SETTINGS, TOKEN_ENV
from flows.definition.yamlfile import Mapping_, YamlSyntaxError, load
from flows.errors import ComplaintBotError


class ConfigError(ComplaintBotError):
    """A setting is missing or wrong; the message says which, what was expected and a hint."""


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
    telegram_mode: str
    telegram_webhook_url: str | None
    telegram_webhook_secret: str | None
    telegram_webhook_path: str | None
    telegram_webhook_max_connections: int
    telegram_workers: int
    storage_db_path: str
    storage_data_dir: str
    storage_url: str
    default_language: str
    timezone: str
    quiet_hours: str
    extra_holidays: tuple[date, ...]
    deadline_override: str | None
    max_file_mb: float
    flows_dir: str | None
    log_level: str
    http_listen: str
    wecom_corp_id: str | None
    wecom_secret: str | None
    wecom_token: str | None
    wecom_encoding_aes_key: str | None
    wecom_open_kfids: tuple[str, ...]
    wecom_api_base: str
    wecom_callback_path: str
    wecom_menu: str
    wecom_document_formats: tuple[str, ...]
    wecom_calendar_invites: bool
    wecom_poll_interval: float
    source: str = field(default="defaults", compare=False)
    # Warnings found while reading (a token in a file others can read), logged at start-up.
    notices: tuple[str, ...] = field(default=(), compare=False)

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

    def require_webhook(self) -> Webhook:
        """Return the webhook settings, or stop with one line naming the key that is missing."""
        needs = "telegram.mode is webhook"
        if not self.telegram_webhook_url:
            raise ConfigError(
                f"telegram.webhook_url: not set; {needs}, which needs the public https URL"
                " Telegram posts updates to"
            )
        if not self.telegram_webhook_secret:
            raise ConfigError(
                f"telegram.webhook_secret: not set; {needs}, which needs a secret (set"
                f" {SECRET_ENVS['telegram.webhook_secret']}, 1-256 letters, digits, _ or -)"
            )
        path = self.telegram_webhook_path or urlsplit(self.telegram_webhook_url).path or "/"
        return Webhook(
            self.telegram_webhook_url,
            self.telegram_webhook_secret,
            path,
            self.telegram_webhook_max_connections,
        )


@dataclass(frozen=True, slots=True)
class Webhook:
    """Where Telegram posts updates in webhook mode, and the secret it sends with them."""

    url: str
    secret: str = field(repr=False)  # never in a log line or a traceback's locals
    path: str
    max_connections: int


def load_settings(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read settings: defaults, then the YAML file (if any), then environment variables."""
    environ = os.environ if environ is None else environ
    raw: dict[str, tuple[Any, str]] = {}
    source = "defaults"
    notices: list[str] = []
    if path is not None:
        raw.update(_read_yaml(path))
        source = str(path)
        if any(key in raw for key in SECRETS):
            notices += _exposed(path)
    for setting in SETTINGS:
        if setting.env in environ:
            raw[setting.key] = (environ[setting.env], f"environment {setting.env}")
    if environ.get(TOKEN_ENV):
        raw["telegram.token"] = (environ[TOKEN_ENV], f"environment {TOKEN_ENV}")
    for key, variable in SECRET_ENVS.items():
        if environ.get(variable):
            raw[key] = (environ[variable], f"environment {variable}")
    values: dict[str, Any] = {s.attribute: s.default for s in SETTINGS}
    for setting in SETTINGS:
        if setting.key not in raw:
            continue
        value, where = raw[setting.key]
        try:
            values[setting.attribute] = setting.parse(value)
        except (ValueError, TypeError) as exc:
            hint = f" ({setting.hint})" if setting.hint else ""
            shown = "(hidden)" if setting.key in SECRETS else repr(value)
            raise ConfigError(
                f"{where}: {setting.key}: expected {setting.expected}, got {shown}{hint}"
            ) from exc
    return Settings(**values, source=source, notices=tuple(notices))


def _exposed(path: Path) -> list[str]:
    """Return a warning when the file holding the token can be read by other users."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return []
    if not mode & 0o044:
        return []
    return [
        f"{path}: holds the bot token and other users can read it (mode {mode:04o});"
        f" chmod 600 {path}, or give the token as {TOKEN_ENV} instead"
    ]


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
        if isinstance(value, Mapping_) and full in ("telegram", "storage", "http", "wecom"):
            items.extend(_flatten(value, f"{full}."))
        else:
            items.append((full, value, data.line_of(key)))
    return items


def example_yaml() -> str:
    """Return config.example.yaml: every setting with its help and default."""
    lines = [
        "# complaint-bot settings. Copy to config.yaml (or pass --config FILE) and edit.",
        "# Every setting can also come from the environment: COMPLAINT_BOT_<KEY>, dots as __,",
        f"# e.g. COMPLAINT_BOT_STORAGE__DB_PATH. The bot token is best given as {TOKEN_ENV},",
        "# the other secrets as " + ", ".join(SECRET_ENVS.values()) + ".",
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
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"' if value else '""'
    return str(value)
