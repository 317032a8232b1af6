"""One station's websocket: Basic-auth connect, an ordered offline queue, replay, raw frames.

OCPP-J allows one outstanding CALL per direction (1.6J §4.1.1, 2.0.1 Part 4 §4.1.1), so every
message a station produces goes through one ordered outbox and one sender. While the station is
offline the outbox simply grows; after the reconnect (and a new BootNotification, done by the
station's ``on_connected``) it is replayed in order with the original timestamps (OCPP 1.6
transaction-related messages are queued while offline and delivered later; 2.0.1 Part 2 §E04).
A builder is called at send time, so a 1.6 MeterValues queued behind its StartTransaction only
gets the transactionId once the StartTransaction.conf has arrived.

The link waits for the server, never gives up on a schedule: a CALL waits for its answer (a
safety timeout of minutes, after which the connection is renewed and the CALL sent again), a
lost connection is reopened for as long as ``connect_patience_s`` allows, and ``settled``
tells the station when everything it queued has been answered, so it can pace its day on the
server. A message is given up only when the server refuses it (a CALLERROR) or never answers
it through ``CALL_ATTEMPTS`` safety timeouts.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from ocpp.exceptions import (
    OCPPError,
    UnknownCallErrorCodeError,
    ValidationError,
)
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus, WebSocketException
from websockets.typing import Subprotocol

from chargeledger.sim.frames import CLOSED, ConnectionLostError, basic_auth, exchange

CALL_ATTEMPTS = 3  # safety timeouts of one CALL before it is given up
MAX_BACKOFF_S = 3.0


THROTTLED_RETRIES = 30  # waits as told by Retry-After before an attempt counts as failed
MAX_RETRY_AFTER_S = 10


class StationRefusedError(Exception):
    """The CSMS refused the station (HTTP 401/403/404 on the upgrade): retrying is pointless."""


class StationThrottledError(WebSocketException):
    """The CSMS asked the station to come back later (HTTP 429/503 with ``Retry-After``): it
    throttles password checks per address, and many simulated stations share one address."""

    def __init__(self, status: int, retry_after: float) -> None:
        super().__init__(f"HTTP {status}, retry after {retry_after:g} s")
        self.retry_after = retry_after


@dataclass(slots=True)
class OutboxItem:
    """A message waiting to be sent; ``build`` returns the payload or None to skip it."""

    build: Callable[[], Any]
    on_result: Callable[[Any], None] | None = None
    session_key: str | None = None
    reorderable: bool = False
    duplicate: bool = False
    attempts: int = 0


@dataclass(slots=True)
class LinkStats:
    messages_sent: int = 0
    call_errors: int = 0
    timeouts: int = 0
    reconnects: int = 0
    latencies_ms: list[float] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class LinkConfig:
    url: str
    charge_point_id: str
    password: str
    subprotocol: str
    response_timeout_s: float
    connect_timeout_s: float
    validate: bool
    connect_patience_s: float = 300.0


class Link:
    """The transport of one station: at most one socket at a time, an outbox that survives
    reconnects, one sender, and the counters the report is built from."""

    def __init__(
        self,
        config: LinkConfig,
        make_client: Callable[[ClientConnection], Any],
        on_connected: Callable[[], Awaitable[bool]],
        stats: LinkStats,
    ) -> None:
        self.config = config
        self.make_client = make_client
        self.on_connected = on_connected
        self.stats = stats
        self.outbox: deque[OutboxItem] = deque()
        self.cp: Any = None
        self.ws: ClientConnection | None = None
        self.failed = False
        self.ever_online = False
        self.last_error: str | None = None
        self._reader: asyncio.Task[None] | None = None
        self._online = asyncio.Event()
        self._wake = asyncio.Event()
        self._settled = asyncio.Event()
        self._settled.set()
        self._planned_offline = False
        self._draining = False
        self._closing = False
        self._connect_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def online(self) -> bool:
        return self._online.is_set()

    @property
    def disconnected(self) -> bool:
        """Offline after having been online: what the 2.0.1 ``offline`` flag reports."""
        return self.ever_online and not self.online

    async def settled(self) -> None:
        """Return once the server has answered everything queued so far, or nothing can be
        sent anyway (a planned outage, a link that failed or closed)."""
        await self._settled.wait()

    def _update_settled(self) -> None:
        idle = not self.outbox or self._planned_offline or self.failed or self._closing
        if idle:
            self._settled.set()
        else:
            self._settled.clear()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def connect(self) -> bool:
        """Open the websocket and boot, retrying with backoff while the server is slow or
        away (up to ``connect_patience_s``); False only when the server refused the station
        (HTTP 401/403/404, the boot rejected) or stayed away that long."""
        async with self._connect_lock:
            if self.online:  # a concurrent reconnect already got through
                return True
            loop = asyncio.get_running_loop()
            give_up_at = loop.time() + self.config.connect_patience_s
            delay = 0.2
            while not self._closing:
                try:
                    await self._drop_socket()
                    await self._open_when_admitted()
                    if await self.on_connected():
                        self.ever_online = True
                        self._online.set()
                        self._wake.set()
                        return True
                    self.last_error = "the BootNotification was not accepted"
                    break
                except StationRefusedError as exc:
                    self.last_error = str(exc)
                    break
                except (OSError, TimeoutError, WebSocketException, ConnectionLostError) as exc:
                    self.last_error = f"{type(exc).__name__}: {exc}"
                await self._drop_socket()
                if loop.time() + delay > give_up_at:
                    break
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_S)
            self.failed = True
            self._wake.set()
            self._update_settled()
            return False

    async def _open_when_admitted(self) -> None:
        """Open, waiting as long as the CSMS says when it throttles (a bounded number of
        times), like a real station's back-off after a refused connection."""
        for _ in range(THROTTLED_RETRIES):
            try:
                await self._open()
                return
            except StationThrottledError as exc:
                self.last_error = str(exc)
                await asyncio.sleep(exc.retry_after)
        await self._open()

    async def _open(self) -> None:
        cfg = self.config
        uri = f"{cfg.url.rstrip('/')}/{cfg.charge_point_id}"
        try:
            ws = await connect(
                uri,
                subprotocols=[Subprotocol(cfg.subprotocol)],
                additional_headers={"Authorization": basic_auth(cfg.charge_point_id, cfg.password)},
                open_timeout=cfg.connect_timeout_s,
                ping_interval=None,
                close_timeout=2,
                compression=None,
                proxy=None,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403, 404):
                raise StationRefusedError(str(exc)) from exc
            if status in (429, 503):
                raise StationThrottledError(status, _retry_after(exc)) from exc
            raise
        if ws.subprotocol != cfg.subprotocol:
            await ws.close()
            raise StationRefusedError(f"server did not accept subprotocol {cfg.subprotocol}")
        self.ws = ws
        self.cp = self.make_client(ws)
        self._reader = self.spawn(self._read(self.cp))

    async def _read(self, cp: Any) -> None:
        try:
            await cp.start()
        except WebSocketException:
            pass
        finally:
            cp._response_queue.put_nowait(CLOSED)  # wakes a CALL waiting for its answer
            if cp is self.cp:
                self._online.clear()
                if not (self._closing or self._planned_offline or self._connect_lock.locked()):
                    self.stats.reconnects += 1
                    self.spawn(self.connect())

    async def _drop_socket(self) -> None:
        self._online.clear()
        ws, reader = self.ws, self._reader
        self.cp = self.ws = self._reader = None
        if ws is not None:
            await ws.close()
        if reader is not None:
            reader.cancel()

    async def go_offline(self) -> None:
        """Planned outage (fault ``disconnect``/``reorder``): close the socket, keep queueing."""
        self._planned_offline = True
        self._update_settled()
        await self._drop_socket()

    async def _renew(self) -> None:
        """The server did not answer within the safety timeout: open a new connection (the
        CALL stays first in the outbox and goes out again once the station has booted)."""
        self.stats.reconnects += 1
        await self._drop_socket()
        self.spawn(self.connect())

    async def come_back(self, reorder_keys: frozenset[str] = frozenset()) -> bool:
        """End a planned outage: optionally shuffle a session's queued samples, reconnect,
        boot again, then the sender replays the queue."""
        if reorder_keys:
            self._reverse_queued(reorder_keys)
        self._planned_offline = False
        self._update_settled()
        self.stats.reconnects += 1
        return await self.connect()

    def _reverse_queued(self, keys: frozenset[str]) -> None:
        slots = [i for i, it in enumerate(self.outbox) if it.reorderable and it.session_key in keys]
        items = [self.outbox[i] for i in reversed(slots)]
        for i, item in zip(slots, items, strict=True):
            self.outbox[i] = item

    def submit(self, item: OutboxItem) -> None:
        self.outbox.append(item)
        self._wake.set()
        self._update_settled()

    async def call(self, payload: Any, *, duplicate: bool = False) -> Any:
        """Send one CALL now (the connection must be up); None on CALLERROR. With
        ``duplicate`` the same frame goes out twice (fault ``duplicate``)."""
        cp = self.cp
        if cp is None:
            raise ConnectionLostError
        loop = asyncio.get_running_loop()
        began = loop.time()
        copies = 2 if duplicate else 1
        self.stats.messages_sent += copies
        try:
            result = await exchange(
                cp,
                payload,
                copies=copies,
                wait_s=self.config.response_timeout_s,
                extra_wait_s=self.config.response_timeout_s,
                validate=self.config.validate,
            )
        except (OCPPError, UnknownCallErrorCodeError, ValidationError):
            self.stats.call_errors += 1
            result = None
        except WebSocketException as exc:
            raise ConnectionLostError from exc
        self.stats.latencies_ms.append((loop.time() - began) * 1000)
        return result

    async def run_sender(self) -> None:
        """Send the outbox in order while online; returns once closed and empty, or failed."""
        while not self.failed:
            if not self.outbox or not self.online:
                if (self._draining or self._closing) and not self.outbox:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            item = self.outbox[0]
            payload = item.build()
            result = None
            if payload is not None:
                try:
                    result = await self.call(payload, duplicate=item.duplicate)
                except ConnectionLostError:
                    continue  # sent again after the reconnect
                except TimeoutError:
                    self.stats.timeouts += 1
                    item.attempts += 1
                    if item.attempts < CALL_ATTEMPTS:
                        await self._renew()
                        continue
            self.outbox.popleft()
            if item.on_result is not None:
                item.on_result(result)
            self._update_settled()

    async def send_raw(self, text: str, wait_s: float = 5.0) -> str | None:
        """Write ``text`` as one websocket text frame and return the next non-CALL frame the
        server sends back (None if nothing came within ``wait_s`` seconds)."""
        cp = self.cp
        if cp is None:
            raise ConnectionLostError
        async with cp._call_lock:
            waiter: asyncio.Future[str] = asyncio.get_running_loop().create_future()
            cp.raw_waiter = waiter
            try:
                await cp._send(text)
                self.stats.messages_sent += 1
                async with asyncio.timeout(wait_s):
                    return await waiter
            except TimeoutError:
                return None
            finally:
                cp.raw_waiter = None

    def finish(self) -> None:
        """No more messages will come: the sender returns once the outbox is empty."""
        self._draining = True
        self._wake.set()

    async def close(self) -> None:
        self._closing = True
        self._wake.set()
        self._update_settled()
        await self._drop_socket()
        for task in list(self._tasks):
            task.cancel()


def _retry_after(refused: InvalidStatus) -> float:
    """The server's Retry-After in seconds (RFC 9110 §10.2.3), within 1 and 10."""
    try:
        seconds = float(refused.response.headers.get("Retry-After", "1"))
    except ValueError:
        seconds = 1.0
    return min(max(seconds, 1.0), MAX_RETRY_AFTER_S)
