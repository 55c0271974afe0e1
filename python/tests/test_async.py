"""The awaitable twins: results as the blocking calls give them, and an event loop that
keeps running while they wait."""

from __future__ import annotations

import asyncio
import uuid

import assistant_db
from assistant_db import Client, Logger
from conftest import Harness, Target, interaction


def test_awaitable_calls_give_what_the_blocking_ones_give(target: Target) -> None:
    async def main() -> None:
        client = await Client.aconnect(**connect_args(target))
        await client.atest_connection()
        ids = await asyncio.gather(*(client.ainsert_interaction(interaction(n)) for n in range(20)))
        assert len(set(ids)) == 20
        written = await client.alog([interaction(20)], [])
        assert written == {"interactions": 1, "escalations": 0}
        assert (await client.ametrics(mode="customer"))["total_interactions"] == 21
        page = await client.ainteractions(limit=5)
        assert len(page["items"]) == 5 and page["next"] is not None
        detail = await client.ainteraction(ids[0])
        assert detail["id"] == ids[0]
        try:
            await client.ainsert_interaction(interaction(1, outcome="maybe"))
        except assistant_db.ValidationError as e:
            assert e.field == "outcome"
        else:
            raise AssertionError("a bad record was accepted")

    asyncio.run(main())


def connect_args(target: Target) -> dict:
    if target.transport == "direct":
        return {"database_url": target.env["DATABASE_URL"]}
    return {"supabase_rest_url": target.env["SUPABASE_REST_URL"], "supabase_key": target.env["SUPABASE_KEY"]}


def test_the_event_loop_runs_while_a_flush_waits_for_the_database(harness: Harness, database_url: str, tmp_path) -> None:
    async def main() -> None:
        client = await Client.aconnect(database_url)
        async with Logger(client, spool_path=str(tmp_path / "spool.db"), flush_interval=0.05) as logger:
            await logger.alog(interaction(0))
            await logger.aflush(30)
            await asyncio.to_thread(harness.ask, "stop")
            try:
                await logger.alog_many([interaction(n, id=str(uuid.uuid4())) for n in range(1, 50)])
                flush = asyncio.ensure_future(logger.aflush(60))
                ticks = 0
                for _ in range(20):
                    await asyncio.sleep(0.01)
                    ticks += 1
                # The loop ran our 20 sleeps while the flush could not finish: it did not
                # block the loop.
                assert ticks == 20
                assert not flush.done()
            finally:
                await asyncio.to_thread(harness.ask, "start")
            await flush
            stats = await logger.astats()
            assert stats["stored"] == 50 and stats["depth"] == 0
        assert (await client.ametrics())["total_interactions"] == 50

    asyncio.run(main())
