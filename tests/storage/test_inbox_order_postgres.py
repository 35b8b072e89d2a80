"""On PostgreSQL several processes keep updates in one inbox: none may be passed over.

The leader reads the inbox "after the last id it handed on". Ids come from a sequence when a
row is inserted, not when it commits, so a keeper still inside its transaction holds an id
below one another keeper has already committed; without care, the leader reads the newer row,
moves past both ids, and never sees the older one (until the next leader's start).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import psycopg

from flows.records import Inbound
from storage.postgres.store import _INBOX_LOCK, PostgresStore


async def test_an_update_kept_in_a_longer_transaction_is_not_passed_over(
    tmp_path: Path, pg_url: str
) -> None:
    store = await PostgresStore.open(pg_url, tmp_path)
    try:
        with psycopg.connect(pg_url) as slow:
            # One keeper is inside its transaction: it has its id, and has not committed yet.
            slow.execute("SELECT pg_advisory_xact_lock(%s)", (_INBOX_LOCK,))
            slow.execute(
                "INSERT INTO inbox (messenger, delivery_id, user_id, payload, received_at)"
                " VALUES ('telegram', 'slow', '1', %s, '2026-11-29T00:00:00+00:00')",
                (json.dumps({"update_id": 1}),),
            )
            # Another keeps an update meanwhile, and the leader reads the inbox.
            fast = asyncio.create_task(
                store.accept_updates("telegram", [Inbound("fast", "2", {"update_id": 2})])
            )
            await asyncio.wait({fast}, timeout=0.5)
            first = await store.pending_updates("telegram", 0, 100)
            slow.commit()
        await fast
        after = max((entry.id for entry in first), default=0)
        later = await store.pending_updates("telegram", after, 100)
        seen = [entry.delivery_id for entry in [*first, *later]]
        assert sorted(seen) == ["fast", "slow"]
    finally:
        await store.close()
