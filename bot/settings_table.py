"""Every setting, declared once: its key, default, help, and how its value is checked.

`bot/config.py` reads them from YAML and the environment; `config.example.yaml` and the
README's table are written from this list (tests keep them in step).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.deadlines import QuietHours, parse_duration

TOKEN_ENV = "TELEGRAM_BOT_TOKEN"
# The webhook's secret and WeChat's (WeCom customer service), like the bot token, are best given
# in the environment.
SECRET_ENVS = {
    "telegram.webhook_secret": "TELEGRAM_WEBHOOK_SECRET",
    "wecom.secret": "WECOM_SECRET",
    "wecom.token": "WECOM_TOKEN",
    "wecom.encoding_aes_key": "WECOM_AES_KEY",
}
SECRETS = frozenset({"telegram.token", *SECRET_ENVS})
ENV_PREFIX = "COMPLAINT_BOT_"


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError
    return value.strip()


def _optional_text(value: Any) -> str | None:
    return None if value in (None, "") else _text(value)


def _storage_url(value: Any) -> str:
    if value in (None, ""):
        return ""
    url = _text(value)
    if not url.startswith(("postgresql://", "postgres://")):
        raise ValueError
    return url


# What @BotFather hands out: the bot's id, a colon, a secret of URL-safe characters. Anything
# else (a newline pasted in, quotes, a space) would pass until the first request, and crash it.
_TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]+")


def _token(value: Any) -> str | None:
    token = _optional_text(value)
    if token is not None and not _TOKEN.fullmatch(token):
        raise ValueError
    return token


def _telegram_mode(value: Any) -> str:
    if value not in ("polling", "webhook"):
        raise ValueError
    return str(value)


def _https_url(value: Any) -> str | None:
    url = _optional_text(value)
    if url is not None and not re.fullmatch(r"https://[^\s/?#]+(/[^\s?#]*)?", url):
        raise ValueError
    return url


# Telegram's rule for setWebhook's secret_token: it is sent back in a header on every call.
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


def _webhook_secret(value: Any) -> str | None:
    secret = _optional_text(value)
    if secret is not None and not _WEBHOOK_SECRET.fullmatch(secret):
        raise ValueError
    return secret


def _url_path(value: Any) -> str | None:
    path = _optional_text(value)
    if path is not None and not re.fullmatch(r"/[^\s?#]*", path):
        raise ValueError
    return path


def _connections(value: Any) -> int:
    if isinstance(value, bool) or not 1 <= int(value) <= 100 or float(value) != int(value):
        raise ValueError
    return int(value)


def _workers(value: Any) -> int:
    if isinstance(value, bool) or not 1 <= int(value) <= 64 or float(value) != int(value):
        raise ValueError
    return int(value)


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


def _words(value: Any) -> tuple[str, ...]:
    if value in (None, ""):
        return ()
    if isinstance(value, str):  # from the environment: comma-separated
        value = value.split(",")
    if not isinstance(value, list | tuple):
        raise ValueError
    return tuple(_text(str(item)) for item in value if str(item).strip())


_LISTEN = re.compile(r"([\w.\-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})")


def _listen(value: Any) -> str:
    text = _text(value)
    match = _LISTEN.fullmatch(text)
    if match is None or not 0 < int(match[2]) < 65536:
        raise ValueError
    return text


def _menu(value: Any) -> str:
    if value not in ("msgmenu", "text"):
        raise ValueError
    return str(value)


def _aes_key(value: Any) -> str | None:
    key = _optional_text(value)
    if key is not None and not re.fullmatch(r"[A-Za-z0-9+/]{43}", key):
        raise ValueError
    return key


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0"):
        return False
    raise ValueError


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
        _token,
        "a bot token like 123456:ABC...",
        "digits, a colon, then letters, digits, _ or -: check for a line break, a space or"
        " quotes pasted with it",
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
        "telegram.mode",
        "polling",
        "How updates arrive: polling (the bot asks Telegram) or webhook (Telegram posts them to"
        " telegram.webhook_url, served on http.listen).",
        _telegram_mode,
        "polling or webhook",
    ),
    Setting(
        "telegram.webhook_url",
        None,
        "Public https URL Telegram posts updates to in webhook mode (nginx with TLS in front of"
        " http.listen).",
        _https_url,
        "an https:// URL like https://bot.example.com/telegram/webhook",
        "Telegram posts only to https",
    ),
    Setting(
        "telegram.webhook_secret",
        None,
        "Secret Telegram sends with every webhook call, so others cannot post updates. Prefer"
        " TELEGRAM_WEBHOOK_SECRET, which wins.",
        _webhook_secret,
        "1-256 letters, digits, _ or -",
        "e.g. from: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'",
    ),
    Setting(
        "telegram.webhook_path",
        None,
        "Path the bot serves the webhook on; empty: the path of telegram.webhook_url (set it"
        " when a proxy rewrites the path).",
        _url_path,
        "a path like /telegram/webhook",
    ),
    Setting(
        "telegram.webhook_max_connections",
        40,
        "Most webhook calls Telegram makes at once (1-100).",
        _connections,
        "a whole number from 1 to 100",
    ),
    Setting(
        "telegram.workers",
        1,
        "How many `complaint-bot run` processes on one PostgreSQL database (storage.url) share"
        " the updates: 1, the leader answers them all; more, every process answers, one person"
        " at a time each (a lock per conversation), and each sends 1/N of Telegram's rate.",
        _workers,
        "a whole number from 1 to 64",
        "the number of processes you run; more than 1 needs storage.url",
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
        "storage.url",
        "",
        "The database server to use instead of SQLite: postgresql://USER@HOST/DATABASE (evidence"
        " is kept in it too). Empty: SQLite at storage.db_path.",
        _storage_url,
        "empty, or a URL starting with postgresql://",
        "a password is better in the environment: COMPLAINT_BOT_STORAGE__URL or PGPASSWORD",
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
    Setting(
        "http.listen",
        "127.0.0.1:8080",
        "Where `complaint-bot serve` listens (HOST:PORT); put nginx with TLS in front of it.",
        _listen,
        "HOST:PORT like 127.0.0.1:8080",
    ),
    Setting(
        "wecom.corp_id",
        None,
        "WeCom corp id (企业ID, starts with ww) of the company that owns the customer service.",
        _optional_text,
        "a corp id like ww0123456789abcdef",
    ),
    Setting(
        "wecom.secret",
        None,
        "Secret of the self-built app allowed to call 微信客服. Prefer WECOM_SECRET, which wins.",
        _optional_text,
        "the app's secret",
    ),
    Setting(
        "wecom.token",
        None,
        "Token of the app's 接收消息 callback (signs callbacks). Prefer WECOM_TOKEN, which wins.",
        _optional_text,
        "the callback token",
    ),
    Setting(
        "wecom.encoding_aes_key",
        None,
        "EncodingAESKey of the callback (43 characters). Prefer WECOM_AES_KEY, which wins.",
        _aes_key,
        "43 letters, digits, + or /",
        "copy it again from the app's 接收消息 page",
    ),
    Setting(
        "wecom.open_kfids",
        (),
        "Customer-service accounts (open_kfid, starts with wk) the bot answers for.",
        _words,
        "a list of open_kfid",
        "`complaint-bot wecom check` lists them; in the environment comma-separated",
    ),
    Setting(
        "wecom.api_base",
        "https://qyapi.weixin.qq.com/cgi-bin",
        "WeCom API endpoint (changed only for tests or a proxy).",
        _text,
        "a URL ending in /cgi-bin",
    ),
    Setting(
        "wecom.callback_path",
        "/wecom/kf",
        "Path of the callback URL registered in the app's 接收消息 settings.",
        _text,
        "a path like /wecom/kf",
    ),
    Setting(
        "wecom.menu",
        "msgmenu",
        "Buttons as tappable msgmenu (up to 10) or as numbered lines only: msgmenu or text.",
        _menu,
        "msgmenu or text",
    ),
    Setting(
        "wecom.document_formats",
        ("txt", "zip", "ics"),
        "File types sent on WeChat (letters as .txt; .md copies are left out).",
        _words,
        "a list of file extensions",
    ),
    Setting(
        "wecom.calendar_invites",
        True,
        "Send the deadline as a calendar file (.ics) with the letter: WeChat cannot remind later.",
        _flag,
        "true or false",
    ),
    Setting(
        "wecom.poll_interval",
        300.0,
        "Seconds between safety pulls of new messages (a lost callback is found then).",
        _positive_number,
        "a number of seconds > 0",
    ),
)
