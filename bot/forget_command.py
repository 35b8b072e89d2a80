"""`complaint-bot users forget ID`: an operator deletes everything about one person."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from bot.config import ConfigError, Settings
from flows.model import ConversationKey
from flows.records import Forgotten
from storage.factory import open_store


def parse_user(text: str) -> ConversationKey:
    """Return the person named `messenger:user_id` (e.g. telegram:123)."""
    messenger, _, user_id = text.strip().partition(":")
    if not messenger or not user_id:
        raise ConfigError(f"ID: expected messenger:user_id like telegram:123, got {text!r}")
    return ConversationKey(messenger, user_id)


def describe(forgotten: Forgotten) -> str:
    """Return what forgetting removes, as one line."""
    f = forgotten
    return (
        f"{f.conversations} conversation(s), {f.cases} case(s), {f.evidence} evidence item(s)"
        f" ({f.files} file(s)), {f.events} event(s), {f.reminders} reminder(s),"
        f" {f.documents} saved document(s)"
    )


def forget_user(settings: Settings, user: str, *, assume_yes: bool) -> int:
    """Delete one person's data after showing what goes and asking (unless `assume_yes`)."""
    key = parse_user(user)
    if not settings.storage_url and not Path(settings.storage_db_path).exists():
        raise ConfigError(f"storage.db_path: no database at {settings.storage_db_path}")
    return asyncio.run(_forget(settings, key, assume_yes))


async def _forget(settings: Settings, key: ConversationKey, assume_yes: bool) -> int:
    store = await open_store(
        settings.storage_url, settings.storage_db_path, settings.storage_data_dir
    )
    try:
        preview = await store.forget_preview(key)
        if preview is None:
            print(f"complaint-bot: no user {key}", file=sys.stderr)
            return 1
        if not assume_yes:
            print(f"{key}: {describe(preview)}")
            answer = await asyncio.to_thread(_ask, "Delete all of it? This cannot be undone [y/N] ")
            if answer not in ("y", "yes"):
                print("nothing deleted")
                return 1
        forgotten = await store.forget(key)
        if forgotten is None:  # gone meanwhile (the person pressed "forget me" themselves)
            print(f"complaint-bot: no user {key}", file=sys.stderr)
            return 1
        print(f"forgot {key}: {describe(forgotten)}")
        return 0
    finally:
        await store.close()


def _ask(prompt: str) -> str:
    try:
        return input(prompt).strip().lower()
    except EOFError:  # no terminal (piped input ended): treat as "no"
        print()
        return ""
