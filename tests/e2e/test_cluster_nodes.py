"""Three ``chargeledger serve`` processes on one PostgreSQL database, one of them killed with
SIGKILL in the middle of the day (issue 18; README "Running several nodes").

The nodes are real processes on ports of their own, sharing only the database and the
cluster's secrets. Sixty stations (real ``ocpp`` 1.6 and 2.0.1 clients on real websockets)
are spread over them, twenty each; postpaid RFID cards and prepaid wallets pay for their
sessions. The day:

1. node A's REST API starts sessions on the stations B and C hold (RemoteStartTransaction,
   RequestStartTransaction): each answer is the station's own (some refuse), and the
   stations that accepted start with the command's idTag;
2. every station charges a session (start, meter values, stop); the wallets pay at the stop;
3. every station starts a second session; B commits its stations' starts, but its answers
   no longer reach them (the balancer's relay in front of B drops them) and B is killed with
   SIGKILL. Its stations reconnect through the balancer to A or C (the next node that takes
   the websocket), send again the StartTransaction/TransactionEvent B never answered (same
   message id), get the session B started, not a second one, and go on charging;
4. node A's REST API stops the moved stations' sessions (RemoteStopTransaction,
   RequestStopTransaction): A runs the command for the stations it holds, C for the others;
5. the periodic jobs go on: the stale-session sweep closes sessions left open before and
   after the kill, the outbox sends the receipts' webhooks to a partner's endpoint, the
   audit chain seals what was written.

Then: each station has exactly its two sessions, completed, with the card and the energy
it sent, every reading once (no session lost or doubled), and both surviving nodes show
every station connected; every wallet session is charged once and its wallet debited once.
Every webhook was sent by the one node holding the outbox job's lease at that moment (the
advisory lock in ``pg_locks``, matched to the node by the sockets of its process), by A or
C after the kill, each delivery once; the sweep closed each stale session once, after the
kill on A or C; and the command line's ``invoice charge``, ``ledger check`` and ``audit
verify`` find the books whole and every record chained.

Every wait is on something observable (a station's answer, the presence table, a session's
status, the outbox, the nodes' logs) with a generous bound: a busy machine makes the test
slower, never red. PostgreSQL only: SQLite runs as one node; a database of its own per test.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action as Action16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from ocpp.v201.enums import Action as Action201
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import ClientConnection
from websockets.typing import Subprotocol

from chargeledger.adapters.db.engine import create_engine
from chargeledger.adapters.db.job_leases import lease_name
from chargeledger.adapters.db.locks import PostgresLocks
from chargeledger.bootstrap import Runtime, build_runtime
from chargeledger.config import Settings
from chargeledger.domain.accounts import Account, AccountKind, BillingMode, Token, TokenType
from chargeledger.domain.catalog import (
    Connector,
    ConnectorFormat,
    ConnectorStandard,
    Evse,
    OcppVersion,
    PowerType,
    Site,
)
from chargeledger.domain.geo import Address
from chargeledger.domain.identity import Role
from chargeledger.domain.tariffs.assignment import TariffScope
from chargeledger.money import Currency
from chargeledger.services import catalog, customers, identity, tariffs
from chargeledger.services.demo_tariffs import flat_with_session_fee
from chargeledger.services.payments.wallets import top_up, wallet_balance
from tests.conftest import fast_hasher, usable_backend
from tests.e2e.cli_runner import CHARGELEDGER, chargeledger_on
from tests.e2e.test_invoice_run_cli import database_url
from tests.integration.billing_api import OPERATOR
from tests.integration.ocpp_server import basic_auth
from tests.integration.ocpp_support import REGISTER, WAIT_S, bounded, handles
from tests.integration.payment_world import card_for

__all__ = ["database_url"]  # the fixture: a PostgreSQL database of its own

pytestmark = pytest.mark.postgres

NODES = ("A", "B", "C")
PER_NODE = 20  # stations held by each node
STALE = 4  # stations whose session never stops (two before the kill, two after)
WALLETS = 4  # prepaid accounts: half of the stations' drivers pay from one of them
TOP_UP = Decimal("500.00")  # each, more than its sessions cost
FIRST_METER_VALUES = 3  # of the first session
PACE_S = 1.0  # between a station's meter values: its meter interval, compressed (not a wait)
METER_CAP = 40  # meter values of one session at most (a slow machine charges no more)
STEP_S = 30  # station seconds between two of its messages
STEP_WH = 150  # Wh metered per step: 18 kW, under the EVSE's 22 kW
PASSWORD = "cluster-station-password-1"
ADMIN_EMAIL, ADMIN_PASSWORD = "ops@cluster.example.org", "cluster admin password"
SWEPT = "closed stale sessions"  # what a node logs when its sweep closed sessions


@pytest.fixture
def backend() -> str:
    """PostgreSQL only: SQLite runs as one node (``one_node_database``)."""
    return usable_backend("postgresql")


# --- the nodes -----------------------------------------------------------------------------


@dataclass
class Node:
    """One ``chargeledger serve`` process."""

    name: str
    port: int
    process: asyncio.subprocess.Process
    log: Path
    front: Relay | None = None  # where the balancer takes the node's stations in, if not direct

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ocpp(self) -> str:
        port = self.port if self.front is None else self.front.port
        return f"ws://127.0.0.1:{port}/ocpp"

    def holds(self, presence_node: str) -> bool:
        """Whether a ``station_presence`` node name is this process's (host-pid-random)."""
        return f"-{self.process.pid}-" in presence_node

    def ports(self) -> set[int]:
        """The local ports of the process's TCP sockets (Linux /proc): which node a
        connection to the database or to a webhook receiver comes from."""
        inodes = set()
        with contextlib.suppress(OSError):  # a process that is gone has none
            for descriptor in Path(f"/proc/{self.process.pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(descriptor)
                    if target.startswith("socket:["):
                        inodes.add(target[len("socket:[") : -1])
        ports = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[9] in inodes:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
        return ports

    def records(self) -> list[dict[str, Any]]:
        """The JSON log lines the node wrote so far."""
        found = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                with contextlib.suppress(json.JSONDecodeError):
                    found.append(json.loads(line))
        return found

    def swept(self) -> int:
        """Sessions this node's stale-session sweep closed, as it logged them."""
        return sum(int(r.get("count", 0)) for r in self.records() if r.get("message") == SWEPT)


class Relay:
    """The balancer's way in to one node: a TCP relay to its port. Muted, it still passes the
    stations' frames to the node but drops the node's answers, so the node applies and
    commits a CALL whose answer never reaches the station, as when a node dies between its
    commit and its answer. A connection the node ends (it died) is ended towards the
    station too."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.port = 0
        self.muted = False
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.close()
            return
        await asyncio.gather(
            self._pipe(reader, upstream, answers=False),
            self._pipe(upstream_reader, writer, answers=True),
        )

    async def _pipe(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, *, answers: bool
    ) -> None:
        try:
            while data := await source.read(65536):
                if not (answers and self.muted):
                    sink.write(data)
                    await sink.drain()
        except OSError:
            pass  # reset by the node killed, or by the station gone
        finally:
            sink.close()


@dataclass(frozen=True)
class Witnessed:
    """A webhook delivery as it arrived: the node sending it, and the nodes holding the
    outbox job's lease at that moment (the sender is inside its outbox round)."""

    delivery: str
    arrived: float  # the event loop's time when the receiver took the connection
    sender: str | None  # None: no live node has that connection (B, as it died)
    holders: tuple[str | None, ...]


class Receiver:
    """A partner's webhook endpoint (``CHARGELEDGER_WEBHOOKS_FILE``). Before it answers a
    delivery, ``witness`` looks at who sent it and who holds the outbox job's lease."""

    def __init__(self) -> None:
        self.port = 0
        self.witnessed: list[Witnessed] = []
        self.failures: list[str] = []  # of the witness: the test reports them
        self.witness: Callable[[str, float, int], Awaitable[Witnessed]] | None = None
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._answer, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        arrived = asyncio.get_running_loop().time()
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
            headers = dict(line.split(":", 1) for line in head.split("\r\n")[1:] if ":" in line)
            await reader.readexactly(int(headers.get("content-length", "0")))
            delivery = headers.get("chargeledger-delivery-id", "").strip()
            if self.witness is not None:
                port = int(writer.get_extra_info("peername")[1])
                try:
                    self.witnessed.append(await self.witness(delivery, arrived, port))
                except Exception as exc:
                    self.failures.append(repr(exc))
            writer.write(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
            await writer.drain()
        except (asyncio.IncompleteReadError, OSError):
            pass  # the sender died (node B)
        finally:
            writer.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cluster_settings(url: str, shared: Path, receiver: Receiver) -> dict[str, str]:
    """What every node of the cluster shares (deploy/cluster.env.example), the partner's
    webhook endpoint, and short intervals for the jobs this test watches."""
    shared.mkdir(parents=True)
    hooks = shared / "webhooks.json"
    endpoint = {
        "name": "partner",
        "url": f"http://127.0.0.1:{receiver.port}/hooks",
        "secret": secrets.token_urlsafe(24),
    }
    hooks.write_text(json.dumps([endpoint]))
    return {
        "CHARGELEDGER_DATABASE_URL": url,
        "CHARGELEDGER_JWT_SECRET": secrets.token_urlsafe(32),
        "CHARGELEDGER_STATION_SECRET_KEY": secrets.token_urlsafe(32),
        "CHARGELEDGER_SANDBOX_WEBHOOK_SECRET": secrets.token_urlsafe(32),
        "CHARGELEDGER_AUDIT_KEY_FILE": str(shared / "checkpoint-key.pem"),
        "CHARGELEDGER_AUDIT_CHECKPOINT_DIR": str(shared / "checkpoints"),
        "CHARGELEDGER_AUDIT_SEAL_INTERVAL_SECONDS": "1",
        "CHARGELEDGER_SWEEP_INTERVAL_SECONDS": "1",
        "CHARGELEDGER_WEBHOOKS_FILE": str(hooks),
        "CHARGELEDGER_OUTBOX_INTERVAL_SECONDS": "1",
        "CHARGELEDGER_OPERATOR_TIME_ZONE": "Europe/Berlin",
        # All stations connect from 127.0.0.1: the per-address cap of handshakes is lifted.
        "CHARGELEDGER_STATION_CONCURRENCY_PER_ADDRESS": "128",
        **{f"CHARGELEDGER_OPERATOR_{k.upper()}": v for k, v in OPERATOR.items()},
    }


async def start_node(
    name: str, shared: dict[str, str], folder: Path, nodes: dict[str, Node]
) -> Node:
    """A node on a free port (in ``nodes`` from its start), answering ``/healthz`` (it
    migrates first). A port taken between our probe and its bind (exit 69) is tried again
    on another."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CHARGELEDGER_")}
    environment |= shared | {
        "CHARGELEDGER_DATA_DIR": str(folder / f"node-{name}"),
        "CHARGELEDGER_LOG_LEVEL": "INFO",
        "CHARGELEDGER_LOG_FORMAT": "json",
    }
    for attempt in range(3):
        port = free_port()
        log = folder / f"node-{name}-{attempt}.log"
        with log.open("wb") as sink:
            process = await asyncio.create_subprocess_exec(
                CHARGELEDGER,
                "serve",
                "--port",
                str(port),
                env=environment,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=sink,
            )
        node = nodes[name] = Node(name, port, process, log)
        if await node_ready(node):
            return node
    pytest.fail(f"node {name} did not start: {log.read_text()[-2000:]}")


async def node_ready(node: Node) -> bool:
    """True once the node answers /healthz; False when its port was taken (exit 69)."""

    async def answers() -> bool:
        async with httpx.AsyncClient() as http:
            while True:
                code = node.process.returncode
                if code == 69:
                    return False
                if code is not None:
                    pytest.fail(f"node {node.name} exited {code}: {node.log.read_text()[-3000:]}")
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get(f"{node.base}/healthz", timeout=5)).status_code == 200:
                        return True
                await asyncio.sleep(0.1)

    return await bounded(answers(), 3 * WAIT_S)


async def stop_node(node: Node) -> None:
    if node.process.returncode is None:
        node.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(node.process.wait(), 60)
        except TimeoutError:
            node.process.kill()
            await node.process.wait()


# --- the stations --------------------------------------------------------------------------


def wire(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


class Point16(ChargePoint16):  # type: ignore[misc]
    """The 1.6J side of a :class:`Charger`: the operator's CALLs go to the charger."""

    def __init__(self, charger: Charger, connection: ClientConnection) -> None:
        super().__init__(charger.cpid, connection, response_timeout=WAIT_S)
        self.charger = charger

    @handles(Action16.get_configuration)
    async def on_get_configuration(self, key: list[str]) -> result16.GetConfiguration:
        """The meter keys asked for after the boot: this station has no signing meter."""
        return result16.GetConfiguration(unknown_key=key)

    @handles(Action16.remote_start_transaction)
    async def on_remote_start(self, id_tag: str, **_: Any) -> result16.RemoteStartTransaction:
        return result16.RemoteStartTransaction(self.charger.asked_to_start(id_tag, None))

    @handles(Action16.remote_stop_transaction)
    async def on_remote_stop(self, transaction_id: int) -> result16.RemoteStopTransaction:
        return result16.RemoteStopTransaction(self.charger.asked_to_stop(str(transaction_id)))


class Point201(ChargePoint201):  # type: ignore[misc]
    """The 2.0.1 side of a :class:`Charger`."""

    def __init__(self, charger: Charger, connection: ClientConnection) -> None:
        super().__init__(charger.cpid, connection, response_timeout=WAIT_S)
        self.charger = charger

    @handles(Action201.get_variables)
    async def on_get_variables(
        self, get_variable_data: list[dict[str, Any]]
    ) -> result201.GetVariables:
        """The meter keys asked for after the boot: this station has no signing meter."""
        unknown = [
            {
                "attribute_status": "UnknownVariable",
                "component": item["component"],
                "variable": item["variable"],
            }
            for item in get_variable_data
        ]
        return result201.GetVariables(get_variable_result=unknown)

    @handles(Action201.request_start_transaction)
    async def on_request_start(
        self, id_token: dict[str, Any], remote_start_id: int, **_: Any
    ) -> result201.RequestStartTransaction:
        tag = str(id_token.get("id_token", id_token.get("idToken")))
        return result201.RequestStartTransaction(
            status=self.charger.asked_to_start(tag, remote_start_id)
        )

    @handles(Action201.request_stop_transaction)
    async def on_request_stop(self, transaction_id: str) -> result201.RequestStopTransaction:
        return result201.RequestStopTransaction(status=self.charger.asked_to_stop(transaction_id))


@dataclass
class Charger:
    """A station behind a load balancer: it holds one websocket to one node; when that
    connection is lost it opens one to the next node of ``routes`` that takes it, and sends
    again, under the same message id, the CALL that was not answered (OCPP-J: a CALL is
    answered once; the server replays its stored answer to a repeat)."""

    number: int
    version: str
    tag: str  # the driver's card at this station
    wallet: int | None  # which prepaid account pays, None: the postpaid fleet account
    refuses_start: bool  # what this station answers a remote start (its own word)
    home: str  # the node it connects to first
    cpid: str = ""
    routes: list[Node] = field(default_factory=list)  # the balancer's choices, home first
    node: Node | None = None
    received: list[tuple[str, str]] = field(default_factory=list)
    remote_start: tuple[str, int | None] | None = None
    transaction: str | None = None
    seq_no: int = 0
    register: int = 0
    clock: datetime = field(default_factory=lambda: datetime.now(UTC) - timedelta(hours=12))
    readings: dict[str, list[int]] = field(default_factory=dict)  # transaction -> Wh sent
    tags: dict[str, str] = field(default_factory=dict)  # transaction -> the card it started
    moves: int = 0  # connections renewed through the balancer
    stop_asked: asyncio.Event = field(default_factory=asyncio.Event)
    _point: Point16 | Point201 | None = None
    _link: asyncio.Task[None] | None = None
    _socket: ClientConnection | None = None

    def __post_init__(self) -> None:
        self.cpid = self.cpid or f"CL-{self.number:02d}"
        self.register = 1_000_000 + 10_000 * self.number

    @property
    def remote_tag(self) -> str:
        """The card an operator's remote start names: the same account's second card."""
        return "R" + self.tag[1:]

    # the operator's CALLs ----------------------------------------------------------------

    def asked_to_start(self, tag: str, remote_start_id: int | None) -> str:
        self.received.append(("start", tag))
        if self.refuses_start or self.transaction is not None or self.remote_start is not None:
            return "Rejected"
        self.remote_start = (tag, remote_start_id)
        return "Accepted"

    def asked_to_stop(self, transaction: str) -> str:
        self.received.append(("stop", transaction))
        if transaction != self.transaction:
            return "Rejected"
        self.stop_asked.set()
        return "Accepted"

    # the websocket -----------------------------------------------------------------------

    async def connect(self, node: Node) -> None:
        protocol = Subprotocol(f"ocpp{self.version}")
        connection = await websockets.connect(
            f"{node.ocpp}/{self.cpid}",
            subprotocols=[protocol],
            additional_headers=basic_auth(self.cpid, PASSWORD),
            open_timeout=WAIT_S,
            ping_interval=None,
        )
        point = (Point16 if self.version == "1.6" else Point201)(self, connection)
        self._socket, self._point, self.node = connection, point, node
        self._link = asyncio.create_task(point.start())

    async def close(self) -> None:
        if self._link is not None:
            self._link.cancel()
            with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
                await self._link
        if self._socket is not None:
            with contextlib.suppress(Exception):
                await bounded(self._socket.close())
        self._link = self._socket = self._point = None

    async def reconnect(self) -> None:
        """The next node of ``routes`` after the one lost that takes the connection (the one
        lost last): what a balancer does once its health check has seen the node go."""
        lost = self.node
        await self.close()
        assert lost is not None
        at = self.routes.index(lost)
        order = self.routes[at + 1 :] + self.routes[: at + 1]

        async def connected() -> None:
            while True:
                for node in order:
                    with contextlib.suppress(OSError, websockets.WebSocketException):
                        await self.connect(node)
                        return
                await asyncio.sleep(0.1)  # no node took it: the balancer's retry interval

        await bounded(connected())
        self.moves += 1

    async def call(self, payload: Any) -> Any:
        """One CALL, answered; a connection lost on the way is renewed through the balancer
        and the CALL sent again under its message id."""
        unique_id = uuid.uuid4().hex

        async def answered() -> Any:
            while True:
                assert self._point is not None
                assert self._link is not None
                sending = asyncio.ensure_future(
                    self._point.call(payload, suppress=False, unique_id=unique_id)
                )
                await asyncio.wait({sending, self._link}, return_when=asyncio.FIRST_COMPLETED)
                if sending.done() and not isinstance(
                    sending.exception(), websockets.ConnectionClosed
                ):
                    return sending.result()
                sending.cancel()
                with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
                    await sending
                if self._link.done() and not isinstance(
                    self._link.exception(), websockets.ConnectionClosed
                ):
                    self._link.result()  # the station itself failed: its error, not a move
                await self.reconnect()

        return await bounded(answered())

    # what the station reports ------------------------------------------------------------

    def tick(self) -> str:
        self.clock += timedelta(seconds=STEP_S)
        return wire(self.clock)

    async def boot(self) -> None:
        if self.version == "1.6":
            payload: Any = call16.BootNotification(
                charge_point_vendor="Cluster", charge_point_model="C1"
            )
        else:
            payload = call201.BootNotification(
                charging_station={"model": "C1", "vendor_name": "Cluster"}, reason="PowerUp"
            )
        answer = await self.call(payload)
        assert answer.status == "Accepted", answer

    async def start(self) -> None:
        """A session with the remote start's idTag when one was accepted, else its own."""
        tag, remote_id = self.remote_start or (self.tag, None)
        self.remote_start = None
        self.stop_asked.clear()
        if self.version == "1.6":
            answer = await self.call(
                call16.StartTransaction(
                    connector_id=1, id_tag=tag, meter_start=self.register, timestamp=self.tick()
                )
            )
            assert answer.id_tag_info["status"] == "Accepted", (self.cpid, answer)
            self.transaction = str(answer.transaction_id)
        else:
            self.transaction, self.seq_no = uuid.uuid4().hex, 0
            info: dict[str, Any] = {"transactionId": self.transaction, "chargingState": "Charging"}
            if remote_id is not None:
                info["remoteStartId"] = remote_id
            answer = await self.event(
                "Started",
                "RemoteStart" if remote_id is not None else "Authorized",
                info,
                id_token={"idToken": tag, "type": "ISO14443"},
            )
            assert answer.id_token_info["status"] == "Accepted", (self.cpid, answer)
        self.readings[self.transaction] = [self.register]  # its meter start
        self.tags[self.transaction] = tag

    async def heartbeat(self) -> None:
        await self.call(call16.Heartbeat() if self.version == "1.6" else call201.Heartbeat())

    async def meter(self) -> None:
        assert self.transaction is not None
        self.register += STEP_WH
        at = self.tick()
        if self.version == "1.6":
            value = {"value": str(self.register), "measurand": REGISTER, "unit": "Wh"}
            await self.call(
                call16.MeterValues(
                    connector_id=1,
                    transaction_id=int(self.transaction),
                    meter_value=[{"timestamp": at, "sampledValue": [value]}],
                )
            )
        else:
            info = {"transactionId": self.transaction, "chargingState": "Charging"}
            await self.event("Updated", "MeterValuePeriodic", info, at=at)
        self.readings[self.transaction].append(self.register)

    async def stop(self, remote: bool) -> None:
        assert self.transaction is not None
        self.register += STEP_WH
        at = self.tick()
        if self.version == "1.6":
            await self.call(
                call16.StopTransaction(
                    meter_stop=self.register,
                    timestamp=at,
                    transaction_id=int(self.transaction),
                    reason="Remote" if remote else "Local",
                )
            )
        else:
            info = {
                "transactionId": self.transaction,
                "chargingState": "EVConnected",
                "stoppedReason": "Remote" if remote else "Local",
            }
            await self.event("Ended", "RemoteStop" if remote else "StopAuthorized", info, at=at)
        self.readings[self.transaction].append(self.register)
        self.transaction = None

    async def event(
        self,
        kind: str,
        trigger: str,
        info: dict[str, Any],
        *,
        at: str | None = None,
        id_token: dict[str, str] | None = None,
    ) -> Any:
        """A TransactionEvent (2.0.1 Part 2 §E) on EVSE 1 with the register's reading."""
        at = at or self.tick()
        self.seq_no += 1
        reading = {
            "value": self.register,
            "measurand": REGISTER,
            "unitOfMeasure": {"unit": "Wh"},
        }
        return await self.call(
            call201.TransactionEvent(
                event_type=kind,
                timestamp=at,
                trigger_reason=trigger,
                seq_no=self.seq_no,
                transaction_info=info,
                evse={"id": 1, "connectorId": 1},
                id_token=id_token,
                meter_value=[{"timestamp": at, "sampledValue": [reading]}],
            )
        )


def fleet() -> list[Charger]:
    """``PER_NODE`` stations for each node, both protocol versions and both ways of paying
    on every node, and a few stations that refuse a remote start."""
    chargers = []
    for number in range(PER_NODE * len(NODES)):
        k = number // len(NODES)  # the station's place among its node's
        pays_by_wallet = (k // 2) % 2 == 1
        chargers.append(
            Charger(
                number=number,
                version="1.6" if k % 2 == 0 else "2.0.1",
                tag=f"CLW{number:04d}" if pays_by_wallet else f"CLF{number:04d}",
                wallet=number % WALLETS if pays_by_wallet else None,
                refuses_start=k % 5 == 4,
                home=NODES[number % len(NODES)],
            )
        )
    return chargers


def balance(chargers: list[Charger], nodes: dict[str, Node]) -> None:
    """Each station's routes through the balancer: its home node, then the other two (B's
    stations of either version and way of paying go to A first or to C first)."""
    for charger in chargers:
        others = [name for name in NODES if name != charger.home]
        if (charger.number // len(NODES) + 1) // 2 % 2:
            others.reverse()
        charger.routes = [nodes[charger.home], *(nodes[name] for name in others)]


def stale(index: int) -> str:
    return f"CL-STALE-{index}"


async def leave_stale_session(node: Node, index: int) -> None:
    """A 1.6 station that started a session three days ago and was not heard of since: the
    stale-session sweep closes it."""
    charger = Charger(
        number=90 + index,
        version="1.6",
        tag=f"CLS{index:04d}",
        wallet=None,
        refuses_start=True,
        home=node.name,
        cpid=stale(index),
        clock=datetime.now(UTC) - timedelta(days=3),
    )
    await charger.connect(node)
    try:
        await charger.boot()
        await charger.start()
        await charger.meter()
    finally:
        await charger.close()


# --- the operator's side -------------------------------------------------------------------


@dataclass
class Seeded:
    station_ids: dict[str, uuid.UUID]
    wallets: list[Account]


def customer(name: str, mode: BillingMode) -> Account:
    return Account(
        kind=AccountKind.INDIVIDUAL,
        name=name,
        email=f"{name.lower().replace(' ', '.')}@example.org",
        billing_address=Address("Ring 3", "10115", "Berlin", "DE"),
        currency=Currency.of("EUR"),
        billing_mode=mode,
    )


async def seed(runtime: Runtime, chargers: list[Charger]) -> Seeded:
    """The catalog (one site, the stations with one EVSE each, one tariff for all), the
    drivers (a postpaid fleet account; prepaid accounts with topped-up wallets; two cards
    per station's driver), and an admin."""
    clock = runtime.clock
    cpids = [(c.cpid, c.version) for c in chargers] + [(stale(i), "1.6") for i in range(STALE)]
    station_ids: dict[str, uuid.UUID] = {}
    async with runtime.uow() as uow:
        site = await catalog.create_site(
            uow,
            clock,
            Site(
                name="Cluster depot",
                address=Address("Ring 1", "10115", "Berlin", "DE"),
                latitude=Decimal("52.5"),
                longitude=Decimal("13.4"),
                time_zone="Europe/Berlin",
            ),
        )
        connector = Connector(
            1,
            ConnectorStandard.IEC_62196_T2,
            ConnectorFormat.SOCKET,
            PowerType.AC_3_PHASE,
            Decimal(22),
        )
        for cpid, version in cpids:
            station = await catalog.create_station(
                uow,
                clock,
                runtime.station_secrets,
                {
                    "site_id": site.id,
                    "charge_point_id": cpid,
                    "vendor": "Cluster",
                    "model": "C1",
                    "ocpp_version": OcppVersion.V16 if version == "1.6" else OcppVersion.V201,
                    "security_profile": 1,
                },
                PASSWORD,
            )
            station_ids[cpid] = station.id
            await catalog.create_evse(
                uow, clock, Evse(station_id=station.id, evse_id=1, connectors=(connector,))
            )
        tariff = await tariffs.import_tariff(uow, clock, flat_with_session_fee(Decimal(19)))
        await tariffs.assign_tariff(
            uow, clock, tariff.id, TariffScope.OPERATOR, None, runtime.settings.vat_rates
        )
        fleet_account = await customers.create_account(
            uow, clock, runtime.vat_ids, customer("Cluster Fleet", BillingMode.POSTPAID)
        )
        wallets = [
            await customers.create_account(
                uow, clock, runtime.vat_ids, customer(f"Wallet {i}", BillingMode.PREPAID)
            )
            for i in range(WALLETS)
        ]
        cards = [(c.tag, c.wallet) for c in chargers] + [(c.remote_tag, c.wallet) for c in chargers]
        cards += [(f"CLS{i:04d}", None) for i in range(STALE)]
        for uid, wallet in cards:
            owner = fleet_account if wallet is None else wallets[wallet]
            await customers.create_token(
                uow, clock, Token(uid=uid, type=TokenType.RFID, account_id=owner.id)
            )
        await identity.create_user(
            uow, clock, runtime.hasher, email=ADMIN_EMAIL, password=ADMIN_PASSWORD, role=Role.ADMIN
        )
        await uow.commit()
    for account in wallets:
        card = await card_for(runtime, account)
        await top_up(runtime.payments, account, TOP_UP, card, uuid.uuid4())
    await runtime.quiesce()
    return Seeded(station_ids, wallets)


@dataclass
class Operator:
    """The REST API of one node with an admin's token (valid on every node: the JWT key is
    the cluster's)."""

    http: httpx.AsyncClient
    station_ids: dict[str, uuid.UUID]

    async def command(self, cpid: str, body: dict[str, Any]) -> str:
        """The station's answer to an operator's command."""
        path = f"/api/v1/stations/{self.station_ids[cpid]}/commands"
        sent = await bounded(self.http.post(path, json=body))
        assert sent.status_code == 200, (cpid, sent.text)
        return str(sent.json()["status"])

    async def sessions(self, cpid: str, status: str | None = None) -> list[dict[str, Any]]:
        query = f"station_id={self.station_ids[cpid]}&limit=100"
        if status is not None:
            query += f"&status={status}"
        page = await bounded(self.http.get(f"/api/v1/sessions?{query}"))
        assert page.status_code == 200, page.text
        items: list[dict[str, Any]] = page.json()["items"]
        return items

    async def connected(self, cpid: str) -> bool:
        """Whether this node shows the station connected (to itself or to another node)."""
        found = await bounded(self.http.get(f"/api/v1/stations/{self.station_ids[cpid]}/status"))
        assert found.status_code == 200, found.text
        return bool(found.json()["connected"])

    async def session(self, session_id: str) -> dict[str, Any]:
        found = await bounded(self.http.get(f"/api/v1/sessions/{session_id}"))
        assert found.status_code == 200, found.text
        detail: dict[str, Any] = found.json()
        return detail


@contextlib.asynccontextmanager
async def operator_on(node: Node, station_ids: dict[str, uuid.UUID]) -> AsyncIterator[Operator]:
    async with httpx.AsyncClient(base_url=node.base, timeout=WAIT_S) as http:
        login = await bounded(
            http.post(
                "/api/v1/auth/token", data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
            )
        )
        assert login.status_code == 200, login.text
        http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        yield Operator(http, station_ids)


async def cli(url: str, tmp_path: Path, shared: dict[str, str], *arguments: str) -> str:
    """The installed command line on the cluster's database and settings: its output, once
    it exited 0."""
    settings = {k: v for k, v in shared.items() if k != "CHARGELEDGER_DATABASE_URL"}
    done = await asyncio.to_thread(chargeledger_on, url, tmp_path / "cli", *arguments, **settings)
    assert done.returncode == 0, (arguments, done.stdout, done.stderr)
    return " ".join(done.stdout.split())


# --- what the database says ----------------------------------------------------------------


async def rows(engine: AsyncEngine, sql: str) -> list[Any]:
    async with engine.connect() as connection:
        return list(await connection.execute(text(sql)))


async def until(condition: Callable[[], Awaitable[bool]], seconds: float = WAIT_S) -> None:
    """Poll ``condition`` until it holds; the bound only ends a hang."""

    async def holds() -> None:
        while not await condition():  # noqa: ASYNC110 - a state elsewhere: nothing to await
            await asyncio.sleep(0.1)

    await bounded(holds(), seconds)


async def watching(running: list[asyncio.Future[None]], awaitable: Awaitable[Any]) -> Any:
    """``awaitable`` (bounded), unless a station's task fails first: then its error."""
    waiter = asyncio.ensure_future(bounded(awaitable))
    pending: set[asyncio.Future[Any]] = {waiter, *running}
    while not waiter.done():
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not waiter and task.exception() is not None:
                waiter.cancel()
                raise task.exception()  # type: ignore[misc]
    return waiter.result()


async def held_where_connected(engine: AsyncEngine, chargers: list[Charger]) -> bool:
    """The presence table names, for every station, the process its websocket is open to."""
    held = dict(await rows(engine, "SELECT charge_point_id, node FROM station_presence"))
    return all(
        c.node is not None and c.cpid in held and c.node.holds(held[c.cpid]) for c in chargers
    )


async def active_on(engine: AsyncEngine, chargers: list[Charger]) -> bool:
    """Every one of these stations has a session running (its start committed)."""
    listed = ", ".join(f"'{charger.cpid}'" for charger in chargers)
    found = await rows(
        engine,
        "SELECT count(*) FROM sessions s JOIN stations t ON t.id = s.station_id "
        f"WHERE s.status = 'active' AND t.charge_point_id IN ({listed})",
    )
    return bool(found == [(len(chargers),)])


async def unsettled_wallet_sessions(engine: AsyncEngine) -> int:
    """Completed sessions of prepaid wallets not yet charged or not yet debited."""
    found = await rows(
        engine,
        "SELECT count(*) FROM sessions s JOIN accounts a ON a.id = s.account_id "
        "WHERE a.billing_mode = 'prepaid' AND s.status = 'completed' AND ("
        "NOT EXISTS (SELECT 1 FROM charges c WHERE c.session_id = s.id) OR "
        "NOT EXISTS (SELECT 1 FROM payments p WHERE p.session_id = s.id))",
    )
    return int(found[0][0])


async def no_unsettled(engine: AsyncEngine) -> bool:
    return await unsettled_wallet_sessions(engine) == 0


async def wallet_balances(runtime: Runtime, wallets: list[Account]) -> list[Decimal]:
    async with runtime.uow() as uow:
        return [await wallet_balance(uow, account.id) for account in wallets]


async def wallets_add_up(
    engine: AsyncEngine, runtime: Runtime, wallets: list[Account], opening: list[Decimal]
) -> list[tuple[Decimal, Decimal]]:
    """(balance, opening balance less every charge of the wallet's sessions) of each wallet:
    equal when each session was debited once."""
    found = []
    for account, before in zip(wallets, opening, strict=True):
        sessions = await rows(
            engine, f"SELECT session_id FROM charges WHERE account_id = '{account.id}'"
        )
        async with runtime.uow() as uow:
            charged = Decimal(0)
            for (session_id,) in sessions:
                charge = await uow.billing.charge_for_session(session_id)
                assert charge is not None
                charged += charge.gross
            found.append((await wallet_balance(uow, account.id), before - charged))
    return found


def outbox_witness(
    engine: AsyncEngine, nodes: dict[str, Node], runtime: Runtime
) -> Callable[[str, float, int], Awaitable[Witnessed]]:
    """Who sends a webhook (the node one of whose sockets is the request's source port) and
    who holds the lease of the outbox's job at that moment (the node owning the connection
    the advisory lock is held on: ``job_leases.py``)."""
    locks = runtime.locks
    assert isinstance(locks, PostgresLocks)
    key = locks.key(lease_name("deliver_outbox")) & 0xFFFF_FFFF_FFFF_FFFF
    held_on = (
        "SELECT a.client_port FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
        f"AND l.classid = {key >> 32} AND l.objid = {key & 0xFFFF_FFFF} "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )

    async def witness(delivery: str, arrived: float, port: int) -> Witnessed:
        holders = [int(client_port) for (client_port,) in await rows(engine, held_on)]
        owned = {name: node.ports() for name, node in nodes.items()}

        def owner(of: int) -> str | None:
            return next((name for name, ports in owned.items() if of in ports), None)

        return Witnessed(delivery, arrived, owner(port), tuple(owner(p) for p in holders))

    return witness


async def webhooks_settled(engine: AsyncEngine) -> bool:
    """Every announcement fanned out and every webhook delivery made, but for at most one
    in the hands of a node (``sending``: one that B was making when it died)."""
    states = dict(await rows(engine, "SELECT state, count(*) FROM outbox_messages GROUP BY state"))
    return not states.get("pending") and states.get("sending", 0) <= 1


async def audit_queue_empty(engine: AsyncEngine) -> bool:
    return await rows(engine, "SELECT count(*) FROM audit_pending") == [(0,)]


# --- the day -------------------------------------------------------------------------------


async def test_three_nodes_one_killed_mid_day(database_url: str, tmp_path: Path) -> None:
    receiver = Receiver()
    await receiver.start()
    shared = cluster_settings(database_url, tmp_path / "shared", receiver)
    observer = build_runtime(
        Settings.from_env(shared | {"CHARGELEDGER_DATA_DIR": str(tmp_path / "observer")}),
        hasher=fast_hasher(),
    )
    engine = create_engine(database_url)
    chargers = fleet()
    nodes: dict[str, Node] = {}
    receiver.witness = outbox_witness(engine, nodes, observer)
    try:
        await observer.migrate()  # the nodes find the schema at head
        seeding = asyncio.ensure_future(seed(observer, chargers))
        await asyncio.gather(*(start_node(name, shared, tmp_path, nodes) for name in NODES))
        nodes["B"].front = relay = Relay(nodes["B"].port)  # B's stations come in through it
        await relay.start()
        seeded = await seeding
        balance(chargers, nodes)
        async with operator_on(nodes["A"], seeded.station_ids) as api:
            await the_day(api, nodes, chargers, seeded, engine, observer, receiver)

        # The end of the day, while A and C run: the postpaid sessions are charged; the
        # audit chain (a periodic job on A or C) takes every record written.
        charged = await cli(database_url, tmp_path, shared, "invoice", "charge")
        assert "charged" in charged, charged
        await until(lambda: audit_queue_empty(engine))
        uncharged = await rows(
            engine,
            "SELECT count(*) FROM sessions s WHERE s.status = 'completed' "
            "AND NOT EXISTS (SELECT 1 FROM charges c WHERE c.session_id = s.id)",
        )
        assert uncharged == [(0,)]
        completed = await rows(engine, "SELECT count(*) FROM sessions WHERE status = 'completed'")
        assert completed == [(2 * len(chargers),)]
    finally:
        for charger in chargers:
            await charger.close()
        for node in nodes.values():
            await stop_node(node)
            if node.front is not None:
                await node.front.aclose()
        await receiver.aclose()
        await engine.dispose()
        await observer.aclose()
    assert sum(node.swept() for node in nodes.values()) == STALE  # nothing swept twice later
    checked = await cli(database_url, tmp_path, shared, "ledger", "check")
    assert "ledger consistent" in checked, checked
    verified = await cli(database_url, tmp_path, shared, "audit", "verify")
    assert "every record, link and checkpoint holds" in verified, verified


async def the_day(
    api: Operator,
    nodes: dict[str, Node],
    chargers: list[Charger],
    seeded: Seeded,
    engine: AsyncEngine,
    observer: Runtime,
    receiver: Receiver,
) -> None:
    a, b, c = (nodes[name] for name in NODES)
    opening = await wallet_balances(observer, seeded.wallets)

    async def swept(total: int) -> bool:
        return sum(node.swept() for node in nodes.values()) >= total

    async def closed(*cpids: str) -> bool:
        for cpid in cpids:
            listed = await api.sessions(cpid)
            if len(listed) != 1 or listed[0]["status"] == "active":
                return False
        return True

    # 1. Every station on its home node; the cluster records which process holds it.
    gate = asyncio.Semaphore(8)

    async def come_up(charger: Charger) -> None:
        async with gate:
            await charger.connect(charger.routes[0])
        await charger.boot()

    await bounded(asyncio.gather(*(come_up(charger) for charger in chargers)))
    await until(lambda: held_where_connected(engine, chargers))

    # 2. Node A starts sessions on the stations B and C hold; each answers for itself.
    await bounded(asyncio.gather(*(start_remotely(api, ch) for ch in chargers if ch.home != "A")))

    # 3. Every station's first session (with the remote start's card where it accepted one);
    # the wallets pay at the stop.
    async def first_session(charger: Charger) -> None:
        await charger.start()
        for _ in range(FIRST_METER_VALUES):
            await charger.meter()
        await charger.stop(remote=False)

    await bounded(asyncio.gather(*(first_session(charger) for charger in chargers)))
    await until(lambda: no_unsettled(engine))

    # 4. Two sessions left open: the sweep closes each once, on one node.
    await bounded(asyncio.gather(leave_stale_session(b, 0), leave_stale_session(c, 1)))
    await until(lambda: closed(stale(0), stale(1)))
    await until(lambda: swept(2))
    swept_before_kill = {name: node.swept() for name, node in nodes.items()}

    # 5. Second sessions. B's answers stop reaching its stations (its relay is muted): B
    # starts their sessions, commits them, and is killed before its answers go out.
    finish = asyncio.Event()
    on_b = [charger for charger in chargers if charger.home == "B"]
    assert b.front is not None
    b.front.muted = True

    async def second_session(charger: Charger) -> None:
        await charger.start()
        ends = charger.stop_asked if charger.home == "B" else finish
        sent = 0
        while not ends.is_set():
            if sent < METER_CAP:
                await charger.meter()
                sent += 1
            else:  # the car is full: the station only says it is there
                await charger.heartbeat()
            await asyncio.sleep(PACE_S)  # the station's meter interval
        await charger.stop(remote=charger.stop_asked.is_set())

    running = [asyncio.ensure_future(second_session(charger)) for charger in chargers]
    try:
        await watching(running, until(lambda: active_on(engine, on_b)))
        b.process.kill()  # SIGKILL: no goodbye to the stations, the database or the others
        await bounded(b.process.wait())
        dead_at = asyncio.get_running_loop().time()

        # B's stations come back through the balancer, on A and on C.
        async def moved() -> bool:
            if not all(ch.moves and ch.node in (a, c) for ch in on_b):
                return False
            return await held_where_connected(engine, chargers)

        await watching(running, until(moved))
        assert {ch.node.name for ch in on_b if ch.node} == {"A", "C"}
        assert [ch.moves for ch in chargers] == [int(ch.home == "B") for ch in chargers]
        async with operator_on(c, seeded.station_ids) as api_c:  # what each node shows

            async def shown_connected() -> bool:
                for node_api in (api, api_c):
                    for charger in chargers:
                        if not await node_api.connected(charger.cpid):
                            return False
                return True

            await watching(running, until(shown_connected))

        # 6. Two more sessions left open: the sweep still runs, on A or C.
        await watching(
            running,
            asyncio.gather(leave_stale_session(a, 2), leave_stale_session(c, 3)),
        )
        await watching(running, until(lambda: closed(stale(2), stale(3))))
        await watching(running, until(lambda: swept(STALE)))

        # 7. Node A stops the moved stations' sessions: it runs the command for the
        # stations it holds now, C for the others; each station answers for itself.
        async def stop_remotely(charger: Charger) -> None:
            assert charger.transaction is not None
            active = await api.sessions(charger.cpid, "active")
            assert [s["transaction_ref"] for s in active] == [charger.transaction]
            other = str(int(charger.transaction) + 1_000_000) if charger.version == "1.6" else "x"
            stop = {"kind": "remote_stop", "transaction_ref": other}
            assert await api.command(charger.cpid, stop) == "Rejected"
            stop["transaction_ref"] = charger.transaction
            assert await api.command(charger.cpid, stop) == "Accepted"
            assert charger.received[-2:] == [("stop", other), ("stop", stop["transaction_ref"])]

        await watching(running, asyncio.gather(*(stop_remotely(ch) for ch in on_b)))
        finish.set()
        await watching(running, asyncio.gather(*running))
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    # Each station: its two sessions, completed once, with the card and energy it sent.
    for charger in chargers:
        await check_sessions(api, charger)
    for index in range(STALE):
        (left,) = await api.sessions(stale(index))
        assert left["status"] == "quarantined", left  # held for review, never billed blindly
        assert left["quarantine_reasons"] == ["no_stop_received"], left

    # The sweep closed each stale session once; after the kill, on A or C.
    swept_after = {name: node.swept() - swept_before_kill[name] for name, node in nodes.items()}
    assert sum(swept_before_kill.values()) == 2, swept_before_kill
    assert swept_after["A"] + swept_after["C"] == 2, swept_after
    assert swept_after["B"] == 0, swept_after

    # Every wallet session charged once and debited once.
    await until(lambda: no_unsettled(engine))
    for balance_now, expected in await wallets_add_up(engine, observer, seeded.wallets, opening):
        assert balance_now == expected

    # The outbox's job (the receipts' webhooks): each round seen ran on one node, the one
    # holding its lease; after the kill on A or C; each delivery made once.
    await until(lambda: webhooks_settled(engine))
    await check_webhooks(engine, receiver, dead_at)


async def start_remotely(api: Operator, charger: Charger) -> None:
    """A remote start through ``api``'s node naming the driver's second card: the station's
    own answer comes back (those that refuse, refuse)."""
    body = {"kind": "remote_start", "evse_id": 1, "id_tag": charger.remote_tag}
    answer = await api.command(charger.cpid, body)
    assert answer == ("Rejected" if charger.refuses_start else "Accepted"), charger.cpid
    assert charger.received == [("start", charger.remote_tag)], charger.cpid


async def check_sessions(api: Operator, charger: Charger) -> None:
    """The station's sessions are the ones it ran, each once and completed, with the card
    and the readings it sent; the one B held when it died has every reading once."""
    listed = await api.sessions(charger.cpid)
    assert sorted(s["transaction_ref"] for s in listed) == sorted(charger.readings)
    for session in listed:
        ref = session["transaction_ref"]
        sent = charger.readings[ref]
        assert session["status"] == "completed", session
        assert session["id_tag"] == charger.tags[ref]
        assert Decimal(session["meter_start_wh"]) == sent[0]
        assert Decimal(session["meter_stop_wh"]) == sent[-1]
        assert Decimal(session["energy_wh"]) == sent[-1] - sent[0]
    if charger.home == "B":
        ref = max(charger.readings, key=lambda r: charger.readings[r][0])
        (session,) = [s for s in listed if s["transaction_ref"] == ref]
        detail = await api.session(session["id"])
        stored = [Decimal(x["value"]) for x in detail["samples"] if x["measurand"] == REGISTER]
        # Samples as the server keeps them: 1.6 the MeterValues (the start and stop readings
        # come in Start/StopTransaction), 2.0.1 every event's reading.
        sent = charger.readings[ref]
        kept = sent[1:-1] if charger.version == "1.6" else sent
        assert stored == [Decimal(v) for v in kept], charger.cpid


async def check_webhooks(engine: AsyncEngine, receiver: Receiver, dead_at: float) -> None:
    """Each delivery made once; each one seen sent by the node holding the outbox job's
    lease, and no other node holding it; after B died, sent by A or C."""
    states = await rows(engine, "SELECT id, state FROM outbox_messages WHERE channel = 'webhook'")
    delivered = {str(i) for i, state in states if state == "delivered"}
    # the one B was making when it died, or one being made now
    cut_off = {str(i) for i, state in states if state == "sending"}
    assert len(cut_off) <= 1, cut_off
    assert receiver.failures == []
    seen = list(receiver.witnessed)  # after the states: what was delivered then was seen
    received = {w.delivery for w in seen}
    assert len(received) == len(seen), seen
    assert delivered <= received
    assert received <= delivered | cut_off
    witnessed = [w for w in seen if w.sender is not None]
    assert len(seen) - len(witnessed) <= len(cut_off)
    assert [w for w in witnessed if w.holders != (w.sender,)] == []
    sent_after = {w.sender for w in witnessed if w.arrived > dead_at}
    assert sent_after, "no webhook after the kill"
    assert sent_after <= {"A", "C"}, sent_after
