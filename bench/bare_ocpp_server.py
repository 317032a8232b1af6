"""The baseline of ``ocpp_ingest.py``: a central system built on the ``ocpp`` library alone
that answers every message and keeps nothing. Run as its own process by the benchmark."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
from datetime import UTC, datetime
from typing import Any

import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action as Action16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call_result as result201
from ocpp.v201.enums import Action as Action201

_transaction_ids = itertools.count(1)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Bare16(ChargePoint16):  # type: ignore[misc]
    @on(Action16.boot_notification)
    def boot(self, **_: Any) -> Any:
        return result16.BootNotification(current_time=_now(), interval=300, status="Accepted")

    @on(Action16.heartbeat)
    def heartbeat(self) -> Any:
        return result16.Heartbeat(current_time=_now())

    @on(Action16.start_transaction)
    def start_transaction(self, **_: Any) -> Any:
        return result16.StartTransaction(
            transaction_id=next(_transaction_ids), id_tag_info={"status": "Accepted"}
        )

    @on(Action16.meter_values)
    def meter_values(self, **_: Any) -> Any:
        return result16.MeterValues()

    @on(Action16.stop_transaction)
    def stop_transaction(self, **_: Any) -> Any:
        return result16.StopTransaction()


class Bare201(ChargePoint201):  # type: ignore[misc]
    @on(Action201.boot_notification)
    def boot(self, **_: Any) -> Any:
        return result201.BootNotification(current_time=_now(), interval=300, status="Accepted")

    @on(Action201.heartbeat)
    def heartbeat(self) -> Any:
        return result201.Heartbeat(current_time=_now())

    @on(Action201.meter_values)
    def meter_values(self, **_: Any) -> Any:
        return result201.MeterValues()

    @on(Action201.transaction_event)
    def transaction_event(self, **_: Any) -> Any:
        return result201.TransactionEvent()


async def _serve_station(connection: Any) -> None:
    charge_point_id = connection.request.path.rstrip("/").rsplit("/", 1)[-1]
    kind = Bare201 if connection.subprotocol == "ocpp2.0.1" else Bare16
    with contextlib.suppress(websockets.ConnectionClosed):
        await kind(charge_point_id, connection).start()


async def main(port: int) -> None:
    async with websockets.serve(
        _serve_station,
        "127.0.0.1",
        port,
        subprotocols=["ocpp2.0.1", "ocpp1.6"],
        max_queue=None,
        ping_interval=None,
    ):
        await asyncio.Future()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(main(parser.parse_args().port))
