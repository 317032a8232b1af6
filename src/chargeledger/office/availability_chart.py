"""The overview's station availability (issue 16: "charts ... station availability"): how many
stations are online, offline or faulted now and how many EVSEs are available, charging,
faulted, offline, ... as two bar charts, each bar linking to the stations list filtered on what
it counts (``/office/stations?status=…`` or ``?evse=…``), with the same links as a list for
keyboards and screen readers.

The counts are ``station_health.availability_now``: the very rows the stations list shows, so
a bar's number is the number of stations its link lists (an EVSE bar counts EVSEs, its link
lists their stations).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from markupsafe import Markup

from chargeledger.bootstrap import Runtime
from chargeledger.office.charts import Point, bar_chart
from chargeledger.office.stations_pages import LIST
from chargeledger.services.charging.station_health import AvailabilityCounts, availability_now
from chargeledger.services.transactions import reading


@dataclass(frozen=True, slots=True)
class AvailabilityCharts:
    charts: list[Markup]
    links: list[tuple[str, str, int]]  # (label, link, count) of every bar, in order


def charts_of(counts: AvailabilityCounts) -> AvailabilityCharts:
    stations = [
        Point(health.value, Decimal(n), f"{LIST}?status={health.value}")
        for health, n in counts.stations.items()
    ]
    evses = [
        Point(state.value, Decimal(n), f"{LIST}?evse={state.value}")
        for state, n in counts.evses.items()
    ]
    return AvailabilityCharts(
        charts=[
            Markup(bar_chart("chart-station-availability", "Stations now", "stations", stations)),
            Markup(bar_chart("chart-evse-availability", "EVSEs now", "EVSEs", evses)),
        ],
        links=[(f"Stations {p.label}", p.link or LIST, int(p.value)) for p in stations]
        + [(f"EVSEs {p.label}", p.link or LIST, int(p.value)) for p in evses],
    )


async def availability_charts(rt: Runtime) -> AvailabilityCharts:
    return charts_of(await reading(rt.uow, availability_now, rt.bus.is_connected))
