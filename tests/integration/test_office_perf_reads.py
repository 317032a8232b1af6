"""The bulk reads behind the office's fast pages (issue 16: pages under 200 ms on the demo
database) give what the per-item reads gave, on SQLite and PostgreSQL: every station's status
in two reads (``station_statuses``) is each station's ``station_status``; ledger balances as
of a day are the postings of entries booked before it, whether or not entries were booked
later (the sum without a join is taken only when none was).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from chargeledger.bootstrap import Runtime
from chargeledger.domain.catalog import Site
from chargeledger.domain.geo import Address
from chargeledger.domain.ledger import EntryKind, JournalEntry, Posting
from chargeledger.domain.station_link import ConnectorState, StationState
from chargeledger.money import Money
from chargeledger.services import catalog
from chargeledger.services.charging.station_status import station_status, station_statuses

DAY = date(2026, 3, 10)


async def test_every_stations_status_at_once_is_each_ones(runtime: Runtime) -> None:
    now = runtime.clock.now()
    async with runtime.uow() as uow:
        site = await catalog.create_site(
            uow,
            runtime.clock,
            Site(
                "Hub",
                Address("Am Hafen 1", "20457", "Hamburg", "DE"),
                Decimal(53),
                Decimal(10),
                "Europe/Berlin",
            ),
        )
        stations = []
        for n in range(3):
            station = await catalog.create_station(
                uow,
                runtime.clock,
                runtime.station_secrets,
                {"site_id": site.id, "charge_point_id": f"CP-{n}", "vendor": "V", "model": "M"},
                "station password",
            )
            stations.append(station)
        # CP-0: state and two connectors; CP-1: state only; CP-2: nothing reported yet
        for station in stations[:2]:
            await uow.station_links.save_state(StationState(station.id, True, now))
        for evse_id, status in ((2, "Charging"), (1, "Available"), (0, "Faulted")):
            await uow.station_links.save_connector(
                ConnectorState(stations[0].id, evse_id, 1, status, now)
            )
        await uow.commit()

    def connected(charge_point_id: str) -> bool:
        return charge_point_id != "CP-1"

    async with runtime.uow() as uow:
        together = await station_statuses(uow, stations, connected)
        one_by_one = [
            await station_status(uow, s.id, connected(s.charge_point_id)) for s in stations
        ]
    assert together == one_by_one
    assert [c.evse_id for c in together[0].connectors] == [0, 1, 2]
    assert together[1].state is not None
    assert together[1].connectors == []
    assert not together[1].live
    assert together[2].state is None
    assert together[2].live


def entry(n: int, booked_on: date, amount: str) -> JournalEntry:
    return JournalEntry(
        kind=EntryKind.ADJUSTMENT,
        booked_on=booked_on,
        description=f"adjustment {n}",
        postings=(
            Posting("Assets:Bank", Money.of(amount, "EUR")),
            Posting(f"Equity:Opening:{n}", Money.of(f"-{amount}", "EUR")),
        ),
        source_type="test",
        source_id=str(n),
    )


async def test_balances_as_of_a_day_count_only_what_was_booked_before_it(
    runtime: Runtime,
) -> None:
    async with runtime.uow() as uow:
        await uow.ledger.add(
            [entry(1, DAY, "1.00"), entry(2, DAY + timedelta(days=5), "2.50")],
            runtime.clock.now(),
        )
        await uow.commit()

    async def balances(until: date | None) -> dict[str, Decimal]:
        async with runtime.uow() as uow:
            return {b.account: b.balance for b in await uow.ledger.balances(until=until)}

    # entries booked later than the day: the second entry's accounts are left out
    assert await balances(DAY + timedelta(days=1)) == {
        "Assets:Bank": Decimal("1.00"),
        "Equity:Opening:1": Decimal("-1.00"),
    }
    everything = {
        "Assets:Bank": Decimal("3.50"),
        "Equity:Opening:1": Decimal("-1.00"),
        "Equity:Opening:2": Decimal("-2.50"),
    }
    assert await balances(DAY + timedelta(days=6)) == everything  # none later: no join
    assert await balances(None) == everything
    assert await balances(DAY) == {}
