"""A connector's new status, and a station coming and going, pushed to roaming partners (OCPI
2.2.1 §8.2.2): the StatusNotification (or the link's record) announces it in its own
transaction to each partner with a locations receiver, and the outbox PUTs the whole Location
as it stands, which the independent eMSP's library validates; a repeated notification pushes
nothing twice, and a partner without a locations receiver is not told. Both databases."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from ocpp.v16 import call

from chargeledger.bootstrap import Runtime
from chargeledger.domain.outbox import Channel
from tests.integration.ocpi_emsp import EmspProcess
from tests.integration.ocpi_world import (
    OUR_COUNTRY,
    OUR_PARTY,
    booted_station,
    emsp_partner,
)
from tests.integration.ocpp_support import bounded, wire


def status(connector: int, state: str, seconds: float) -> call.StatusNotification:
    return call.StatusNotification(
        connector_id=connector, error_code="NoError", status=state, timestamp=wire(seconds)
    )


async def location_notices(rt: Runtime) -> int:
    """How many location changes were announced: the outbox fans them out to the partner's
    channel (and sends them) first."""
    await rt.deliver_outbox()
    async with rt.uow() as uow:
        page = await uow.outbox.list(None, limit=500, offset=0)
    return sum(
        1 for m in page.items if m.channel is Channel.OCPI and m.notice.topic == "ocpi.location"
    )


async def until_announced(rt: Runtime, count: int) -> None:
    while await location_notices(rt) < count:  # noqa: ASYNC110 - the server's own record
        await asyncio.sleep(0.02)


async def test_a_status_change_puts_the_location_to_the_partner(
    ocpi_runtime: Runtime, served: str, emsp: EmspProcess
) -> None:
    rt = ocpi_runtime
    await emsp_partner(rt, served, emsp)
    async with booted_station(served) as cp:
        await cp.request(status(1, "Available", 0))
        await cp.request(status(2, "Available", 0))
        await rt.deliver_outbox()
        first = await asyncio.to_thread(emsp.received, "locations")
        assert len(first) == 3  # the station's connection, then each connector's status
        await cp.request(status(1, "Charging", 60))
        await cp.request(status(1, "Charging", 60))  # the same status again
        await rt.deliver_outbox()

        pushed = await asyncio.to_thread(emsp.received, "locations")
        assert len(pushed) == 4  # the repeat announced nothing
        latest = pushed[-1]
        assert latest["method"] == "PUT"
        assert latest["strict"] == []
        body = latest["body"]
        assert (body["country_code"], body["party_id"]) == (OUR_COUNTRY, OUR_PARTY)
        assert latest["path"].endswith(f"/{OUR_COUNTRY}/{OUR_PARTY}/{body['id']}")
        statuses = {evse["uid"]: evse["status"] for evse in body["evses"]}
        assert {"AVAILABLE", "CHARGING"} <= set(statuses.values())  # its two connectors
        assert await asyncio.to_thread(emsp.validate, "location", body) == []
        # What was pushed is what the partner pulls.
        pulled = await asyncio.to_thread(emsp.pull, "locations", {})
        (same,) = [item for item in pulled["items"] if item["id"] == body["id"]]
        assert {evse["uid"]: evse["status"] for evse in same["evses"]} == statuses

    # The station goes away: the partner is told its EVSEs' status is not known now.
    await bounded(until_announced(rt, 5))  # the server records the close a moment later
    await rt.deliver_outbox()
    gone = (await asyncio.to_thread(emsp.received, "locations"))[-1]["body"]
    assert gone["id"] == body["id"]
    assert {evse["status"] for evse in gone["evses"]} == {"UNKNOWN"}


async def test_a_partner_without_a_locations_receiver_is_not_told(
    ocpi_runtime: Runtime, served: str, emsp: EmspProcess
) -> None:
    rt = ocpi_runtime
    partner = await emsp_partner(rt, served, emsp)
    async with rt.uow() as uow:
        stored = await uow.roaming.get(partner.id)
        assert stored is not None
        kept = tuple(e for e in stored.endpoints if e.identifier != "locations")
        assert await uow.roaming.replace_if(
            replace(stored, endpoints=kept), stored.status, stored.incoming_digest
        )
        await uow.commit()
    rt.roaming.view.forget()  # written behind the handshake's back: the process is told
    async with booted_station(served) as cp:
        await cp.request(status(1, "Available", 0))
        assert await location_notices(rt) == 0
        async with rt.uow() as uow:  # the receiver is back: the next change is announced
            assert await uow.roaming.replace_if(stored, stored.status, stored.incoming_digest)
            await uow.commit()
        rt.roaming.view.forget()
        await cp.request(status(1, "Charging", 60))
        assert await location_notices(rt) == 1
