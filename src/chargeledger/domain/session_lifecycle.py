"""The moves a charging session may make, and the only place its status changes.

```
 (none) --start--> ACTIVE --stop, close_unstopped--> COMPLETED --judge: a reason--> QUARANTINED
 (none) --start_unknown (a stop never started)--------------------------------> QUARANTINED
                                                     COMPLETED <--release-------- QUARANTINED
```

* ``sample``: meter values are kept in every state; late ones of a closed session are judged
  again, because a replayed reading may reveal a register that ran backwards (issue 3).
* ``stop``: a running session closes once; a closed one takes a stop again only when the sweep
  closed it (``NO_STOP_REASON``): the station's own reading then replaces the inferred one.
* ``judge``: a closed session is held back (QUARANTINED) while its meter data has a reason not
  to be billed and no operator released it (DESIGN §2: suspicious data is never billed blindly).
* ``release``: only a quarantined session, by an operator who says why (issue 3).

Any other move is refused with :class:`SessionTransitionError`; the services ask for the move
their input calls for, so a refusal is a bug or an operator asking the impossible.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from chargeledger.domain.charging import (
    MeterSample,
    QuarantineReason,
    Resolution,
    Session,
    SessionStatus,
    StateChange,
)
from chargeledger.domain.meter_checks import charging_and_idle, quality_issues, registers_in_order
from chargeledger.domain.payment_routes import PaymentRoute
from chargeledger.domain.station_link import SignedMeterValue
from chargeledger.domain.text import required_text
from chargeledger.errors import ConflictError, InvalidInputError

NO_STOP_REASON = "NoStopReceived"  # the stop reason of a session the sweep closed
MAX_NOTE_LENGTH = 2000


class SessionTransitionError(ConflictError):
    """A move the session's state does not allow (see the module docstring)."""

    default_code = "session_transition_refused"


