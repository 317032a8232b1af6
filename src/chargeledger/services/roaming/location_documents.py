"""Our published locations as OCPI 2.2.1 Location, EVSE and Connector objects (§8.3): what
partners pull (``api/ocpi/modules.py``) and are pushed (``pushes``).

Lengths are the spec's (an address of 45 characters, a postal code of 10, a name of 255);
text longer than a field is cut to it. The country is ISO 3166-1 alpha-3 (§8.3.1), ours is
kept as alpha-2. Coordinates are text with 6 decimals (§8.4.13: 5 to 7).

Stations do not tell us their voltage and current, only the connector's power: the nominal
``max_voltage`` is 230 V per phase for AC (the EU low-voltage supply) and 1000 V for DC (the
CCS ceiling), and ``max_amperage`` is what carries the connector's power at that voltage
(rounded up). ``max_electric_power`` is the connector's own power in W.
"""

from __future__ import annotations

import uuid
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any

from chargeledger.countries import alpha_3
from chargeledger.domain import ocpi_cdrs
from chargeledger.domain.catalog import Connector, Evse, PowerType
from chargeledger.domain.exact_json import utc_text
from chargeledger.domain.ocpi_cdrs import OcpiParty
from chargeledger.services.locations import LocatedConnector, LocatedEvse
from chargeledger.services.roaming.handshake import OurParty
from chargeledger.services.roaming.publication import PublishedLocation, evse_status

_PHASES = {PowerType.AC_1_PHASE: 1, PowerType.AC_2_PHASE: 2, PowerType.AC_3_PHASE: 3}
AC_VOLTS = 230
DC_VOLTS = 1000
_COORDINATE = Decimal("0.000001")


def evse_uid(evse: Evse) -> str:
    """§8.3.2 uid, CiString(36): the one rule (``domain.ocpi_cdrs.evse_uid``) that also names
    the EVSE in a CDR's ``cdr_location`` (§10.4.4)."""
    return ocpi_cdrs.evse_uid(evse)


def location_json(published: PublishedLocation, ours: OurParty | OcpiParty) -> dict[str, Any]:
    site = published.site
    address = site.address
    doc: dict[str, Any] = {
        "country_code": ours.country_code,
        "party_id": ours.party_id,
        "id": str(site.id),
        "publish": True,
        "name": site.name[:255],
        "address": address.street[:45],
        "city": address.city[:45],
        "postal_code": address.postal_code[:10],
        "country": alpha_3(address.country),
        "coordinates": {
            "latitude": str(site.latitude.quantize(_COORDINATE, ROUND_HALF_UP)),
            "longitude": str(site.longitude.quantize(_COORDINATE, ROUND_HALF_UP)),
        },
        "evses": [
            evse_json(evse, published) for station in published.stations for evse in station.evses
        ],
        "time_zone": site.time_zone,
        "last_updated": utc_text(published.last_updated),
    }
    if site.operator_name:
        doc["operator"] = {"name": site.operator_name[:100]}
    return doc


def evse_json(located: LocatedEvse, published: PublishedLocation) -> dict[str, Any]:
    evse = located.evse
    connectors = [connector_json(plug, evse, published) for plug in located.connectors]
    moments = [evse.updated_at, evse.created_at, published.site.created_at]
    moments += [plug.status_at for plug in located.connectors]
    return {
        "uid": evse_uid(evse),
        "status": evse_status([plug.availability for plug in located.connectors]).value,
        "connectors": connectors,
        "last_updated": utc_text(max(m for m in moments if m is not None)),
    }


def connector_json(
    plug: LocatedConnector, evse: Evse, published: PublishedLocation
) -> dict[str, Any]:
    connector = plug.connector
    volts, amperes = _nominal(connector)
    doc: dict[str, Any] = {
        "id": str(connector.connector_id),
        "standard": connector.standard.value,
        "format": connector.format.value,
        "power_type": connector.power_type.value,
        "max_voltage": volts,
        "max_amperage": amperes,
        "max_electric_power": int((connector.max_power_kw * 1000).to_integral_value(ROUND_HALF_UP)),
    }
    if plug.price is not None and plug.price.tariff_id in published.tariff_ids:
        doc["tariff_ids"] = [published.tariff_ids[plug.price.tariff_id]]
    moments = [plug.status_at, evse.updated_at, evse.created_at, published.site.created_at]
    doc["last_updated"] = utc_text(max(m for m in moments if m is not None))
    return doc


def _nominal(connector: Connector) -> tuple[int, int]:
    watts = connector.max_power_kw * 1000
    if connector.power_type is PowerType.DC:
        volts, lines = DC_VOLTS, 1
    else:
        volts, lines = AC_VOLTS, _PHASES[connector.power_type]
    amperes = (watts / (volts * lines)).to_integral_value(ROUND_CEILING)
    return volts, max(1, int(amperes))


def find_evse(published: PublishedLocation, uid: str) -> LocatedEvse | None:
    for station in published.stations:
        for evse in station.evses:
            if evse_uid(evse.evse) == uid:
                return evse
    return None


def site_id_of(location_id: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(location_id)
    except ValueError:
        return None
