"""Shared pieces of the OCPP edge tests: a served network, real ``ocpp`` charge points over real
websockets, raw frame links, payload builders, and readers of what the server stored.

Station timestamps are fixed in the past (``T0``): the server must trust station time for
billing periods (DESIGN §2), so nothing here depends on the wall clock, and a session left
open is "days old" for the stale-session sweep.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

import httpx
import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action as Action16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call_result as result201
from ocpp.v201.enums import Action as Action201
from sqlalchemy import select
from websockets.asyncio.client import ClientConnection
from websockets.typing import Subprotocol

from chargeledger.adapters.db.tables import ocpp_rejected_frames
from chargeledger.bootstrap import Runtime
from chargeledger.domain.charging import MeterSample, Session
from chargeledger.domain.identity import Role
from chargeledger.domain.station_link import SessionFilter
from chargeledger.domain.tariffs.assignment import TariffScope
from chargeledger.services import tariffs
from chargeledger.sim.frames import is_call_frame
from tests.integration.ocpp_server import Network, basic_auth, running_server, seed_network

T = TypeVar("T")
Handler = TypeVar("Handler", bound=Callable[..., Any])
Json = dict[str, Any]
Headers = dict[str, str]
LoginAs = Callable[..., Awaitable[Headers]]

API = "/api/v1"
# A safety net against a hung server, never a timing check: generous enough that a machine
# kept busy by other work never reaches it (a 10 s bound once failed a handshake under load).
WAIT_S = 120.0
CP16 = "CP16-AC"
CP201 = "CP201-DC"
ACTIVE_TAG = "04AABBCCDD"
BLOCKED_TAG = "04BLOCKED1"
UNKNOWN_TAG = "04DEADBEEF"
REGISTER = "Energy.Active.Import.Register"
# A Monday long past: station time, far older than the stale-session threshold (24 h).
T0 = datetime(2024, 3, 4, 8, 0, tzinfo=UTC)


async def bounded(awaitable: Awaitable[T], seconds: float = WAIT_S) -> T:
    """Every wait in these tests ends: a hung server fails the test instead of the run."""
    return await asyncio.wait_for(awaitable, seconds)


def handles(action: str) -> Callable[[Handler], Handler]:
    """The ``ocpp`` library's ``@on`` route decorator, typed so handlers keep their types."""
    return cast(Callable[[Handler], Handler], on(action))


def at(seconds: float = 0) -> datetime:
    return T0 + timedelta(seconds=seconds)


def wire(seconds: float = 0) -> str:
    """Station time ``T0 + seconds`` as OCPP writes it (RFC 3339, UTC, ``Z``)."""
    return at(seconds).isoformat(timespec="seconds").replace("+00:00", "Z")


def when(text: str) -> datetime:
    """A timestamp from the REST API as an aware datetime, to compare instants."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- a served network ----------------------------------------------------------------------


@dataclass
class World:
    """The seeded catalog, the real server on loopback, and an admin on the REST API."""

    runtime: Runtime
    network: Network
    url: str
    http: httpx.AsyncClient
    admin: Headers

    def station_id(self, charge_point_id: str) -> uuid.UUID:
        return self.network.stations[charge_point_id].id

    @property
    def account_id(self) -> uuid.UUID:
        assert self.network.account is not None
        return self.network.account.id

    async def get(self, path: str, headers: Headers | None = None, status: int = 200) -> Any:
        response = await bounded(self.http.get(API + path, headers=headers or self.admin))
        assert response.status_code == status, response.text
        return response.json()

    async def post(self, path: str, body: Json, headers: Headers, status: int = 200) -> Any:
        response = await bounded(self.http.post(API + path, json=body, headers=headers))
        assert response.status_code == status, response.text
        return response.json()

    async def sessions_of(self, charge_point_id: str, headers: Headers | None = None) -> list[Json]:
        page = await self.get(f"/sessions?station_id={self.station_id(charge_point_id)}", headers)
        items: list[Json] = page["items"]
        return items

    async def only_session(self, charge_point_id: str) -> Json:
        """The one session of a station, in full detail: exactly once means exactly one."""
        items = await self.sessions_of(charge_point_id)
        assert len(items) == 1, items
        detail: Json = await self.get(f"/sessions/{items[0]['id']}")
        return detail

    async def status(self, charge_point_id: str) -> Json:
        status: Json = await self.get(f"/stations/{self.station_id(charge_point_id)}/status")
        return status

    async def wait_closed_on_server(self, charge_point_id: str) -> None:
        """The server notices a closed socket asynchronously: wait (bounded) until it has
        recorded the disconnection in the station's link state."""
        await self.wait_link_state(charge_point_id, connected=False)

    async def wait_link_state(self, charge_point_id: str, *, connected: bool) -> None:
        """Wait (bounded) until the server has recorded the station as (dis)connected: the
        handshake completes before the server writes the connection down."""
        station_id = self.station_id(charge_point_id)

        async def recorded() -> None:
            while True:
                async with self.runtime.uow() as uow:
                    state = await uow.station_links.state(station_id)
                if state is not None and state.connected is connected:
                    return
                await asyncio.sleep(0.02)

        await bounded(recorded())


