"""A roaming partner's sessions (OCPI 2.2.1 §9): pushed while they run, on each new reading
the periodic job finds (once per reading, however often it runs), and pulled by the
independent eMSP from our Sessions sender interface (§9.2.1) with paging and date filters,
each validated by its library. Both databases."""

from __future__ import annotations

import asyncio

from chargeledger.bootstrap import Runtime
from tests.integration.ocpi_emsp import EmspProcess
from tests.integration.ocpi_world import (
    OUR_COUNTRY,
    OUR_PARTY,
    booted_station,
    emsp_partner,
)
from tests.integration.ocpp_support import wire

TAG = "EMSP-RFID-0001"


async def test_a_running_session_is_pushed_once_per_new_reading(
    ocpi_runtime: Runtime, served: str, emsp: EmspProcess
) -> None:
    rt = ocpi_runtime
    await emsp_partner(rt, served, emsp)
    async with booted_station(served) as cp:
        tx = await cp.start_tx(TAG, 0)
        assert await rt.keep_partners_current() == 0  # no reading yet: the start says it all
        await rt.deliver_outbox()
        (started,) = await asyncio.to_thread(emsp.received, "sessions")
        assert (started["body"]["status"], started["body"]["kwh"]) == ("ACTIVE", 0)

        await cp.registers(tx, 1, (600, 2_000), (900, 3_000))
        assert await rt.keep_partners_current() == 1  # the latest reading, once
        assert await rt.keep_partners_current() == 0  # nothing new: nothing again
        await rt.deliver_outbox()
        (_, updated) = await asyncio.to_thread(emsp.received, "sessions")
        assert updated["method"] == "PUT"
        assert updated["body"]["status"] == "ACTIVE"
        assert updated["body"]["kwh"] == 3
        assert updated["body"]["total_cost"]["excl_vat"] > 0  # price() over it so far
        assert updated["body"]["last_updated"] == wire(900)
        assert updated["strict"] == []
        assert await asyncio.to_thread(emsp.validate, "session", updated["body"]) == []

        await cp.registers(tx, 1, (1_200, 4_500))
        assert await rt.keep_partners_current() == 1
        await cp.stop_tx(tx, 6_000, 1_500)
    await rt.quiesce()
    assert await rt.keep_partners_current() == 0  # it ended: its end is announced instead
    await rt.deliver_outbox()
    bodies = [entry["body"] for entry in await asyncio.to_thread(emsp.received, "sessions")]
    assert [(b["status"], b["kwh"]) for b in bodies][2:] in (
        [("ACTIVE", 4.5), ("COMPLETED", 6)],
        [("COMPLETED", 6), ("COMPLETED", 6)],  # the update was sent after the end: as it stands
    )


async def test_the_emsp_pulls_its_sessions_page_by_page(
    ocpi_runtime: Runtime, served: str, emsp: EmspProcess
) -> None:
    rt = ocpi_runtime
    await emsp_partner(rt, served, emsp)
    async with booted_station(served) as cp:
        done = await cp.start_tx(TAG, 0, connector=1)
        await cp.stop_tx(done, 2_000, 1_800)
        running = await cp.start_tx(TAG, 0, 3_600, connector=2)
        await cp.registers(running, 2, (4_200, 1_000))
        await rt.quiesce()

        pulled = await asyncio.to_thread(emsp.pull, "sessions", {"limit": 1})
        assert pulled["errors"] == []
        assert [page["count"] for page in pulled["pages"]] == [1, 1]
        assert {page["x_total_count"] for page in pulled["pages"]} == {"2"}
        sessions = pulled["items"]
        assert [s["status"] for s in sessions] == ["COMPLETED", "ACTIVE"]  # oldest start first
        assert [s["kwh"] for s in sessions] == [2, 1]
        for session in sessions:
            assert (session["country_code"], session["party_id"]) == (OUR_COUNTRY, OUR_PARTY)
            assert session["cdr_token"]["party_id"] == "EMS"
            assert await asyncio.to_thread(emsp.validate, "session", session) == []

        # date_from is inclusive, on last_updated: the latest of start, reading and end.
        since = await asyncio.to_thread(emsp.pull, "sessions", {"date_from": wire(1_800)})
        assert [s["status"] for s in since["items"]] == ["COMPLETED", "ACTIVE"]
        later = await asyncio.to_thread(emsp.pull, "sessions", {"date_from": wire(1_801)})
        assert [s["status"] for s in later["items"]] == ["ACTIVE"]
        before = await asyncio.to_thread(emsp.pull, "sessions", {"date_to": wire(4_200)})
        assert [s["status"] for s in before["items"]] == ["COMPLETED"]  # date_to is exclusive
        none = await asyncio.to_thread(emsp.pull, "sessions", {"date_from": "2100-01-01T00:00:00Z"})
        assert (none["errors"], none["items"]) == ([], [])
        await cp.stop_tx(running, 1_500, 4_800)
