"""Open sessions held in memory by a station's link (``stations/held_sessions.py``): a meter
value costs no lookup of its session, and the database stays the truth. A session another
writer changed since the link last stored it (the sweep or an operator closing it, a second
node) is detected by its version, read again, and its change kept, never overwritten.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json

import pytest
from sqlalchemy import text

from chargeledger.domain.charging import QuarantineReason, Session
from chargeledger.domain.session_lifecycle import NO_STOP_REASON
from chargeledger.errors import SessionsChangedError
from chargeledger.services.charging.session_capture import close_without_stop
from tests.integration.ocpp_support import (
    ACTIVE_TAG,
    CP16,
    CP201,
    World,
    at,
    call_frame,
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


async def _two_running_sessions(world: World) -> tuple[Session, Session]:
    """A 1.6 and a 2.0.1 session, each running with one meter value."""
    async with (
        raw_link(world.url, CP16, "ocpp1.6") as link16,
        raw_link(world.url, CP201, "ocpp2.0.1") as link201,
    ):
        start = {"connectorId": 1, "idTag": ACTIVE_TAG, "meterStart": 1_000, "timestamp": wire(0)}
        await link16.call("StartTransaction", start, "start")
        event = {
            "eventType": "Started",
            "timestamp": wire(0),
            "triggerReason": "Authorized",
            "seqNo": 0,
            "transactionInfo": {"transactionId": "TX-DEFER"},
            "evse": {"id": 1, "connectorId": 1},
            "idToken": {"idToken": ACTIVE_TAG, "type": "ISO14443"},
        }
        await link201.call("TransactionEvent", event, "e0")
    return await _only_session(world, CP16), await _only_session(world, CP201)


async def test_deferred_updates_fail_together_when_a_row_changed(world: World) -> None:
    """The repository's deferred updates (``defer_updates``): both updates answer as written;
    the batch, written before the next read of a session, finds one row changed by another
    writer and fails, and so does every later write of that unit of work, the commit
    included, even after the failure was caught. Nothing is written."""
    first, second = await _two_running_sessions(world)
    async with world.runtime.uow() as uow:  # another writer changes the second session
        await uow.sessions.update(dataclasses.replace(second, id_tag="OTHER"))
        await uow.commit()
    async with world.runtime.uow() as uow:
        uow.sessions.defer_updates()
        one = await uow.sessions.update_if_unchanged(dataclasses.replace(first, id_tag="A"))
        two = await uow.sessions.update_if_unchanged(dataclasses.replace(second, id_tag="B"))
        assert one is not None
        assert one.version == first.version + 1
        assert two is not None  # answered as written: the batch will find out
        with pytest.raises(SessionsChangedError):
            await uow.sessions.get(first.id)
        with pytest.raises(SessionsChangedError):
            await uow.commit()
    assert await _only_session(world, CP16) == first
    stored_second = await _only_session(world, CP201)
    assert (stored_second.id_tag, stored_second.version) == ("OTHER", second.version + 1)


async def test_deferred_updates_are_written_before_any_read_of_a_session(world: World) -> None:
    """A read of the sessions table through another repository, or by raw SQL, sees what was
    deferred: the batch is written first."""
    first, second = await _two_running_sessions(world)
    async with world.runtime.uow() as uow:
        uow.sessions.defer_updates()
        await uow.sessions.update_if_unchanged(dataclasses.replace(first, id_tag="A"))
        await uow.sessions.update_if_unchanged(dataclasses.replace(second, id_tag="B"))
        raw_sql = uow._connection  # type: ignore[attr-defined]  # the unit of work's own
        tags = await raw_sql.execute(text("SELECT id_tag FROM sessions ORDER BY id_tag"))
        assert tags.scalars().all() == ["A", "B"]
        await uow.commit()
    assert (await _only_session(world, CP16)).id_tag == "A"
    assert (await _only_session(world, CP201)).version == second.version + 1


async def test_a_group_with_a_changed_session_is_applied_again_and_keeps_the_change(
    world: World,
) -> None:
    """Two stations' meter values sent at the same moment (one group, on SQLite with deferred
    updates) while another writer has changed one of the two sessions the links hold: the
    batch finds it, the group is applied again with a savepoint per CALL, and both meter
    values are kept, the other writer's change too."""
    async with (
        raw_link(world.url, CP16, "ocpp1.6") as link16,
        raw_link(world.url, CP201, "ocpp2.0.1") as link201,
    ):
        start = {"connectorId": 1, "idTag": ACTIVE_TAG, "meterStart": 1_000, "timestamp": wire(0)}
        tx = (await link16.call("StartTransaction", start, "start"))[2]["transactionId"]

        def values(n: int) -> list[object]:
            reading = meter_value(wire(60 * n), sampled(str(1_000 + 100 * n)))
            return call_frame(
                "MeterValues",
                {"connectorId": 1, "transactionId": tx, "meterValue": [reading]},
                f"v{n}",
            )

        def event(seq: int) -> list[object]:
            payload = {
                "eventType": "Started" if seq == 0 else "Updated",
                "timestamp": wire(60 * seq),
                "triggerReason": "Authorized" if seq == 0 else "MeterValuePeriodic",
                "seqNo": seq,
                "transactionInfo": {"transactionId": "TX-GROUPED"},
                "evse": {"id": 1, "connectorId": 1},
                "idToken": {"idToken": ACTIVE_TAG, "type": "ISO14443"},
                "meterValue": [meter_value(wire(60 * seq), {"value": 5000 + 100 * seq})],
            }
            return call_frame("TransactionEvent", payload, f"e{seq}")

        answers = await asyncio.gather(link16.exchange(values(1)), link201.exchange(event(0)))
        assert [json.loads(a)[:2] for a in answers] == [[3, "v1"], [3, "e0"]]
        held = await _only_session(world, CP16)
        flagged = (QuarantineReason.NON_MONOTONIC_REGISTER,)
        async with world.runtime.uow() as uow:
            await uow.sessions.update(dataclasses.replace(held, quarantine_reasons=flagged))
            await uow.commit()

        answers = await asyncio.gather(link16.exchange(values(2)), link201.exchange(event(1)))
        assert [json.loads(a)[:2] for a in answers] == [[3, "v2"], [3, "e1"]]

    changed = await _only_session(world, CP16)
    assert changed.quarantine_reasons == flagged
    assert changed.last_sample_at == at(120)
    assert changed.version == held.version + 2  # the other writer's, then this meter value's
    assert len(await stored_samples(world.runtime, changed.id)) == 2
    other = await _only_session(world, CP201)
    assert other.last_sample_at == at(60)
    assert len(await stored_samples(world.runtime, other.id)) == 2