@contextlib.asynccontextmanager
async def open_world(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> AsyncIterator[World]:
    network = await seed_network(runtime)
    admin = await login_as(Role.ADMIN)
    async with running_server(runtime) as url:
        yield World(runtime, network, url, client, admin)


# --- charge points -------------------------------------------------------------------------


class Station16(ChargePoint16):  # type: ignore[misc]
    """A 1.6J charge point that records every operator CALL (OCPP 1.6 §5) and answers it with
    ``answers[action]`` (``Accepted`` unless told otherwise)."""

    def __init__(self, charge_point_id: str, connection: ClientConnection) -> None:
        super().__init__(charge_point_id, connection, response_timeout=WAIT_S)
        self.received: list[tuple[str, Json]] = []
        self.answers: dict[str, str] = {}

    def _answer(self, action: str, payload: Json) -> str:
        self.received.append((action, payload))
        return self.answers.get(action, "Accepted")

    @handles(Action16.remote_start_transaction)
    async def on_remote_start(self, **payload: Any) -> result16.RemoteStartTransaction:
        return result16.RemoteStartTransaction(self._answer("RemoteStartTransaction", payload))

    @handles(Action16.remote_stop_transaction)
    async def on_remote_stop(self, **payload: Any) -> result16.RemoteStopTransaction:
        return result16.RemoteStopTransaction(self._answer("RemoteStopTransaction", payload))

    @handles(Action16.reserve_now)
    async def on_reserve_now(self, **payload: Any) -> result16.ReserveNow:
        return result16.ReserveNow(self._answer("ReserveNow", payload))

    @handles(Action16.cancel_reservation)
    async def on_cancel_reservation(self, **payload: Any) -> result16.CancelReservation:
        return result16.CancelReservation(self._answer("CancelReservation", payload))

    @handles(Action16.change_availability)
    async def on_change_availability(self, **payload: Any) -> result16.ChangeAvailability:
        return result16.ChangeAvailability(self._answer("ChangeAvailability", payload))

    @handles(Action16.trigger_message)
    async def on_trigger_message(self, **payload: Any) -> result16.TriggerMessage:
        return result16.TriggerMessage(self._answer("TriggerMessage", payload))

    @handles(Action16.reset)
    async def on_reset(self, **payload: Any) -> result16.Reset:
        return result16.Reset(self._answer("Reset", payload))

    @handles(Action16.unlock_connector)
    async def on_unlock_connector(self, **payload: Any) -> result16.UnlockConnector:
        """§5.18: ``Unlocked`` unless told otherwise (its words are not Accepted/Rejected)."""
        answer = self._answer("UnlockConnector", payload)
        return result16.UnlockConnector("Unlocked" if answer == "Accepted" else answer)

    async def request(self, payload: Any) -> Any:
        """One CALL under a fresh message id; a CALLERROR raises instead of passing silently."""
        return await bounded(self.call(payload, suppress=False))

    async def start_tx(
        self, tag: str, meter_start: int, seconds: float = 0, connector: int = 1
    ) -> int:
        """StartTransaction (OCPP 1.6 §4.8); the transactionId the central system assigned."""
        answer = await self.request(
            call16.StartTransaction(
                connector_id=connector, id_tag=tag, meter_start=meter_start, timestamp=wire(seconds)
            )
        )
        assert answer.id_tag_info["status"] == "Accepted", answer
        return int(answer.transaction_id)

    async def registers(
        self, transaction_id: int, connector: int, *readings: tuple[int, int]
    ) -> None:
        """One MeterValues.req (OCPP 1.6 §4.7) per (seconds, Wh) energy register reading."""
        for seconds, wh in readings:
            await self.request(
                call16.MeterValues(
                    connector_id=connector,
                    transaction_id=transaction_id,
                    meter_value=[meter_value(wire(seconds), sampled(str(wh)))],
                )
            )

    async def stop_tx(
        self, transaction_id: int, meter_stop: int, seconds: float, **extra: Any
    ) -> Any:
        return await self.request(
            call16.StopTransaction(
                meter_stop=meter_stop,
                timestamp=wire(seconds),
                transaction_id=transaction_id,
                **extra,
            )
        )


class Station201(ChargePoint201):  # type: ignore[misc]
    """A 2.0.1 charging station that records CSMS requests (F01, F03, H01) and answers them."""

    def __init__(self, charge_point_id: str, connection: ClientConnection) -> None:
        super().__init__(charge_point_id, connection, response_timeout=WAIT_S)
        self.received: list[tuple[str, Json]] = []
        self.answers: dict[str, str] = {}

    def _answer(self, action: str, payload: Json) -> str:
        self.received.append((action, payload))
        return self.answers.get(action, "Accepted")

    @handles(Action201.request_start_transaction)
    async def on_request_start(self, **payload: Any) -> result201.RequestStartTransaction:
        return result201.RequestStartTransaction(self._answer("RequestStartTransaction", payload))

    @handles(Action201.request_stop_transaction)
    async def on_request_stop(self, **payload: Any) -> result201.RequestStopTransaction:
        return result201.RequestStopTransaction(self._answer("RequestStopTransaction", payload))

    @handles(Action201.reserve_now)
    async def on_reserve_now(self, **payload: Any) -> result201.ReserveNow:
        return result201.ReserveNow(self._answer("ReserveNow", payload))

    @handles(Action201.cancel_reservation)
    async def on_cancel_reservation(self, **payload: Any) -> result201.CancelReservation:
        return result201.CancelReservation(self._answer("CancelReservation", payload))

    @handles(Action201.reset)
    async def on_reset(self, **payload: Any) -> result201.Reset:
        return result201.Reset(self._answer("Reset", payload))

    @handles(Action201.unlock_connector)
    async def on_unlock_connector(self, **payload: Any) -> result201.UnlockConnector:
        """F05: ``Unlocked`` unless told otherwise."""
        answer = self._answer("UnlockConnector", payload)
        return result201.UnlockConnector("Unlocked" if answer == "Accepted" else answer)

    async def request(self, payload: Any) -> Any:
        return await bounded(self.call(payload, suppress=False))


StationT = TypeVar("StationT", Station16, Station201)


@contextlib.asynccontextmanager
async def connected(
    url: str, kind: type[StationT], charge_point_id: str | None = None
) -> AsyncIterator[StationT]:
    """A real ``ocpp`` charge point on a real websocket; ``start()`` runs until we leave."""
    cpid = charge_point_id or (CP16 if issubclass(kind, Station16) else CP201)
    protocol = "ocpp1.6" if issubclass(kind, Station16) else "ocpp2.0.1"
    ws = await bounded(
        websockets.connect(
            f"{url}/{cpid}",
            subprotocols=[Subprotocol(protocol)],
            additional_headers=basic_auth(cpid),
        )
    )
    station = kind(cpid, ws)
    runner = asyncio.create_task(station.start())
    try:
        yield station
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
            await runner
        await bounded(ws.close())


class RawLink:
    """A websocket with no ``ocpp`` library in between: we write the frames ourselves."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def send(self, frame: str | bytes | list[Any]) -> None:
        """A text frame (bytes: a binary frame, which OCPP-J never uses)."""
        await bounded(self.ws.send(frame if isinstance(frame, str | bytes) else json.dumps(frame)))

    async def receive(self) -> str:
        text = await bounded(self.ws.recv())
        assert isinstance(text, str)
        return text

    async def exchange(self, frame: str | bytes | list[Any]) -> str:
        """Send one frame and return the server's answer exactly as it came (text). A request
        of the server's own that comes first (it asks a booted station for its meter keys) is
        answered NotImplemented, as a station without that message would."""
        await self.send(frame)
        while True:
            text = await self.receive()
            if not is_call_frame(text):
                return text
            request = json.loads(text)
            await self.send([4, request[1], "NotImplemented", f"no {request[2]} here", {}])

    async def call(self, action: str, payload: Json, message_id: str | None = None) -> list[Any]:
        answer: list[Any] = json.loads(await self.exchange(call_frame(action, payload, message_id)))
        return answer


@contextlib.asynccontextmanager
async def raw_link(
    url: str, charge_point_id: str, protocol: str, *also_offered: str
) -> AsyncIterator[RawLink]:
    ws = await bounded(
        websockets.connect(
            f"{url}/{charge_point_id}",
            subprotocols=[Subprotocol(p) for p in (protocol, *also_offered)],
            additional_headers=basic_auth(charge_point_id),
        )
    )
    try:
        yield RawLink(ws)
    finally:
        await bounded(ws.close())


def call_frame(action: str, payload: Json, message_id: str | None = None) -> list[Any]:
    """An OCPP-J CALL ``[2, messageId, action, payload]`` (1.6J §4.2.1, 2.0.1 Part 4 §4.2.1)."""
    return [2, message_id or uuid.uuid4().hex[:20], action, payload]


# --- payload builders ----------------------------------------------------------------------


def sampled(
    value: str,
    measurand: str = REGISTER,
    *,
    unit: str | None = "Wh",
    context: str | None = None,
    phase: str | None = None,
) -> Json:
    """A 1.6 SampledValue (OCPP 1.6 §7.45): the value is a string."""
    body: Json = {"value": value, "measurand": measurand}
    if unit is not None:
        body["unit"] = unit
    if context is not None:
        body["context"] = context
    if phase is not None:
        body["phase"] = phase
    return body


def sampled201(
    value: float,
    measurand: str = REGISTER,
    *,
    unit: str = "Wh",
    multiplier: int | None = None,
    context: str | None = None,
    signed: Json | None = None,
) -> Json:
    """A 2.0.1 SampledValueType (Part 2 §2.50): a number, with unitOfMeasure (unit, power of
    ten multiplier) and an optional signedMeterValue."""
    uom: Json = {"unit": unit}
    if multiplier is not None:
        uom["multiplier"] = multiplier
    body: Json = {"value": value, "measurand": measurand, "unitOfMeasure": uom}
    if context is not None:
        body["context"] = context
    if signed is not None:
        body["signedMeterValue"] = signed
    return body


def meter_value(timestamp: str, *values: Json) -> Json:
    return {"timestamp": timestamp, "sampledValue": list(values)}


# --- what the server stored ----------------------------------------------------------------


async def stored_sessions(runtime: Runtime, station_id: uuid.UUID) -> list[Session]:
    async with runtime.uow() as uow:
        page = await uow.sessions.search(SessionFilter(station_id=station_id), limit=100, offset=0)
    return list(page.items)


async def stored_samples(runtime: Runtime, session_id: uuid.UUID) -> list[MeterSample]:
    async with runtime.uow() as uow:
        return await uow.sessions.samples(session_id)


async def rejected_frames(runtime: Runtime, charge_point_id: str) -> list[tuple[str, str]]:
    """(frame, error code) of every frame the edge refused, oldest first. No repository lists
    them yet, so the table is read directly on the runtime's own engine."""
    query = (
        select(ocpp_rejected_frames.c.frame, ocpp_rejected_frames.c.error_code)
        .where(ocpp_rejected_frames.c.charge_point_id == charge_point_id)
        .order_by(ocpp_rejected_frames.c.id)
    )
    async with runtime._factory.engine.connect() as connection:
        rows = (await connection.execute(query)).all()
    return [(str(frame), str(code)) for frame, code in rows]


async def price_station(runtime: Runtime, world: World, charge_point_id: str, tariff: Json) -> None:
    """Import ``tariff`` (OCPI JSON) and assign it to the station."""
    async with runtime.uow() as uow:
        stored = await tariffs.import_tariff(uow, runtime.clock, tariff)
        await tariffs.assign_tariff(
            uow,
            runtime.clock,
            stored.id,
            TariffScope.STATION,
            str(world.station_id(charge_point_id)),
            runtime.settings.vat_rates,
        )
        await uow.commit()


def token_id(world: World, uid: str = ACTIVE_TAG) -> str:
    """The REST id of one of the seeded network's tokens."""
    return str(world.network.tokens[uid].id)


async def error_code(response: httpx.Response, status: int) -> str:
    """The stable code of an error answer, once its status is the one expected."""
    assert response.status_code == status, response.text
    code: str = response.json()["error"]["code"]
    return code
