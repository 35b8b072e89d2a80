"""Schema migrations: ordered plain functions, each applied in one transaction with its record.

A migration's id is its position in `MIGRATIONS` (1-based), so never reorder or remove one;
append a new function instead. A migration must use `conn.execute`, never `executescript`:
the latter commits on its own and would split the migration from its record.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime

import aiosqlite

from storage.db import run_sync
from storage.errors import StorageError

Migration = Callable[[sqlite3.Connection], None]


def m001_initial(conn: sqlite3.Connection) -> None:
    """Create users, conversations, cases, evidence, events and the case number counters."""
    statements = [
        """CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            messenger TEXT NOT NULL,
            external_id TEXT NOT NULL,
            chat_id TEXT NOT NULL,
            language TEXT NOT NULL,
            display_name TEXT,
            created_at TEXT NOT NULL,
            UNIQUE (messenger, external_id)
        )""",
        """CREATE TABLE conversations (
            user_id INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
            flow_id TEXT,
            flow_version INTEGER,
            state TEXT,
            answers TEXT NOT NULL,
            history TEXT NOT NULL,
            turn INTEGER NOT NULL,
            draft_id TEXT,
            pending TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        """CREATE TABLE cases (
            id INTEGER PRIMARY KEY,
            number TEXT NOT NULL UNIQUE,
            user_id INTEGER NOT NULL REFERENCES users (id),
            category TEXT NOT NULL,
            problem TEXT,
            state TEXT NOT NULL,
            flow_id TEXT NOT NULL,
            flow_version INTEGER NOT NULL,
            language TEXT NOT NULL,
            answers TEXT NOT NULL,
            remedies TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        "CREATE INDEX cases_by_user ON cases (user_id)",
        """CREATE TABLE evidence (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users (id),
            draft_id TEXT NOT NULL,
            case_id INTEGER REFERENCES cases (id) ON DELETE CASCADE,
            step TEXT NOT NULL,
            kind TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            path TEXT NOT NULL,
            size INTEGER NOT NULL,
            file_name TEXT,
            mime_type TEXT,
            file_id TEXT,
            file_unique_id TEXT,
            group_id TEXT,
            text TEXT,
            meta TEXT NOT NULL,
            created_at TEXT NOT NULL,
            UNIQUE (draft_id, sha256)
        )""",
        # UNIQUE (draft_id, sha256) already indexes lookups by draft_id.
        "CREATE INDEX evidence_by_case ON evidence (case_id)",
        # Finding whether a file is still used by anyone, after a draft is discarded.
        "CREATE INDEX evidence_by_path ON evidence (path)",
        """CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users (id),
            draft_id TEXT,
            case_id INTEGER REFERENCES cases (id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            data TEXT NOT NULL,
            at TEXT NOT NULL
        )""",
        "CREATE INDEX events_by_case ON events (case_id)",
        "CREATE INDEX events_by_draft ON events (draft_id)",
        """CREATE TABLE case_counters (
            year INTEGER PRIMARY KEY,
            last INTEGER NOT NULL
        )""",
    ]
    for statement in statements:
        conn.execute(statement)


def m002_deadlines_and_reminders(conn: sqlite3.Connection) -> None:
    """Give cases a ladder rung, a deadline and a rating; add reminders; filed becomes waiting."""
    statements = [
        "ALTER TABLE cases ADD COLUMN rung INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE cases ADD COLUMN due_at TEXT",
        "ALTER TABLE cases ADD COLUMN rating INTEGER",
        "ALTER TABLE cases ADD COLUMN comment TEXT",
        # The lifecycle starts in `waiting` (for the respondent's reply); `filed` is no state.
        "UPDATE cases SET state = 'waiting' WHERE state = 'filed'",
        # Set when the person blocked the bot, cleared when they write again.
        "ALTER TABLE users ADD COLUMN unreachable_at TEXT",
        """CREATE TABLE reminders (
            id INTEGER PRIMARY KEY,
            case_id INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            due_at TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending',  -- pending|sent|cancelled|undeliverable|failed
            attempts INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            done_at TEXT
        )""",
        # Only pending rows are indexed: finding what is due costs O(due), whatever the history.
        "CREATE INDEX reminders_due ON reminders (due_at) WHERE status = 'pending'",
        "CREATE INDEX reminders_by_case ON reminders (case_id)",
    ]
    for statement in statements:
        conn.execute(statement)


def m003_letter_profile(conn: sqlite3.Connection) -> None:
    """Give people a profile: the name and phone they chose to put on letters (JSON)."""
    conn.execute("ALTER TABLE users ADD COLUMN profile TEXT NOT NULL DEFAULT '{}'")


def m004_deliveries(conn: sqlite3.Connection) -> None:
    """Record the messenger updates already handled, so a redelivered one has no effect."""
    conn.execute(
        """CREATE TABLE deliveries (
            messenger TEXT NOT NULL,
            delivery_id TEXT NOT NULL,  -- Telegram: "BOT_ID:UPDATE_ID" (update ids are per bot)
            handled_at TEXT NOT NULL,
            PRIMARY KEY (messenger, delivery_id)
        ) WITHOUT ROWID"""
    )
    # Old records are pruned by age.
    conn.execute("CREATE INDEX deliveries_by_age ON deliveries (handled_at)")


def m005_reminder_leases(conn: sqlite3.Connection) -> None:
    """Let a sender claim due reminders for a while, so two senders never send one twice."""
    # PostgreSQL claims with it (several processes may share a database); SQLite, one process
    # per file, keeps the column for a database copied between the two.
    conn.execute("ALTER TABLE reminders ADD COLUMN lease_until TEXT")


def m006_wecom(conn: sqlite3.Connection) -> None:
    """Keep what the WeChat messenger needs: cursors, an inbox, each person's window; defer."""
    statements = [
        # Per customer-service account: where kf/sync_msg resumes.
        """CREATE TABLE wecom_cursors (
            open_kfid TEXT PRIMARY KEY,
            cursor TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        # Messages pulled but not yet handled; written in the same transaction as the cursor
        # that moves past them, deleted once handled.
        """CREATE TABLE wecom_inbox (
            msgid TEXT PRIMARY KEY,
            open_kfid TEXT NOT NULL,
            external_userid TEXT NOT NULL,
            body TEXT NOT NULL,
            received_at TEXT NOT NULL
        )""",
        "CREATE INDEX wecom_inbox_by_person ON wecom_inbox (external_userid)",
        # Per person: when they last wrote (the 48-hour window), messages sent since (the
        # quota of 5), the buttons on their screen, and pages waiting for "继续".
        """CREATE TABLE wecom_people (
            external_userid TEXT PRIMARY KEY,
            open_kfid TEXT NOT NULL,
            window_at TEXT,
            sent INTEGER NOT NULL DEFAULT 0,
            menu TEXT NOT NULL DEFAULT '{}',
            pages TEXT NOT NULL DEFAULT '[]',
            updated_at TEXT NOT NULL
        )""",
        # A reminder due while the person cannot be reached waits for their next message.
        "ALTER TABLE reminders ADD COLUMN deferred_at TEXT",
    ]
    for statement in statements:
        conn.execute(statement)


def m007_inbox_outbox(conn: sqlite3.Connection) -> None:
    """Keep every update before it is acknowledged, and every reply until it is sent."""
    statements = [
        # An update stays after it is handled (done_at set) as long as deliveries are kept,
        # so a platform's repeat of it is never queued again.
        """CREATE TABLE inbox (
            id INTEGER PRIMARY KEY,
            messenger TEXT NOT NULL,
            delivery_id TEXT NOT NULL,
            user_id TEXT,
            payload TEXT NOT NULL,
            received_at TEXT NOT NULL,
            done_at TEXT,
            UNIQUE (messenger, delivery_id)
        )""",
        "CREATE INDEX inbox_pending ON inbox (messenger, id) WHERE done_at IS NULL",
        "CREATE INDEX inbox_done ON inbox (done_at) WHERE done_at IS NOT NULL",
        "CREATE INDEX inbox_by_user ON inbox (messenger, user_id)",
        # The replies to one message, from the moment its handling ends until they went out.
        """CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            messenger TEXT NOT NULL,
            user_id TEXT NOT NULL,
            chat_id TEXT NOT NULL,
            replies TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX outbox_by_user ON outbox (messenger, user_id)",
    ]
    for statement in statements:
        conn.execute(statement)


def m008_wecom_tokens_and_inbox_order(conn: sqlite3.Connection) -> None:
    """Keep WeCom access tokens across restarts; give the inbox an order both dialects share."""
    statements = [
        # The inbox was read in rowid order, which PostgreSQL has no word for: `seq` is the
        # rowid by name (INTEGER PRIMARY KEY), and the twin table numbers its rows the same way.
        """CREATE TABLE wecom_inbox_ordered (
            seq INTEGER PRIMARY KEY,
            msgid TEXT NOT NULL UNIQUE,
            open_kfid TEXT NOT NULL,
            external_userid TEXT NOT NULL,
            body TEXT NOT NULL,
            received_at TEXT NOT NULL
        )""",
        "INSERT INTO wecom_inbox_ordered (seq, msgid, open_kfid, external_userid, body,"
        " received_at) SELECT rowid, msgid, open_kfid, external_userid, body, received_at"
        " FROM wecom_inbox ORDER BY rowid",
        "DROP TABLE wecom_inbox",
        "ALTER TABLE wecom_inbox_ordered RENAME TO wecom_inbox",
        "CREATE INDEX wecom_inbox_by_person ON wecom_inbox (external_userid)",
        # WeCom counts token fetches against a quota: a restart, or a second process, reuses
        # the token still valid. Keyed by corp and a hash of the secret (never the secret), so
        # a new secret never picks up the old one's token.
        """CREATE TABLE wecom_tokens (
            corp_id TEXT NOT NULL,
            secret_hash TEXT NOT NULL,
            token TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            fetched_at TEXT NOT NULL,
            PRIMARY KEY (corp_id, secret_hash)
        )""",
    ]
    for statement in statements:
        conn.execute(statement)


def m009_reminders_due_in_order(conn: sqlite3.Connection) -> None:
    """Index pending reminders by due time and id, the order the scheduler takes them in."""
    # Nothing to do here: `reminders_due (due_at)` ends in the rowid, which is the id. The
    # PostgreSQL twin gives its index the id that SQLite's has implicitly.


def m010_send_pace(conn: sqlite3.Connection) -> None:
    """Keep the bot-wide pace of Telegram sends that workers share."""
    # Nothing to do here: one process answers from a SQLite file (telegram.workers is 1), and
    # it paces its own sends. The PostgreSQL twin adds the table every worker reserves from.


def m011_wecom_pull_token(conn: sqlite3.Connection) -> None:
    """Keep each account's last callback token, so a pull after a restart is not refused."""
    for statement in WECOM_PULL_TOKEN:
        conn.execute(statement)


# WeCom refuses more than about 10 pulls a minute made without a callback token (45009); a
# token stays good for 10 minutes. Both dialects run these.
WECOM_PULL_TOKEN = (
    "ALTER TABLE wecom_cursors ADD COLUMN token TEXT",
    "ALTER TABLE wecom_cursors ADD COLUMN token_at TEXT",
)


# The same numbering holds for PostgreSQL: storage/postgres/migrations.py has one function of
# the same name for each of these, in the same order (a test checks it).
MIGRATIONS: list[Migration] = [
    m001_initial,
    m002_deadlines_and_reminders,
    m003_letter_profile,
    m004_deliveries,
    m005_reminder_leases,
    m006_wecom,
    m007_inbox_outbox,
    m008_wecom_tokens_and_inbox_order,
    m009_reminders_due_in_order,
    m010_send_pace,
    m011_wecom_pull_token,
]


async def migrate(conn: aiosqlite.Connection) -> list[str]:
    """Apply the migrations this database lacks; return the names of those applied."""
    return await run_sync(conn, lambda c: apply_migrations(c, MIGRATIONS))


def apply_migrations(conn: sqlite3.Connection, migrations: list[Migration]) -> list[str]:
    """Apply `migrations` missing from `conn`, each with its record in one transaction."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS migrations"
        " (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    recorded = {row[0] for row in conn.execute("SELECT id FROM migrations")}
    unknown = sorted(recorded - set(range(1, len(migrations) + 1)))
    if unknown:
        raise StorageError(
            f"database: expected migrations up to {len(migrations)}, found {unknown} recorded"
            " as well (it was written by a newer complaint-bot; upgrade, or point"
            " database at another file)"
        )
    applied = []
    for number, migration in enumerate(migrations, start=1):
        if number in recorded:
            continue
        name = migration.__name__
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have applied it while we waited for the write lock.
            if conn.execute("SELECT 1 FROM migrations WHERE id = ?", (number,)).fetchone():
                conn.execute("ROLLBACK")
                continue
            migration(conn)
            if not conn.in_transaction:
                raise StorageError(
                    f"migration {number} ({name}): committed on its own"
                    " (use conn.execute, not executescript)"
                )
            conn.execute(
                "INSERT INTO migrations (id, name, applied_at) VALUES (?, ?, ?)",
                (number, name, datetime.now(UTC).isoformat()),
            )
            conn.execute("COMMIT")
        except BaseException as e:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(e, sqlite3.Error):
                raise StorageError(f"migration {number} ({name}): {e}") from e
            raise
        applied.append(name)
    return applied
