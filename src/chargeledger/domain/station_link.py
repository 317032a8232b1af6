"""What we know about a station's link: connection state, connector status, the messages it
sent (for exactly-once answers), signed meter data, and the commands an operator can send."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from chargeledger.domain.charging import ReadingContext, SessionStatus


@dataclass(frozen=True, slots=True)
class StationState:
    station_id: uuid.UUID
    connected: bool
    updated_at: datetime
    ocpp_version: str | None = None
    firmware_version: str | None = None
    last_seen_at: datetime | None = None
    last_heartbeat_at: datetime | None = None
    last_boot_at: datetime | None = None
    clock_offset_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class ConnectorState:
    """The last StatusNotification of a connector (1.6 ChargePointStatus, 2.0.1
    ConnectorStatusEnumType), at the station's own timestamp."""

    station_id: uuid.UUID
    evse_id: int
    connector_id: int
    status: str
    status_at: datetime
    error_code: str | None = None


@dataclass(frozen=True, slots=True)
class StoredReply:
    """The answer we gave to one CALL, kept so that a duplicate gets the very same answer."""

    action: str
    request_hash: str
    response: str


@dataclass(frozen=True, slots=True)
class LoggedCall:
    """A CALL a station sent, as the message log keeps it: when it came (our clock), its
    message id and action, the SHA-256 of its payload (the payload itself is not kept) and
    the answer we gave. A dispute's evidence shows the station's exchange around a session
    from these (issue 15: the OCPP message log of the transaction)."""

    received_at: datetime
    boot_epoch: int
    message_id: str
    action: str
    request_hash: str
    response: str


@dataclass(frozen=True, slots=True)
class TransactionEvent:
    """An OCPP 2.0.1 TransactionEventRequest, identified within its transaction by seqNo
    (Part 2 §E: seqNo lets the CSMS detect duplicates and missing events)."""

    seq_no: int
    event_type: str
    timestamp: datetime
    trigger_reason: str
    offline: bool = False


@dataclass(frozen=True, slots=True)
class SignedMeterValue:
    """Signed meter data (OCMF or another format) exactly as the station sent it: the
    evidence for disputes, bound to the session and never altered."""

    timestamp: datetime
    context: ReadingContext
    format: str
    data: str
    signing_method: str | None = None
    encoding_method: str | None = None
    public_key: str | None = None

    @property
    def data_hash(self) -> str:
        return hashlib.sha256(self.data.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SessionFilter:
    station_id: uuid.UUID | None = None
    account_id: uuid.UUID | None = None
    status: SessionStatus | None = None
    started_from: datetime | None = None
    started_before: datetime | None = None
    id_tag: str | None = None


@dataclass(frozen=True, slots=True)
class SessionCursor:
    """The last session of a page of a sessions list (newest first, the id breaking ties):
    the next page holds the sessions after it in that order (keyset paging, issue 17), which
    costs the same on the thousandth page as on the first and skips or repeats nothing when
    sessions start meanwhile."""

    started_at: datetime
    id: uuid.UUID


class CommandKind(StrEnum):
    REMOTE_START = "remote_start"
    REMOTE_STOP = "remote_stop"
    RESERVE_NOW = "reserve_now"
    CANCEL_RESERVATION = "cancel_reservation"
    CHANGE_AVAILABILITY = "change_availability"
    TRIGGER_MESSAGE = "trigger_message"
    RESET = "reset"
    UNLOCK_CONNECTOR = "unlock_connector"  # 1.6 §5.18, 2.0.1 F05 (OCPI's UNLOCK_CONNECTOR)


class ResetType(StrEnum):
    """How a station restarts (OCPP 1.6 §5.14 Reset: Soft stops transactions and restarts the
    software, Hard may cut power too). OCPP 2.0.1 §B11/B12 says it by timing instead: a
    hard reset is ``Immediate``, a soft one ``OnIdle`` (after the running transactions end)."""

    SOFT = "soft"
    HARD = "hard"


@dataclass(frozen=True, slots=True)
class StationCommand:
    """An operator-initiated request to a station, independent of the OCPP version."""

    kind: CommandKind
    evse_id: int | None = None
    id_tag: str | None = None
    transaction_ref: str | None = None
    reservation_id: int | None = None
    expires_at: datetime | None = None
    operative: bool | None = None
    message: str | None = None
    reset_type: ResetType | None = None
    connector_id: int | None = None  # which connector of the EVSE (unlocking)


@dataclass(frozen=True, slots=True)
class CommandResult:
    """The station's answer: its status word (Accepted, Rejected, ...) and any detail."""

    status: str
    detail: str | None = None
