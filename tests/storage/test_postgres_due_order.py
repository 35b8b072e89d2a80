"""On PostgreSQL a batch of due reminders reads its own rows, however many fall due together.

Deadlines end at local midnight, so every case filed on one day with the same rule falls due at
the same instant. Each scheduler pass takes them 100 at a time in (due_at, id) order: the rows
read for one batch must be that batch's, not every reminder due at that instant sorted again
for each batch (which made claiming N due reminders cost N^2 / 100 rows read).
"""

from __future__ import annotations

from typing import Any

import psycopg

import storage.postgres.reminders as claims
from bot.scheduler import BATCH
from storage.postgres.connection import translate
from storage.postgres.store import migrate

DUE_TOGETHER = 3_000
NOW = "2026-12-09T00:00:00.000000+00:00"
DUE_AT = "2026-12-08T16:00:00.000000+00:00"  # midnight in China, for every one of them


def seed(url: str) -> None:
    """One person with DUE_TOGETHER cases, each with a reminder due at the same instant."""
    migrate(url)
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO users (id, messenger, external_id, chat_id, language, created_at)"
            " VALUES (1, 'telegram', '42', '42', 'zh', %s)",
            (DUE_AT,),
        )
        conn.execute(
            "INSERT INTO cases (id, number, user_id, category, state, flow_id, flow_version,"
            " language, answers, remedies, created_at, updated_at)"
            " SELECT i, 'TS-2026-' || i, 1, 'sms', 'waiting', 'sms', 1, 'zh', '{}', '[]', %s, %s"
            " FROM generate_series(1, %s) AS i",
            (DUE_AT, DUE_AT, DUE_TOGETHER),
        )
        conn.execute(
            "INSERT INTO reminders (id, case_id, kind, due_at, created_at)"
            " SELECT i, i, 'deadline', %s, %s FROM generate_series(1, %s) AS i",
            (DUE_AT, DUE_AT, DUE_TOGETHER),
        )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")


def due_rows_read(url: str, sql: str, params: tuple[Any, ...]) -> int:
    """Run `sql` under EXPLAIN ANALYZE (rolled back) and return the most rows a scan of the
    reminders looking for what is due (by `due_at`) produced."""
    with psycopg.connect(url) as conn:
        found = conn.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {translate(sql)}", params).fetchone()
        conn.rollback()
    assert found is not None
    most = 0
    nodes = [found[0][0]["Plan"]]
    while nodes:
        node = nodes.pop()
        nodes.extend(node.get("Plans", []))
        looks = f"{node.get('Index Cond', '')} {node.get('Filter', '')}"
        if node.get("Relation Name") == "reminders" and "due_at" in looks:
            most = max(most, node["Actual Rows"] * node["Actual Loops"])
    return most


def test_a_due_batch_reads_its_own_rows_not_all_due_at_that_instant(pg_url: str) -> None:
    seed(pg_url)
    audience = ("telegram", "telegram", None, None)

    due_read = due_rows_read(pg_url, claims.DUE_QUERY, (NOW, NOW, *audience, BATCH))
    claim_read = due_rows_read(pg_url, claims.CLAIM_QUERY, (NOW, NOW, NOW, *audience, BATCH))

    assert due_read <= BATCH, f"the due query read {due_read} reminders for a batch of {BATCH}"
    assert claim_read <= BATCH, f"the claim read {claim_read} reminders for a batch of {BATCH}"
