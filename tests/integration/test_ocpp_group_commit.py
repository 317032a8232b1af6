"""Group commit (``stations/group_commit.py``): CALLs of several stations that arrive together
share one transaction, and each stays exactly once on its own: a refused CALL is undone alone,
the others keep their effects and stored answers. Real websockets, raw frames, sent together
so the server reads them within one group's window.
"""

from __future__ import annotations

import asyncio
import json

from tests.integration.ocpp_support import (
    ACTIVE_TAG,
    CP16,
    CP201,
    World,
    call_frame,
    meter_value,
    raw_link,
    rejected_frames,
    sampled,
    stored_samples,
    stored_sessions,
    wire,
)


async def test_a_refused_call_is_undone_alone_and_the_others_commit(world: World) -> None:
    """The 1.6 station's MeterValues names a transaction nobody knows (a CALLERROR, its
    effects undone); the 2.0.1 station's TransactionEvent, sent at the same moment, is
    applied and its answer stored: a repetition gets the very same bytes."""
    async with (
        raw_link(world.url, CP16, "ocpp1.6") as link16,
        raw_link(world.url, CP201, "ocpp2.0.1") as link201,
    ):
        unknown = call_frame(
            "MeterValues",
            {
                "connectorId": 1,
                "transactionId": 424242,
                "meterValue": [meter_value(wire(60), sampled("1500"))],
            },
            "values-unknown",
        )
        started = call_frame(
            "TransactionEvent",
            {
                "eventType": "Started",
                "timestamp": wire(0),
                "triggerReason": "Authorized",
                "seqNo": 0,
                "transactionInfo": {"transactionId": "TX-GROUP"},
                "evse": {"id": 1, "connectorId": 1},
                "idToken": {"idToken": ACTIVE_TAG, "type": "ISO14443"},
                "meterValue": [
                    meter_value(wire(0), {"value": 5000, "context": "Transaction.Begin"})
                ],
            },
            "event-0",
        )
        refused, accepted = await asyncio.gather(
            link16.exchange(unknown), link201.exchange(started)
        )
        assert json.loads(refused)[:3] == [4, "values-unknown", "PropertyConstraintViolation"]
        assert json.loads(accepted)[:2] == [3, "event-0"]
        again_refused, again_accepted = await asyncio.gather(
            link16.exchange(unknown), link201.exchange(started)
        )
        assert again_accepted == accepted  # the stored answer, not a recomputation
        assert json.loads(again_refused)[0] == 4  # a refused CALL kept no answer to replay

    assert await stored_sessions(world.runtime, world.station_id(CP16)) == []
    (session,) = await stored_sessions(world.runtime, world.station_id(CP201))
    assert len(await stored_samples(world.runtime, session.id)) == 1
    async with world.runtime.uow() as uow:
        assert len(await uow.sessions.transaction_events(session.id)) == 1
    assert [code for _, code in await rejected_frames(world.runtime, CP16)] == [
        "PropertyConstraintViolation",
        "PropertyConstraintViolation",
    ]


async def test_calls_sent_together_are_each_applied_once_in_order(world: World) -> None:
    """Two stations each send a start and then meter values as fast as their answers come;
    every CALL is applied once, in each station's order, and every answer is its own."""
    async with (
        raw_link(world.url, CP16, "ocpp1.6") as link16,
        raw_link(world.url, CP201, "ocpp2.0.1") as link201,
    ):

        async def station16() -> None:
            start = {"connectorId": 1, "idTag": ACTIVE_TAG, "meterStart": 1_000}
            answer = await link16.call("StartTransaction", dict(start, timestamp=wire(0)), "s")
            tx = answer[2]["transactionId"]
            for n in range(1, 6):
                values = {
                    "connectorId": 1,
                    "transactionId": tx,
                    "meterValue": [meter_value(wire(60 * n), sampled(str(1_000 + 100 * n)))],
                }
                assert (await link16.call("MeterValues", values, f"v{n}"))[:2] == [3, f"v{n}"]

        async def station201() -> None:
            for seq in range(6):
                event = {
                    "eventType": "Started" if seq == 0 else "Updated",
                    "timestamp": wire(60 * seq),
                    "triggerReason": "Authorized" if seq == 0 else "MeterValuePeriodic",
                    "seqNo": seq,
                    "transactionInfo": {"transactionId": "TX-ORDER"},
                    "evse": {"id": 1, "connectorId": 1},
                    "meterValue": [meter_value(wire(60 * seq), {"value": 5000 + 100 * seq})],
                }
                answer = await link201.call("TransactionEvent", event, f"e{seq}")
                assert answer[:2] == [3, f"e{seq}"]

        await asyncio.gather(station16(), station201())

    # 1.6: five MeterValues (meterStart is no sample); 2.0.1: a sample in each of six events.
    for cpid, samples in ((CP16, 5), (CP201, 6)):
        (session,) = await stored_sessions(world.runtime, world.station_id(cpid))
        assert len(await stored_samples(world.runtime, session.id)) == samples
