"""Table definitions (SQLAlchemy Core) on the shared ``metadata.py``; ``schema.py`` gathers every
table module. Alembic migrations must match them; a test checks.

Every constraint is named so that unique-key violations map to stable error codes on both
back ends (see ``integrity.py``).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    cast,
)

from chargeledger.adapters.db.metadata import metadata
from chargeledger.adapters.db.types import ExactDecimal, UtcDateTime


def _timestamps() -> list[Column[object]]:
    return [
        Column("created_at", UtcDateTime, nullable=False),
        Column("updated_at", UtcDateTime, nullable=False),
    ]


sites = Table(
    "sites",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("operator_name", String(200)),
    Column("street", String(200), nullable=False),
    Column("postal_code", String(200), nullable=False),
    Column("city", String(200), nullable=False),
    Column("country", String(2), nullable=False),
    Column("latitude", ExactDecimal(9, 6), nullable=False),
    Column("longitude", ExactDecimal(9, 6), nullable=False),
    Column("time_zone", String(64), nullable=False),
    *_timestamps(),
)
# The bounding-box prefilter of "locate" (issue 16, ``repositories/locations.py``). On the
# coordinates as floats: SQLite keeps ExactDecimal as text, which does not sort as numbers;
# the same expression indexes both back ends, and the query filters on exactly it.
SITE_LATITUDE = cast(sites.c.latitude, Float)
SITE_LONGITUDE = cast(sites.c.longitude, Float)
Index("ix_sites_position", SITE_LATITUDE, SITE_LONGITUDE)

stations = Table(
    "stations",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column(
        "site_id", Uuid, ForeignKey("sites.id", ondelete="RESTRICT"), nullable=False, index=True
    ),
    Column("charge_point_id", String(48), nullable=False),
    Column("vendor", String(50), nullable=False),
    Column("model", String(50), nullable=False),
    Column("serial_number", String(50)),
    Column("ocpp_version", String(8), nullable=False),
    Column("security_profile", Integer, nullable=False),
    Column("password_hash", String(255)),
    Column("meter_serial", String(50)),
    Column("ocmf_public_key", Text),
    *_timestamps(),
    UniqueConstraint("charge_point_id"),
    CheckConstraint("security_profile BETWEEN 1 AND 3", name="security_profile"),
)

evses = Table(
    "evses",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("station_id", Uuid, ForeignKey("stations.id", ondelete="RESTRICT"), nullable=False),
    Column("evse_id", Integer, nullable=False),
    Column("evse_uid", String(48)),
    *_timestamps(),
    UniqueConstraint("station_id", "evse_id"),
    UniqueConstraint("evse_uid"),
)

connectors = Table(
    "connectors",
    metadata,
    Column("evse_pk", Uuid, ForeignKey("evses.id", ondelete="CASCADE"), primary_key=True),
    Column("connector_id", Integer, primary_key=True),
    Column("standard", String(32), nullable=False),
    Column("format", String(8), nullable=False),
    Column("power_type", String(16), nullable=False),
    Column("max_power_kw", ExactDecimal(10, 3), nullable=False),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("name", String(200), nullable=False),
    Column("email", String(254), nullable=False),
    Column("reference", String(64)),
    Column("street", String(200), nullable=False),
    Column("postal_code", String(200), nullable=False),
    Column("city", String(200), nullable=False),
    Column("country", String(2), nullable=False),
    Column("vat_id", String(32)),
    Column("currency", String(3), nullable=False),
    Column("payment_terms_days", Integer, nullable=False),
    Column("billing_mode", String(16), nullable=False),
    Column("billing_cycle", String(16), nullable=False, server_default="monthly"),
    *_timestamps(),
    UniqueConstraint("reference"),
    Index("ix_accounts_name", "name"),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("uid", String(36), nullable=False),
    Column("type", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column(
        "account_id",
        Uuid,
        ForeignKey("accounts.id", ondelete="RESTRICT"),
        nullable=False,
        index=True,
    ),
    Column("expires_at", UtcDateTime),
    Column("label", String(100)),
    *_timestamps(),
    Column("contract_id", String(36)),  # a roaming partner's token (issue 18)
    Column("issuer_check", String(16)),
    UniqueConstraint("uid"),
)

users = Table(
    "users",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("email", String(254), nullable=False),
    Column("name", String(200)),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("account_id", Uuid, ForeignKey("accounts.id", ondelete="RESTRICT"), index=True),
    Column("active", Boolean, nullable=False),
    *_timestamps(),
    UniqueConstraint("email"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
    UniqueConstraint("prefix"),
)

# Stable error codes for unique keys, by constraint name (see integrity.py).
DUPLICATE_CODES: dict[str, tuple[str, str]] = {
    "uq_stations_charge_point_id": ("duplicate_charge_point_id", "charge_point_id"),
    "uq_evses_station_id_evse_id": ("duplicate_evse_id", "evse_id"),
    "uq_evses_evse_uid": ("duplicate_evse_uid", "evse_uid"),
    "uq_accounts_reference": ("duplicate_account_reference", "reference"),
    "uq_tokens_uid": ("duplicate_token_uid", "uid"),
    "uq_users_email": ("duplicate_email", "email"),
    "uq_api_keys_prefix": ("duplicate_api_key", "prefix"),
}


# --- charging: station links, sessions and their meter data (issue 3) ---------------------

_BIG_ID = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements INTEGER only

station_states = Table(
    "station_states",
    metadata,
    Column("station_id", Uuid, ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True),
    Column("connected", Boolean, nullable=False),
    Column("ocpp_version", String(8)),
    Column("firmware_version", String(50)),
    Column("last_seen_at", UtcDateTime),
    Column("last_heartbeat_at", UtcDateTime),
    Column("last_boot_at", UtcDateTime),
    Column("clock_offset_seconds", Integer),
    Column("updated_at", UtcDateTime, nullable=False),
    # Which boot of the station its stored OCPP answers belong to (one more per boot).
    Column("boot_epoch", Integer, nullable=False, server_default="0"),
    # The connection that last connected; only that one may mark the station disconnected.
    Column("connection_id", String(36)),
)

connector_states = Table(
    "connector_states",
    metadata,
    Column("station_id", Uuid, ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True),
    Column("evse_id", Integer, primary_key=True),
    Column("connector_id", Integer, primary_key=True),
    Column("status", String(24), nullable=False),
    Column("error_code", String(50)),
    Column("status_at", UtcDateTime, nullable=False),
)

transaction_numbers = Table(
    "transaction_numbers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("station_id", Uuid, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("station_id", Uuid, ForeignKey("stations.id", ondelete="RESTRICT"), nullable=False),
    Column("evse_id", Integer, nullable=False),
    Column("connector_id", Integer, nullable=False),
    Column("transaction_ref", String(64), nullable=False),
    Column("ocpp_version", String(8), nullable=False),
    Column("id_tag", String(64)),
    Column("account_id", Uuid, ForeignKey("accounts.id", ondelete="RESTRICT")),
    Column("status", String(16), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("stopped_at", UtcDateTime),
    Column("meter_start_wh", ExactDecimal(15, 3), nullable=False),
    Column("meter_stop_wh", ExactDecimal(15, 3)),
    Column("meter_stop_inferred", Boolean, nullable=False),
    Column("stop_reason", String(32)),
    Column("last_sample_at", UtcDateTime),
    Column("charging_seconds", Integer),
    Column("idle_seconds", Integer),
    Column("quarantine_reasons", JSON, nullable=False),
    Column("resolved_by", String(100)),
    Column("resolved_at", UtcDateTime),
    Column("resolution_note", Text),
    Column("corrected_meter_start_wh", ExactDecimal(15, 3)),
    Column("corrected_meter_stop_wh", ExactDecimal(15, 3)),
    # The tariff version the session started under (issue 4); versions are never deleted.
    Column("tariff_id", Uuid, ForeignKey("tariffs.id", ondelete="RESTRICT")),
    # How the session pays, decided when its driver was identified (issue 12 item 2).
    Column("payment_route", String(16), nullable=False),
    # The contract version whose terms price it, frozen at its start (issue 14). Versions are
    # never deleted; no foreign key, so that SQLite adds the column in place (a copy-and-move
    # of this table would cascade into its meter samples).
    Column("contract_version_id", Uuid),
    # Raised by every update (issue 17): the OCPP edge keeps open sessions in memory and
    # updates them only while the stored row is the version it holds.
    Column("version", Integer, nullable=False, server_default="0"),
    *_timestamps(),
    UniqueConstraint("station_id", "transaction_ref"),
    # The sessions list (issue 17): each filter's equality column, then the list's order
    # (newest first, the id breaking ties), so a page and the next page's cursor are read
    # from the index in order, with no sort, whatever the table's size.
    Index("ix_sessions_started_at_id", "started_at", "id"),
    Index("ix_sessions_status_started_at_id", "status", "started_at", "id"),
    Index("ix_sessions_account_id_started_at_id", "account_id", "started_at", "id"),
    Index("ix_sessions_station_id_started_at_id", "station_id", "started_at", "id"),
)

meter_samples = Table(
    "meter_samples",
    metadata,
    Column("id", _BIG_ID, primary_key=True, autoincrement=True),
    Column("session_id", Uuid, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    Column("timestamp", UtcDateTime, nullable=False),
    Column("measurand", String(40), nullable=False),
    Column("value", ExactDecimal(20, 4), nullable=False),
    Column("unit", String(16), nullable=False),
    Column("context", String(24), nullable=False),
    Column("phase", String(8), nullable=False),
    Column("location", String(16), nullable=False),
    UniqueConstraint("session_id", "timestamp", "measurand", "phase", "context", "location"),
)

session_state_changes = Table(
    "session_state_changes",
    metadata,
    Column("session_id", Uuid, ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True),
    Column("timestamp", UtcDateTime, primary_key=True),
    Column("state", String(16), primary_key=True),
)

transaction_events = Table(
    "transaction_events",
    metadata,
    Column("session_id", Uuid, ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True),
    Column("seq_no", Integer, primary_key=True),
    Column("event_type", String(16), nullable=False),
    Column("timestamp", UtcDateTime, nullable=False),
    Column("trigger_reason", String(32), nullable=False),
    Column("offline", Boolean, nullable=False),
)

signed_meter_values = Table(
    "signed_meter_values",
    metadata,
    Column("id", _BIG_ID, primary_key=True, autoincrement=True),
    Column("session_id", Uuid, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    Column("timestamp", UtcDateTime, nullable=False),
    Column("context", String(24), nullable=False),
    Column("format", String(16), nullable=False),
    Column("signing_method", String(50)),
    Column("encoding_method", String(50)),
    Column("public_key", Text),
    Column("data", Text, nullable=False),
    Column("data_hash", String(64), nullable=False),
    UniqueConstraint("session_id", "data_hash"),
)

ocpp_messages = Table(
    "ocpp_messages",
    metadata,
    Column("charge_point_id", String(48), primary_key=True),
    Column("boot_epoch", Integer, primary_key=True),
    Column("message_id", String(36), primary_key=True),
    Column("action", String(40), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("response", Text, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Index("ix_ocpp_messages_received_at", "received_at"),
)

ocpp_rejected_frames = Table(
    "ocpp_rejected_frames",
    metadata,
    Column("id", _BIG_ID, primary_key=True, autoincrement=True),
    Column("charge_point_id", String(48), nullable=False, index=True),
    Column("received_at", UtcDateTime, nullable=False),
    Column("frame", Text, nullable=False),
    Column("error_code", String(40), nullable=False),
    Column("error_description", Text, nullable=False),
)


# --- tariffs (issue 4) ----------------------------------------------------------------------

tariffs = Table(
    "tariffs",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("ocpi_id", String(36), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("valid_from", UtcDateTime),
    Column("valid_until", UtcDateTime),
    Column("document", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # No unique key but the id: every import is a new version (a correction of a published
    # tariff is a new version too; sessions keep the one they started under).
    Index("ix_tariffs_ocpi_id", "ocpi_id"),
)

# Which tariff applies where: the most specific scope wins (connector > station > site >
# operator default), unless an account or contract override applies (issue 4).
tariff_assignments = Table(
    "tariff_assignments",
    metadata,
    Column("scope", String(16), primary_key=True),
    Column("scope_id", String(64), primary_key=True),
    Column("tariff_id", Uuid, ForeignKey("tariffs.id", ondelete="RESTRICT"), nullable=False),
    Column("assigned_at", UtcDateTime, nullable=False),
)
