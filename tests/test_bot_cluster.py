"""The failover cluster's view of who leads: a new leader is up once its first poll arrives."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot_cluster import LEADS, Cluster
from fake_telegram import FakeBotAPI, FakeBotAPIServer


async def test_a_new_leader_is_up_while_its_first_long_poll_still_waits(tmp_path: Path) -> None:
    # The takeover is timed, and the people's patience counted, from this moment: waiting
    # for the first poll's answer instead once added a whole long poll (10 s) to a takeover.
    fake = FakeBotAPI()
    async with FakeBotAPIServer(fake) as server:
        cluster = Cluster(fake, server, tmp_path, "postgresql://127.0.0.1/unused")
        standby = cluster.bots[1]
        killed_at = asyncio.get_running_loop().time()
        standby.log.write_text(f"INFO {LEADS} telegram\n")  # as bot/leader.py logs it
        left_in_flight = asyncio.create_task(fake.call("getUpdates", {"timeout": 30}))
        await fake.wait_until(lambda: fake.polls_received(killed_at) == 1)
        assert not cluster.polling_since(killed_at)  # not the new leader's: no deleteWebhook
        await fake.call("deleteWebhook")  # what PTB's Updater does before it polls
        first_poll = asyncio.create_task(fake.call("getUpdates", {"timeout": 30}))
        await asyncio.wait_for(cluster.start_leader(standby, 0, killed_at), 10)
        assert cluster.up.is_set() and cluster.leader is standby
        assert not first_poll.done()  # up before any answer to the poll
        for task in (left_in_flight, first_poll):
            task.cancel()
        await asyncio.gather(left_in_flight, first_poll, return_exceptions=True)