@dataclass(frozen=True, slots=True)
class Payer:
    """Who pays a session and how, as decided when its driver was identified."""

    account_id: uuid.UUID | None
    route: PaymentRoute


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a closed session's meter data says: its time charging and idle, and every reason
    not to bill it as reported (``meter_checks``)."""

    charging_seconds: int
    idle_seconds: int
    reasons: tuple[QuarantineReason, ...]


def start(
    *,
    station_id: uuid.UUID,
    evse_id: int,
    connector_id: int,
    transaction_ref: str,
    ocpp_version: str,
    id_tag: str | None,
    payer: Payer,
    started_at: datetime,
    meter_start_wh: Decimal,
    tariff_id: uuid.UUID | None,
    now: datetime,
    contract_version_id: uuid.UUID | None = None,
) -> Session:
    """A session opens ACTIVE with its tariff, contract version and payment route frozen
    (DESIGN §2)."""
    return Session(
        station_id=station_id,
        evse_id=evse_id,
        connector_id=connector_id,
        transaction_ref=transaction_ref,
        ocpp_version=ocpp_version,
        id_tag=id_tag,
        account_id=payer.account_id,
        payment_route=payer.route,
        started_at=started_at,
        meter_start_wh=meter_start_wh,
        last_sample_at=started_at,
        tariff_id=tariff_id,
        contract_version_id=contract_version_id,
        created_at=now,
        updated_at=now,
    )


def start_unknown(
    *,
    station_id: uuid.UUID,
    transaction_ref: str,
    ocpp_version: str,
    id_tag: str | None,
    payer: Payer,
    stopped_at: datetime,
    meter_stop_wh: Decimal,
    reason: str | None,
    samples: Sequence[MeterSample],
    now: datetime,
) -> Session:
    """A stop for a transaction we never saw start: kept, QUARANTINED for review, never
    dropped (DESIGN §2); its start is the earliest sample, else the stop itself."""
    readings = registers_in_order(samples)
    started_at = min((s.timestamp for s in samples), default=stopped_at)
    return Session(
        station_id=station_id,
        evse_id=0,
        transaction_ref=transaction_ref,
        ocpp_version=ocpp_version,
        id_tag=id_tag,
        account_id=payer.account_id,
        payment_route=payer.route,
        started_at=min(started_at, stopped_at),
        meter_start_wh=readings[0][1] if readings else meter_stop_wh,
        stopped_at=stopped_at,
        meter_stop_wh=meter_stop_wh,
        stop_reason=reason,
        last_sample_at=stopped_at,
        status=SessionStatus.QUARANTINED,
        quarantine_reasons=(QuarantineReason.UNKNOWN_TRANSACTION,),
        created_at=now,
        updated_at=now,
    )


def identify(session: Session, id_tag: str, payer: Payer) -> Session:
    """The token of a session that started without one (2.0.1 E02, cable plugged in first):
    the driver is identified now, so the payment route is decided now."""
    if session.id_tag is not None:
        raise SessionTransitionError("the session's driver is identified already")
    return dataclasses.replace(
        session, id_tag=id_tag, account_id=payer.account_id, payment_route=payer.route
    )


def correct_start(
    session: Session, started_at: datetime, meter_start_wh: Decimal | None, evse_id: int | None
) -> Session:
    """A 2.0.1 Started event replayed after later ones fixes the start: the earlier time, the
    lower (or first non-zero) begin register, the EVSE when it was not known."""
    corrected = session
    if started_at < corrected.started_at:
        corrected = dataclasses.replace(corrected, started_at=started_at)
    if meter_start_wh is not None and (
        meter_start_wh < corrected.meter_start_wh or corrected.meter_start_wh == 0
    ):
        corrected = dataclasses.replace(corrected, meter_start_wh=meter_start_wh)
    if evse_id and corrected.evse_id == 0:
        corrected = dataclasses.replace(corrected, evse_id=evse_id)
    return corrected


def sample(session: Session, samples: Sequence[MeterSample], now: datetime) -> Session:
    """Meter values arrived (in any state): the latest sample time moves forward only."""
    latest = max((s.timestamp for s in samples), default=None)
    if latest is not None and (session.last_sample_at is None or latest > session.last_sample_at):
        session = dataclasses.replace(session, last_sample_at=latest)
    return dataclasses.replace(session, updated_at=now)


def stop(
    session: Session,
    *,
    stopped_at: datetime,
    meter_stop_wh: Decimal,
    reason: str | None,
    inferred: bool,
) -> Session:
    """Close a running session, or give a swept one its real stop (dropping
    ``no_stop_received``); to be judged next. ``inferred``: no stop reading came."""
    reasons = session.quarantine_reasons
    if not session.is_open:
        if session.stop_reason != NO_STOP_REASON:
            raise SessionTransitionError("the session is stopped already")
        reasons = tuple(r for r in reasons if r is not QuarantineReason.NO_STOP_RECEIVED)
    return dataclasses.replace(
        session,
        status=SessionStatus.COMPLETED,
        stopped_at=stopped_at,
        meter_stop_wh=meter_stop_wh,
        meter_stop_inferred=inferred,
        stop_reason=reason,
        quarantine_reasons=reasons,
    )


def close_unstopped(session: Session, samples: Sequence[MeterSample], now: datetime) -> Session:
    """Close a running session whose stop never came, from its last register reading, flagged
    ``no_stop_received`` (issue 3: the sweep; a new start on the same EVSE); to be judged."""
    if not session.is_open:
        raise SessionTransitionError("the session is stopped already")
    readings = registers_in_order(samples)
    last_at, last_wh = readings[-1] if readings else (session.started_at, session.meter_start_wh)
    return dataclasses.replace(
        session,
        stopped_at=max(session.last_sample_at or session.started_at, last_at),
        meter_stop_wh=last_wh,
        meter_stop_inferred=True,
        stop_reason=NO_STOP_REASON,
        status=SessionStatus.COMPLETED,
        quarantine_reasons=(*session.quarantine_reasons, QuarantineReason.NO_STOP_RECEIVED),
        updated_at=now,
    )


def restop(session: Session, samples: Sequence[MeterSample]) -> Session:
    """A stop reading taken from the samples is taken again now that more have arrived (a
    2.0.1 Ended without a meter value overtook offline Updated events); a swept session's stop
    moves to its last reading, any other keeps its stop time."""
    if session.is_open or session.stopped_at is None or not session.meter_stop_inferred:
        raise SessionTransitionError("only a stop taken from the samples is taken again")
    swept = session.stop_reason == NO_STOP_REASON
    kept = samples if swept else [s for s in samples if s.timestamp <= session.stopped_at]
    readings = registers_in_order(kept)
    if not readings:
        return session
    last_at, last_wh = readings[-1]
    stopped_at = max(session.stopped_at, last_at) if swept else session.stopped_at
    return dataclasses.replace(session, meter_stop_wh=last_wh, stopped_at=stopped_at)


def verdict(
    session: Session,
    *,
    changes: Sequence[StateChange],
    samples: Sequence[MeterSample],
    max_power_kw: Decimal,
    signed_values: Sequence[SignedMeterValue] = (),
) -> Verdict:
    """Charging/idle time and the meter data checks of a closed session, on the station's
    own readings (a correction is checked when it is released) and against the meter's
    signed energy (``signed_values``, issue 15: ``signed_energy_mismatch``)."""
    if session.stopped_at is None or session.meter_stop_wh is None:
        raise SessionTransitionError("only a stopped session is judged")
    charging, idle = charging_and_idle(session.started_at, session.stopped_at, changes)
    found = quality_issues(
        meter_start_wh=session.meter_start_wh,
        meter_stop_wh=session.meter_stop_wh,
        started_at=session.started_at,
        stopped_at=session.stopped_at,
        max_power_kw=max_power_kw,
        samples=samples,
        signed_values=signed_values,
    )
    return Verdict(int(charging.total_seconds()), int(idle.total_seconds()), found)


def judge(session: Session, found: Verdict) -> Session:
    """Apply the verdict to a closed session: quarantined while any reason stands (reasons
    only accumulate) and no operator released it, completed otherwise."""
    if session.is_open:
        raise SessionTransitionError("a running session is not judged")
    reasons = tuple(dict.fromkeys((*session.quarantine_reasons, *found.reasons)))
    held = bool(reasons) and session.resolution is None
    return dataclasses.replace(
        session,
        charging_seconds=found.charging_seconds,
        idle_seconds=found.idle_seconds,
        quarantine_reasons=reasons,
        status=SessionStatus.QUARANTINED if held else SessionStatus.COMPLETED,
    )


def release(
    session: Session,
    *,
    by: str,
    note: str,
    corrected_meter_start_wh: Decimal | None,
    corrected_meter_stop_wh: Decimal | None,
    now: datetime,
) -> Session:
    """An operator releases a quarantined session, as reported or corrected, saying why
    (the station's readings stay next to the correction as evidence, DESIGN §2)."""
    if session.status is not SessionStatus.QUARANTINED:
        raise SessionTransitionError(
            "only quarantined sessions can be released", code="not_quarantined"
        )
    if not note.strip():
        raise InvalidInputError(
            "say why the session is released", code="missing_field", field="note"
        )
    resolution = Resolution(
        by=by,
        at=now,
        note=required_text(note, "note", MAX_NOTE_LENGTH),  # free text: no card data
        corrected_meter_start_wh=corrected_meter_start_wh,
        corrected_meter_stop_wh=corrected_meter_stop_wh,
    )
    return dataclasses.replace(
        session, status=SessionStatus.COMPLETED, resolution=resolution, updated_at=now
    )


def assign_tariff(session: Session, tariff_id: uuid.UUID) -> Session:
    """A session that never got a tariff snapshot (a stop for a transaction never started)
    takes the one that applied at its start, as if it had started normally (DESIGN §2)."""
    if session.tariff_id is not None:
        raise SessionTransitionError("the session's tariff is frozen at its start")
    return dataclasses.replace(session, tariff_id=tariff_id)
