"""A simulated charging station: its EVSEs, their sessions in simulated time, CSMS commands.

The protocol-neutral part. ``Station16`` and ``Station201`` turn the same session timeline
(plug-in → start → periodic samples → SuspendedEV when full → stop → Available) into OCPP 1.6J
or 2.0.1 messages. All messages go through the station's ``Link`` outbox, so an offline period
queues them and the replay keeps their original order and timestamps.

The station paces itself on the server (``Timeline``): the steps of its day happen in
simulated-time order, at the compressed clock's pace at the fastest, and each only once the
server has answered everything the station sent before. A slow server or a busy machine makes
the day take longer; no step is dropped for missing its slot, and every timestamp still comes
from the plan.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from chargeledger.sim.clock import SimClock
from chargeledger.sim.faults import reported_sample, reported_stop
from chargeledger.sim.frames import ConnectionLostError
from chargeledger.sim.link import Link, LinkConfig, LinkStats, OutboxItem
from chargeledger.sim.live import EvseRuntime, Live, Progress
from chargeledger.sim.model import (
    EvseSpec,
    FaultKind,
    SimulationOptions,
    TokenSpec,
)
from chargeledger.sim.ocmf_meter import StationMeter
from chargeledger.sim.plan import (
    GAP_AFTER_STOP_S,
    MIN_SESSION_S,
    SessionPlan,
    StationPlan,
    StopReason,
    Window,
    draw_session,
    station_rng,
)
from chargeledger.sim.timeline import Timeline

AVAILABLE_AFTER_S = 60  # Finishing → Available once the cable is out
BOOT_ATTEMPTS = 3
MIN_HEARTBEAT_S = 900


class Station(ABC):
    """Runs one station from BootNotification to the last Available, then closes."""

    subprotocol: str
    boots = 0  # BootNotifications accepted so far

    def __init__(
        self,
        plan: StationPlan,
        url: str,
        clock: SimClock,
        window: Window,
        options: SimulationOptions,
        stats: LinkStats,
        progress: Progress,
    ) -> None:
        self.plan = plan
        self.spec = plan.spec
        self.clock = clock
        self.window = window
        self.options = options
        self.skew_s = plan.clock_skew_s
        self.progress = progress
        self.evses = {e.evse.evse_id: EvseRuntime(e, e.initial_register_wh) for e in plan.evses}
        self.finished: list[Live] = []
        self.reservations: dict[int, dict[str, Any]] = {}
        self.status: dict[int, str] = {}  # last connector status sent, for TriggerMessage
        self.heartbeat_interval_s = options.heartbeat_interval_s or 900
        self.meter = (
            StationMeter(options.seed, plan.spec.charge_point_id)
            if options.signed_meter_data
            else None
        )
        self._remote_count = 0
        self._remote_tasks: set[asyncio.Task[Any]] = set()
        self.link = Link(
            LinkConfig(
                url=url,
                charge_point_id=plan.spec.charge_point_id,
                password=plan.spec.password,
                subprotocol=self.subprotocol,
                response_timeout_s=options.response_timeout_s,
                connect_timeout_s=options.connect_timeout_s,
                validate=options.validate_messages,
                connect_patience_s=options.connect_patience_s,
            ),
            self.make_client,
            self.boot,
            stats,
        )
        self.timeline = Timeline(clock, self.link.settled)

    # -- protocol hooks -------------------------------------------------------------------------
    @abstractmethod
    def make_client(self, ws: Any) -> Any: ...

    async def boot(self) -> bool:
        """BootNotification after every (re)connect (1.6J §4.2, 2.0.1 §B01), retried while
        Pending/Rejected; True once Accepted. The CSMS's interval paces the heartbeats unless
        the options fix one."""
        for _ in range(BOOT_ATTEMPTS):
            result = await self.link.call(self.boot_payload())
            if result is not None and result.status == "Accepted":
                self.boots += 1
                if self.options.heartbeat_interval_s is None:
                    self.heartbeat_interval_s = max(int(result.interval), MIN_HEARTBEAT_S)
                return True
            await asyncio.sleep(0.5)
        return False

    @abstractmethod
    def boot_payload(self) -> Any: ...

    def trigger(self, requested: str, evse_id: int | None) -> None:
        """TriggerMessage (1.6J §5.17, 2.0.1 §F06): send what was asked for, stamped now."""
        now = max(0, self.now_s())
        targets = [e for e in self.evses.values() if evse_id in (None, e.spec.evse_id)]
        if requested == "Heartbeat":
            self.queue(self.heartbeat_payload())
        elif requested == "BootNotification":
            self.queue(self.boot_payload())
        elif requested == "StatusNotification":
            for evse in targets:
                self.send_status(evse.spec, self.status.get(evse.spec.evse_id, "Available"), now)
        else:
            self.trigger_transaction_message(requested, targets, now)

    @abstractmethod
    def trigger_transaction_message(
        self, requested: str, targets: list[EvseRuntime], now: int
    ) -> None:
        """MeterValues (and in 2.0.1 TransactionEvent): they differ between the versions."""

    def send_status(self, evse: EvseSpec, status: str, t: int) -> None:
        """StatusNotification of the connector, remembered for TriggerMessage."""
        self.status[evse.evse_id] = status
        self.queue(self.status_payload(evse, status, t))

    @abstractmethod
    def status_payload(self, evse: EvseSpec, status: str, t: int) -> Any: ...

    @abstractmethod
    def send_begin(self, live: Live, t: int) -> None: ...

    @abstractmethod
    def send_sample(self, live: Live, t: int, index: int, sent_wh: int) -> None: ...

    @abstractmethod
    def send_suspended(self, live: Live, t: int) -> None: ...

    @abstractmethod
    def send_end(self, live: Live, t: int, sent_stop_wh: int) -> None: ...

    def send_idle_status(self, evse: EvseSpec, t: int) -> None:
        self.send_status(evse, "Available", t)

    @abstractmethod
    def transaction_ref(self, live: Live) -> str | None: ...

    # -- helpers for the protocol modules -------------------------------------------------------
    def stamp(self, t: int) -> str:
        """The station's clock: simulated time plus this station's skew (fault clock_skew)."""
        return self.clock.stamp(t, self.skew_s)

    def is_offline_at(self, t: int) -> bool:
        planned = any(w.start_s <= t < w.end_s for w in self.plan.offline)
        return planned or self.link.disconnected

    def measured(self, live: Live, t: int) -> tuple[int, int]:
        """(power W, SoC %) at simulated second ``t``."""
        offset = t - live.plan.start_s
        return live.plan.trace.power_w(offset), live.plan.trace.soc_percent(offset)

    def now_s(self) -> int:
        """The station's own simulated second (the last step of its timeline), never past
        the end of the usable window."""
        return min(math.ceil(self.timeline.now_s), self.clock.span_s - self.window.tail_s)

    async def wait_until(self, sim_s: float, event: asyncio.Event | None = None) -> bool:
        """Wait for this station's step at simulated second ``sim_s`` (see ``Timeline``);
        True as soon as ``event`` is set (a CSMS stop) instead."""
        return await self.timeline.until(sim_s, event)

    def start_timeline(self) -> None:
        self.link.spawn(self.timeline.run())

    def queue(
        self,
        payload: Any,
        *,
        live: Live | None = None,
        reorderable: bool = False,
        duplicate: bool = False,
        on_result: Callable[[Any], None] | None = None,
    ) -> None:
        """Append a ready payload to the outbox (see ``Link``: sent in order, queued offline)."""
        self.link.submit(
            OutboxItem(
                build=lambda: payload,
                on_result=on_result,
                session_key=None if live is None else live.key,
                reorderable=reorderable,
                duplicate=duplicate,
            )
        )

    # -- run ------------------------------------------------------------------------------------
    async def run(self) -> bool:
        """Boot, announce the connectors, play the plan, stay connected (heartbeats, CSMS
        commands) until the end of the simulated period, drain the queue, close.
        False if the station never got online (refused, unreachable) or lost its link."""
        if not await self.link.connect():
            for _ in self.plan.sessions:
                self.progress.done()
            return False
        t = max(0, self.now_s())
        for evse in self.evses.values():
            self.send_status(evse.spec, "Available", t)
        self.start_timeline()
        sender = asyncio.ensure_future(self.link.run_sender())
        heartbeats = self.link.spawn(self._heartbeats())
        connectivity = self.link.spawn(self._connectivity())
        try:
            await asyncio.gather(*(self._run_evse(e) for e in self.evses.values()))
            await self.wait_until(self.clock.span_s)
            await heartbeats  # its last Heartbeat answered
            await connectivity
            while self._remote_tasks:
                await asyncio.gather(*self._remote_tasks)
            self.link.finish()
            await sender
        finally:
            sender.cancel()
            await self.link.close()
        return not self.link.failed

    async def send_raw(self, text: str, wait_s: float = 5.0) -> str | None:
        """Write one raw text frame and return the server's raw reply (None if none came):
        for server tests of malformed JSON and unknown actions (OCPP-J §4.2.3 CALLERROR)."""
        return await self.link.send_raw(text, wait_s)

    async def call(self, payload: Any) -> Any:
        """Send one ``ocpp`` payload now and return the ``call_result`` (None on CALLERROR)."""
        return await self.link.call(payload)

    async def _heartbeats(self) -> None:
        """Heartbeat every interval of simulated time (1.6J §4.6, 2.0.1 §G02), online only."""
        t = self.heartbeat_interval_s
        while t < self.clock.span_s:
            await self.wait_until(t)
            if self.link.online:
                with contextlib.suppress(ConnectionLostError, TimeoutError):
                    await self.link.call(self.heartbeat_payload())
            t += self.heartbeat_interval_s

    @abstractmethod
    def heartbeat_payload(self) -> Any: ...

    async def _connectivity(self) -> None:
        """Planned outages of the disconnect/reorder faults."""
        for window in self.plan.offline:
            await self.wait_until(window.start_s)  # what came before went out online
            await self.link.go_offline()
            await self.wait_until(window.end_s)  # the steps inside happened offline
            await self.link.come_back(window.reorder_keys)

    async def _run_evse(self, evse: EvseRuntime) -> None:
        sessions = list(evse.plan.sessions)
        for i, session in enumerate(sessions):
            evse.next_start_s = session.start_s
            await self.wait_until(session.start_s)
            waited = evse.lock.locked()  # a CSMS-started session still holds the EVSE
            async with evse.lock:
                if evse.unusable:
                    self.progress.done()
                    continue
                late = self.now_s() - session.start_s
                if waited and late > 0:  # plug in as soon as that car has left
                    session = self._postponed(session, late)
                evse.next_start_s = sessions[i + 1].start_s if i + 1 < len(sessions) else None
                await self.run_session(evse, session)

    def _postponed(self, session: SessionPlan, late: int) -> SessionPlan:
        """The session starts ``late`` seconds after its plan, keeping its length but ending
        inside the window (the car leaves when the day's window closes)."""
        end = self.clock.span_s - self.window.tail_s
        start = session.start_s + late
        stop = max(start + 1, min(session.stop_s + late, end))
        return replace(session, start_s=start, stop_s=stop)

    async def run_session(self, evse: EvseRuntime, plan: SessionPlan) -> None:
        """The timeline of one session in simulated time; a CSMS stop cuts it short."""
        live = Live(plan=plan, meter_start_wh=evse.register_wh)
        evse.live = live
        start, trace = plan.start_s, plan.trace
        self.send_begin(live, start)
        events = [(off, i) for i, off in enumerate(plan.sample_offsets(self.window.interval_s))]
        full = trace.full_at_s if trace.reached_target else None
        if full is not None and full < plan.stop_s - start:
            events.append((full, -1))
        events.sort()
        stop_off = plan.stop_s - start
        last_off, previous = 0, live.meter_start_wh
        interrupted = False
        for off, index in events:
            if await self.wait_until(start + off, live.stop_event):
                interrupted = True
                break
            last_off = off
            if index < 0:
                live.charging = False
                self.send_suspended(live, start + off)
                continue
            true_wh = live.meter_start_wh + trace.energy_wh(off)
            self.send_sample(
                live, start + off, index, reported_sample(plan, index, true_wh, previous)
            )
            previous = true_wh
        if not interrupted:
            interrupted = await self.wait_until(plan.stop_s, live.stop_event)
        if interrupted:
            stop_off = min(stop_off, max(last_off, self.now_s() - start))
        live.stop_offset_s = stop_off
        live.energy_wh = trace.energy_wh(stop_off)
        if plan.fault is FaultKind.NO_STOP_RECEIVED and not interrupted:
            evse.unusable = True  # the transaction stays open on this EVSE for good
            live.acknowledged = True
            self._finish(live)
            return
        live.meter_stop_wh = live.meter_start_wh + live.energy_wh
        if self.meter is not None:  # the Eichrecht meter signs the transaction (issue 15)
            live.signed_record = self.meter.sign(live, lambda s: self.clock.at(s, self.skew_s))
        if live.stop_reason is None:
            live.stop_reason = plan.stop_reason
        sent = reported_stop(plan, live.meter_start_wh, live.meter_stop_wh, stop_off)
        self.send_end(live, start + stop_off, sent)
        evse.register_wh = live.meter_stop_wh
        evse.live = None
        self._finish(live)
        available_at = start + stop_off + AVAILABLE_AFTER_S
        await self.wait_until(available_at)
        self.send_idle_status(evse.spec, available_at)

    def _finish(self, live: Live) -> None:
        self.finished.append(live)
        self.progress.done()

    # -- CSMS-initiated -------------------------------------------------------------------------
    def claim_evse(self, evse_id: int | None) -> EvseRuntime | None:
        """An EVSE a remote start may use now, with room before its next planned session."""
        candidates = [self.evses.get(evse_id)] if evse_id else list(self.evses.values())
        now = self.now_s()
        for evse in candidates:
            if evse is None or not evse.free:
                continue
            limit = evse.next_start_s if evse.next_start_s and evse.next_start_s > now else None
            end = (limit or self.clock.span_s - self.window.tail_s) - GAP_AFTER_STOP_S
            if end - now >= MIN_SESSION_S:
                return evse
        return None

    def start_remote(
        self, evse: EvseRuntime, token: TokenSpec, remote_start_id: int | None
    ) -> None:
        """RemoteStartTransaction / RequestStartTransaction accepted: plug a car in now."""
        self._remote_count += 1
        rng = station_rng(
            self.options.seed, self.spec.charge_point_id, f"remote{self._remote_count}"
        )
        now = self.now_s()
        limit = evse.next_start_s if evse.next_start_s and evse.next_start_s > now else None
        end = (limit or self.clock.span_s - self.window.tail_s) - GAP_AFTER_STOP_S
        key = f"{self.spec.charge_point_id}/{evse.spec.evse_id}/remote{self._remote_count}"
        plan = draw_session(rng, key, evse.spec, -self._remote_count, now, end - now, [token])
        plan = replace(plan, remote_start_id=remote_start_id)
        self.progress.added()
        task = self.link.spawn(self._remote_session(evse, plan))
        self._remote_tasks.add(task)
        task.add_done_callback(self._remote_tasks.discard)

    async def _remote_session(self, evse: EvseRuntime, plan: SessionPlan) -> None:
        async with evse.lock:
            await self.run_session(evse, plan)

    def find_live(self, ref: str) -> Live | None:
        for evse in self.evses.values():
            live = evse.live
            if live is not None and self.transaction_ref(live) == ref:
                return live
        return None

    def remote_stop(self, ref: str) -> None:
        live = self.find_live(ref)
        if live is not None and not live.stop_event.is_set():
            live.stop_reason = StopReason.REMOTE
            live.stop_event.set()
