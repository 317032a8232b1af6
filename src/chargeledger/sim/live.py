"""The running state of sessions and EVSEs, and the session counter behind progress bars."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from chargeledger.sim.model import EvseSpec
from chargeledger.sim.plan import EvsePlan, SessionPlan, StopReason


class Progress:
    """Counts sessions as their scripts end; ``callback(done, total)`` drives progress bars."""

    def __init__(self, total: int, callback: Callable[[int, int], None] | None) -> None:
        self.total = total
        self.finished = 0
        self.callback = callback

    def added(self) -> None:
        self.total += 1
        self._report()

    def done(self) -> None:
        """A session script ended (or was given up); the report counts failures apart."""
        self.finished += 1
        self._report()

    def _report(self) -> None:
        if self.callback is not None:
            self.callback(self.finished, self.total)


@dataclass(slots=True)
class Live:
    """A session as it runs. ``meter_*`` are the true register values in Wh."""

    plan: SessionPlan
    meter_start_wh: int
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)
    stop_reason: StopReason | None = None
    tx_id: int | None = None  # 1.6: assigned by the CSMS in StartTransaction.conf
    seq_no: int = 0  # 2.0.1: next TransactionEvent seqNo
    charging: bool = True
    stop_offset_s: int | None = None
    meter_stop_wh: int | None = None
    energy_wh: int = 0
    acknowledged: bool = False
    signed_record: str | None = None  # the meter's OCMF record of the session, once stopped

    @property
    def key(self) -> str:
        return self.plan.key

    def next_seq(self) -> int:
        seq, self.seq_no = self.seq_no, self.seq_no + 1
        return seq


@dataclass(slots=True)
class EvseRuntime:
    plan: EvsePlan
    register_wh: int
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    live: Live | None = None
    unusable: bool = False
    next_start_s: int | None = None

    @property
    def spec(self) -> EvseSpec:
        return self.plan.evse

    @property
    def free(self) -> bool:
        return self.live is None and not self.unusable and not self.lock.locked()
