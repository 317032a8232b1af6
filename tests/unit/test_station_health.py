"""A station's and its EVSEs' state in one word (issue 16: the office's stations list and the
overview's availability chart), from the link and the connectors' last StatusNotifications."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from chargeledger.domain.catalog import (
    Connector,
    ConnectorFormat,
    ConnectorStandard,
    Evse,
    PowerType,
    Station,
)
from chargeledger.domain.station_link import ConnectorState
from chargeledger.office.charts import Point, bar_chart
from chargeledger.services.charging.station_health import (
    EvseState,
    Health,
    StationHealth,
    count_availability,
    evse_health,
    health_of,
)
from chargeledger.services.charging.station_status import StationStatus

AT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
STATION = Station(
    site_id=uuid.uuid4(), charge_point_id="CP-1", vendor="V", model="M", password_hash="h"
)


def plug(connector_id: int) -> Connector:
    return Connector(
        connector_id,
        ConnectorStandard.IEC_62196_T2,
        ConnectorFormat.SOCKET,
        PowerType.AC_3_PHASE,
        Decimal(22),
    )


EVSE = Evse(station_id=STATION.id, evse_id=1, connectors=(plug(1), plug(2)))


def status(live: bool, *reported: tuple[int, int, str]) -> StationStatus:
    connectors = [ConnectorState(STATION.id, e, c, s, AT) for e, c, s in reported]
    return StationStatus(STATION, None, connectors, live)


@pytest.mark.parametrize(
    ("live", "reported", "health", "evse"),
    [
        (False, [(1, 1, "Charging")], Health.OFFLINE, EvseState.OFFLINE),
        (True, [], Health.ONLINE, EvseState.UNKNOWN),
        (True, [(1, 1, "Available"), (1, 2, "Charging")], Health.ONLINE, EvseState.CHARGING),
        (True, [(1, 1, "Faulted"), (1, 2, "Available")], Health.FAULTED, EvseState.AVAILABLE),
        (True, [(1, 1, "Faulted"), (1, 2, "Unavailable")], Health.FAULTED, EvseState.FAULTED),
        (True, [(1, 1, "Reserved")], Health.ONLINE, EvseState.RESERVED),
        (
            True,
            [(1, 1, "Unavailable"), (1, 2, "Unavailable")],
            Health.ONLINE,
            EvseState.INOPERATIVE,
        ),
        # 1.6 connector 0 speaks for the whole station (OCPP 1.6 §4.9)
        (True, [(0, 0, "Faulted"), (1, 1, "Available")], Health.FAULTED, EvseState.FAULTED),
        (True, [(0, 0, "Unavailable"), (1, 1, "Charging")], Health.ONLINE, EvseState.INOPERATIVE),
    ],
)
def test_one_word_for_a_station_and_for_an_evse(
    live: bool, reported: list[tuple[int, int, str]], health: Health, evse: EvseState
) -> None:
    now = status(live, *reported)
    assert health_of(now) is health
    assert evse_health(now, EVSE).state is evse


def test_counts_cover_every_word() -> None:
    online = status(True, (1, 1, "Charging"))
    offline = status(False)
    network = [
        StationHealth(online, health_of(online), [evse_health(online, EVSE)]),
        StationHealth(offline, health_of(offline), [evse_health(offline, EVSE)] * 2),
    ]
    counts = count_availability(network)
    assert counts.stations == {Health.ONLINE: 1, Health.OFFLINE: 1, Health.FAULTED: 0}
    assert counts.evses[EvseState.CHARGING] == 1
    assert counts.evses[EvseState.OFFLINE] == 2
    assert sum(counts.evses.values()) == 3


def test_a_bar_may_link_to_what_it_counts() -> None:
    html = bar_chart("c", "Stations now", "stations", [Point("a&b", Decimal(2), "/x?a=1&b=2")])
    assert '<a href="/x?a=1&amp;b=2" aria-label="a&amp;b: 2 stations"><rect class="bar"' in html
    assert '<th scope="row">a&amp;b</th>' in html  # the table stays plain
