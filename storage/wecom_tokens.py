"""WeCom access tokens kept in the database, so a restart or a second process reuses one.

WeCom counts every `gettoken` against a quota, and a token stays valid for its whole life
(7,200 s) however many others are fetched: the one kept here is good until `expires_at`. Rows
are keyed by corp and a hash of the secret (the API client hashes it), never the secret.
SQLite and PostgreSQL run the same statements.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from storage.db import from_iso, to_utc_iso


def load(conn: sqlite3.Connection, corp_id: str, secret_hash: str) -> tuple[str, datetime] | None:
    """Return the kept token of the corp's secret and when it expires (None: none kept)."""
    row = conn.execute(
        "SELECT token, expires_at FROM wecom_tokens WHERE corp_id = ? AND secret_hash = ?",
        (corp_id, secret_hash),
    ).fetchone()
    return None if row is None else (str(row[0]), from_iso(row[1]))


def save(
    conn: sqlite3.Connection,
    corp_id: str,
    secret_hash: str,
    token: str,
    expires_at: datetime,
    fetched_at: datetime,
) -> None:
    """Keep a freshly fetched token in place of the one before."""
    conn.execute(
        "INSERT INTO wecom_tokens (corp_id, secret_hash, token, expires_at, fetched_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (corp_id, secret_hash) DO UPDATE SET"
        " token = excluded.token, expires_at = excluded.expires_at,"
        " fetched_at = excluded.fetched_at",
        (
            corp_id,
            secret_hash,
            token,
            to_utc_iso(expires_at, "expires_at"),
            to_utc_iso(fetched_at, "fetched_at"),
        ),
    )
