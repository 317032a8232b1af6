"""Open sessions held in memory by a station's link (``stations/held_sessions.py``): a meter
value costs no lookup of its session, and the database stays the truth. A session another
writer changed since the link last stored it (the sweep or an operator closing it, a second
node) is detected by its version, read again, and its change kept, never overwritten.
"""

from __future__ import annotations

import dataclasses

from chargeledger.domain.charging import QuarantineReason, Session
from chargeledger.domain.session_lifecycle import NO_STOP_REASON
from chargeledger.services.charging.session_capture import close_without_stop
from tests.integration.ocpp_support import (
    ACTIVE_TAG,
    CP16,
    CP201,
    World,
    at,
    meter_value,
    raw_link,
    sampled,
    stored_samples,
    stored_sessions,
    wire,
)


async def _only_session(world: World, charge_point_id: str) -> Session:
    (session,) = await stored_sessions(world.runtime, world.station_id(charge_point_id))
    return session


async def test_a_session_closed_by_another_writer_stays_closed(world: World) -> None:
    """The link holds the 1.6 session after its first meter value; the sweep then closes it
    (another transaction). The next meter value is kept as a late sample of the closed
    session: the link's copy, still open, does not reopen it."""
    async with raw_link(world.url, CP16, "ocpp1.6") as link:
        start = {"connectorId": 1, "idTag": ACTIVE_TAG, "meterStart": 1_000, "timestamp": wire(0)}
        tx = (await link.call("StartTransaction", start, "start"))[2]["transactionId"]

        def values(n: int) -> dict[str, object]:
            reading = meter_value(wire(60 * n), sampled(str(1_000 + 100 * n)))
            return {"connectorId": 1, "transactionId": tx, "meterValue": [reading]}

        assert (await link.call("MeterValues", values(1), "v1"))[:2] == [3, "v1"]
        held = await _only_session(world, CP16)
        async with world.runtime.uow() as uow:
            await close_without_stop(uow, world.runtime.clock, held)
            await uow.commit()
        closed = await _only_session(world, CP16)
        assert not closed.is_open
        assert closed.version > held.version

        assert (await link.call("MeterValues", values(2), "v2"))[:2] == [3, "v2"]

    session = await _only_session(world, CP16)
    assert not session.is_open
    assert session.stop_reason == NO_STOP_REASON
    assert session.version == closed.version + 1
    assert len(await stored_samples(world.runtime, session.id)) == 2


async def test_a_change_by_another_node_is_not_overwritten(world: World) -> None:
    """A second writer (another node, say) quarantines the running 2.0.1 session the link
    holds; the next TransactionEvent adds its sample to the stored session and keeps that
    change, and the event after it needs no read again."""
    async with raw_link(world.url, CP201, "ocpp2.0.1") as link:

        def event(seq: int) -> dict[str, object]:
            return {
                "eventType": "Started" if seq == 0 else "Updated",
                "timestamp": wire(60 * seq),
                "triggerReason": "Authorized" if seq == 0 else "MeterValuePeriodic",
                "seqNo": seq,
                "transactionInfo": {"transactionId": "TX-HELD", "chargingState": "Charging"},
                "evse": {"id": 1, "connectorId": 1},
                "idToken": {"idToken": ACTIVE_TAG, "type": "ISO14443"},
                "meterValue": [meter_value(wire(60 * seq), {"value": 5000 + 100 * seq})],
            }

        for seq in (0, 1):
            assert (await link.call("TransactionEvent", event(seq), f"e{seq}"))[:2] == [
                3,
                f"e{seq}",
            ]
        held = await _only_session(world, CP201)
        flagged = (QuarantineReason.NON_MONOTONIC_REGISTER,)
        async with world.runtime.uow() as uow:
            await uow.sessions.update(dataclasses.replace(held, quarantine_reasons=flagged))
            await uow.commit()

        for seq in (2, 3):
            assert (await link.call("TransactionEvent", event(seq), f"e{seq}"))[:2] == [
                3,
                f"e{seq}",
            ]

    session = await _only_session(world, CP201)
    assert session.quarantine_reasons == flagged
    assert session.is_open
    assert session.last_sample_at == at(180)
    # Started, Updated; the other writer; two Updated events, each one update.
    assert session.version == held.version + 3
    assert len(await stored_samples(world.runtime, session.id)) == 4


async def test_an_update_of_a_stale_version_writes_nothing(world: World) -> None:
    """The repository's half of it: an update conditional on the version read applies only
    while the row is at that version."""
    async with raw_link(world.url, CP16, "ocpp1.6") as link:
        start = {"connectorId": 1, "idTag": ACTIVE_TAG, "meterStart": 1_000, "timestamp": wire(0)}
        await link.call("StartTransaction", start, "start")
    read = await _only_session(world, CP16)
    async with world.runtime.uow() as uow:
        stored = await uow.sessions.update_if_unchanged(dataclasses.replace(read, id_tag="A"))
        assert stored is not None
        assert stored.version == read.version + 1
        assert await uow.sessions.update_if_unchanged(dataclasses.replace(read, id_tag="B")) is None
        await uow.commit()
    session = await _only_session(world, CP16)
    assert (session.id_tag, session.version) == ("A", read.version + 1)
