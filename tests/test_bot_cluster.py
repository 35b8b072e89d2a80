"""The failover cluster's view of who leads: a new leader is up once its first poll arrives."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot_cluster import LEADS, Cluster
from fake_telegram import FakeBotAPI, FakeBotAPIServer


async def test_a_new_leader_is_up_though_its_log_line_was_read_after_its_first_poll(
    tmp_path: Path,
) -> None:
    # The takeover is timed, and the people's patience counted, from this moment. Counting
    # only polls answered after the LEADS line was read once added a whole long poll (10 s)
    # to a takeover: the first poll, answered at once with the question waiting, came before.
    fake = FakeBotAPI()
    person = fake.add_user("Asker")
    async with FakeBotAPIServer(fake) as server:
        cluster = Cluster(fake, server, tmp_path, "postgresql://127.0.0.1/unused")
        standby = cluster.bots[1]
        killed_at = asyncio.get_running_loop().time()
        question = person.send_command("help")  # asked the moment the leader died
        # A request the dead leader left in flight, read after its death, is not the new one's.
        assert (await fake.call("getUpdates", {"timeout": 0})).status == 200
        assert not cluster.polling_since(killed_at)
        await fake.call("deleteWebhook")  # the new leader: PTB's Updater does this, then polls
        first = await fake.call("getUpdates", {"timeout": 10})
        assert [u["update_id"] for u in first.json()["result"]] == [question["update_id"]]
        offset = question["update_id"] + 1
        second = asyncio.create_task(fake.call("getUpdates", {"timeout": 30, "offset": offset}))
        await fake.wait_until(lambda: fake.polls_received(killed_at) == 3)
        standby.log.write_text(f"INFO {LEADS} telegram\n")  # read only now
        await asyncio.wait_for(cluster.start_leader(standby, 0, killed_at), 10)
        assert cluster.up.is_set() and cluster.leader is standby
        assert not second.done()
        second.cancel()
        await asyncio.gather(second, return_exceptions=True)
