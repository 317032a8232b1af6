"""The physical side of the catalog: sites, stations, EVSEs and connectors.

Vocabulary follows OCPI 2.2.1 §8 (Locations: Location → EVSE → Connector) and OCPP 2.0.1
(Charging Station → EVSE → Connector); a site is an OCPI Location.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from chargeledger.domain.geo import Address, coordinate, time_zone
from chargeledger.domain.ids import new_id
from chargeledger.domain.text import (
    optional_identifier,
    optional_text,
    required_identifier,
    required_text,
)
from chargeledger.errors import InvalidInputError


class OcppVersion(StrEnum):
    V16 = "1.6"
    V201 = "2.0.1"


class ConnectorStandard(StrEnum):
    """OCPI 2.2.1 §8.4.4 ConnectorType, the values charging operators meet in practice."""

    CHADEMO = "CHADEMO"
    CHAOJI = "CHAOJI"
    DOMESTIC_F = "DOMESTIC_F"
    GBT_AC = "GBT_AC"
    GBT_DC = "GBT_DC"
    IEC_60309_2_THREE_16 = "IEC_60309_2_three_16"
    IEC_60309_2_THREE_32 = "IEC_60309_2_three_32"
    IEC_62196_T1 = "IEC_62196_T1"
    IEC_62196_T1_COMBO = "IEC_62196_T1_COMBO"
    IEC_62196_T2 = "IEC_62196_T2"
    IEC_62196_T2_COMBO = "IEC_62196_T2_COMBO"
    IEC_62196_T3A = "IEC_62196_T3A"
    IEC_62196_T3C = "IEC_62196_T3C"
    MCS = "MCS"
    NEMA_5_20 = "NEMA_5_20"
    SAE_J3400 = "SAE_J3400"
    TESLA_S = "TESLA_S"


class ConnectorFormat(StrEnum):
    """OCPI 2.2.1 §8.4.5: a socket the driver plugs a cable into, or a tethered cable."""

    SOCKET = "SOCKET"
    CABLE = "CABLE"


class PowerType(StrEnum):
    """OCPI 2.2.1 §8.4.10."""

    AC_1_PHASE = "AC_1_PHASE"
    AC_2_PHASE = "AC_2_PHASE"
    AC_3_PHASE = "AC_3_PHASE"
    DC = "DC"


# OCPP 2.0.1 Part 2 §A00 (identity): unreserved URL characters, no ':' (it separates the Basic
# auth user from the password), at most 48 characters (identifierString of BootNotification).
_CHARGE_POINT_ID = re.compile(r"[A-Za-z0-9._~*\-]{1,48}")
MAX_CONNECTOR_POWER_KW = Decimal("3750")  # MCS tops out at 3.75 MW
# OCPP numbers EVSEs and an EVSE's connectors from 1 (2.0.1 part 2 §2.23 EVSEType); a bound
# far above any station keeps them inside the stored 32-bit columns.
MAX_EVSE_ID = 9999
MAX_CONNECTOR_ID = 99


def charge_point_id(value: str) -> str:
    if not isinstance(value, str) or not _CHARGE_POINT_ID.fullmatch(value):
        raise InvalidInputError(
            "charge point id must be 1-48 characters of A-Z a-z 0-9 . _ ~ * -",
            code="invalid_charge_point_id",
            field="charge_point_id",
        )
    return value


@dataclass(frozen=True, slots=True)
class Site:
    """A place with chargers (an OCPI Location); its time zone localises prices and periods."""

    name: str
    address: Address
    latitude: Decimal
    longitude: Decimal
    time_zone: str
    operator_name: str | None = None
    id: uuid.UUID = field(default_factory=new_id)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", required_text(self.name, "name"))
        object.__setattr__(self, "latitude", coordinate(self.latitude, 90, "latitude"))
        object.__setattr__(self, "longitude", coordinate(self.longitude, 180, "longitude"))
        object.__setattr__(self, "time_zone", time_zone(self.time_zone))
        object.__setattr__(
            self, "operator_name", optional_text(self.operator_name, "operator_name")
        )


@dataclass(frozen=True, slots=True)
class Station:
    """A charging station as it identifies itself over OCPP.

    The Basic-auth password (security profiles 1 and 2) is kept only as a hash; the OCMF public
    key verifies the station's signed meter values in disputes.
    """

    site_id: uuid.UUID
    charge_point_id: str
    vendor: str
    model: str
    ocpp_version: OcppVersion = OcppVersion.V201
    security_profile: int = 1
    serial_number: str | None = None
    password_hash: str | None = None
    meter_serial: str | None = None
    ocmf_public_key: str | None = None
    id: uuid.UUID = field(default_factory=new_id)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "charge_point_id", charge_point_id(self.charge_point_id))
        object.__setattr__(self, "vendor", required_identifier(self.vendor, "vendor", 50))
        object.__setattr__(self, "model", required_identifier(self.model, "model", 50))
        object.__setattr__(self, "ocpp_version", OcppVersion(self.ocpp_version))
        object.__setattr__(
            self, "serial_number", optional_identifier(self.serial_number, "serial_number", 50)
        )
        object.__setattr__(
            self, "meter_serial", optional_identifier(self.meter_serial, "meter_serial", 50)
        )
        object.__setattr__(
            self,
            "ocmf_public_key",
            optional_identifier(self.ocmf_public_key, "ocmf_public_key", 4000),
        )
        if isinstance(self.security_profile, bool) or self.security_profile not in (1, 2, 3):
            raise InvalidInputError(
                "security profile must be 1, 2 or 3",
                code="invalid_security_profile",
                field="security_profile",
            )
        if self.security_profile in (1, 2) and not self.password_hash:
            raise InvalidInputError(
                "security profiles 1 and 2 need a Basic-auth password",
                code="missing_station_password",
                field="password",
            )


def station_password(value: str) -> str:
    """OCPP 2.0.1 Part 2 §A00.FR.509: passwordString of 16-40 characters."""
    if not isinstance(value, str) or not 16 <= len(value) <= 40:
        raise InvalidInputError(
            "station password must be 16 to 40 characters (OCPP security profile 1/2)",
            code="invalid_station_password",
            field="password",
        )
    return value


@dataclass(frozen=True, slots=True)
class Connector:
    """One plug of an EVSE; its max power bounds plausible energy (meter data checks)."""

    connector_id: int
    standard: ConnectorStandard
    format: ConnectorFormat
    power_type: PowerType
    max_power_kw: Decimal

    def __post_init__(self) -> None:
        if not isinstance(self.connector_id, int) or not 1 <= self.connector_id <= MAX_CONNECTOR_ID:
            raise InvalidInputError(
                f"connector id must be a whole number from 1 to {MAX_CONNECTOR_ID}",
                code="invalid_connector_id",
                field="connector_id",
            )
        object.__setattr__(self, "standard", ConnectorStandard(self.standard))
        object.__setattr__(self, "format", ConnectorFormat(self.format))
        object.__setattr__(self, "power_type", PowerType(self.power_type))
        power = self.max_power_kw
        # The range first: quantizing 1E+30 to watts raises instead of answering.
        valid = isinstance(power, Decimal) and power.is_finite()
        if valid and 0 < power <= MAX_CONNECTOR_POWER_KW:
            power = power.quantize(Decimal("0.001"))  # watts: the precision we store
        if not valid or not 0 < power <= MAX_CONNECTOR_POWER_KW:
            raise InvalidInputError(
                f"max power must be above 0 and at most {MAX_CONNECTOR_POWER_KW} kW",
                code="invalid_max_power",
                field="max_power_kw",
            )
        object.__setattr__(self, "max_power_kw", power)


@dataclass(frozen=True, slots=True)
class Evse:
    """An EVSE of a station (OCPP 2.0.1 evseId; in OCPP 1.6 the connectorId)."""

    station_id: uuid.UUID
    evse_id: int
    connectors: tuple[Connector, ...]
    evse_uid: str | None = None
    id: uuid.UUID = field(default_factory=new_id)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.evse_id, int) or not 1 <= self.evse_id <= MAX_EVSE_ID:
            raise InvalidInputError(
                f"evse id must be a whole number from 1 to {MAX_EVSE_ID}",
                code="invalid_evse_id",
                field="evse_id",
            )
        object.__setattr__(self, "evse_uid", optional_identifier(self.evse_uid, "evse_uid", 48))
        connectors = tuple(self.connectors)
        if not connectors:
            raise InvalidInputError(
                "an EVSE needs at least one connector",
                code="missing_connectors",
                field="connectors",
            )
        ids = [c.connector_id for c in connectors]
        if len(set(ids)) != len(ids):
            raise InvalidInputError(
                "connector ids must be unique within an EVSE",
                code="duplicate_connector_id",
                field="connectors",
            )
        object.__setattr__(
            self, "connectors", tuple(sorted(connectors, key=lambda c: c.connector_id))
        )

    @property
    def max_power_kw(self) -> Decimal:
        """Only one connector of an EVSE charges at a time, so the EVSE's limit is the max."""
        return max(c.max_power_kw for c in self.connectors)
