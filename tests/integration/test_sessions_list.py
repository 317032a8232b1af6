"""The sessions list (issue 17): keyset paging by ``cursor`` next to the older ``offset``, and
every filter read along an index in the list's order. The plans are asked of both databases;
on PostgreSQL with sequential scans, bitmap scans and sorts switched off, which the planner
then takes only when nothing else can answer: so a small table gives the answer a large one
would, and the test is about which index can serve each query in order, not about the
planner's costs on a few hundred rows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import text

from chargeledger.adapters.db.repositories.session_search import search_query
from chargeledger.bootstrap import Runtime
from chargeledger.domain.charging import Session, SessionStatus
from chargeledger.domain.identity import Scope
from chargeledger.domain.payment_routes import PaymentRoute
from chargeledger.domain.station_link import SessionCursor, SessionFilter
from chargeledger.services import identity
from tests.integration.test_repositories import new_account, new_site, new_station

API = "/api/v1/sessions"
T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


async def seed(runtime: Runtime, count: int) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """``count`` sessions on two stations and two accounts; every third pair of sessions
    starts at the same second, so the id has to break the tie."""
    site = new_site()
    stations = [new_station(site.id, f"CP-{n}") for n in range(2)]
    accounts = [new_account(f"Fleet {n}") for n in range(2)]
    async with runtime.uow() as uow:
        await uow.sites.add(site)
        for station in stations:
            await uow.stations.add(station)
        for account in accounts:
            await uow.accounts.add(account)
        for n in range(count):
            started = T0 + timedelta(minutes=10 * (n - n % 3 // 2))
            await uow.sessions.add(
                Session(
                    station_id=stations[n % 2].id,
                    evse_id=1,
                    transaction_ref=str(n + 1),
                    ocpp_version="1.6",
                    started_at=started,
                    meter_start_wh=Decimal(0),
                    account_id=accounts[n // 2 % 2].id,
                    status=SessionStatus.COMPLETED if n % 5 else SessionStatus.ACTIVE,
                    created_at=T0,
                    updated_at=T0,
                    payment_route=PaymentRoute.INVOICE,
                )
            )
        await uow.commit()
    return [s.id for s in stations], [a.id for a in accounts]


async def api_key(runtime: Runtime) -> dict[str, str]:
    async with runtime.uow() as uow:
        _, secret = await identity.create_api_key(
            uow, runtime.clock, name="reader", scopes=[Scope.SESSIONS_READ]
        )
        await uow.commit()
    return {"X-API-Key": secret}


async def every_page(client: httpx.AsyncClient, headers: dict[str, str], query: str) -> list[str]:
    ids: list[str] = []
    url = f"{API}?limit=7&{query}"
    while True:
        response = await client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        ids += [item["id"] for item in page["items"]]
        if page["next_cursor"] is None:
            return ids
        assert len(page["items"]) == 7
        url = f"{API}?limit=7&{query}&cursor={page['next_cursor']}"


async def test_cursor_pages_hold_every_session_once_in_offset_order(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    stations, _ = await seed(runtime, 40)
    headers = await api_key(runtime)

    by_cursor = await every_page(client, headers, "")
    whole = (await client.get(f"{API}?limit=100", headers=headers)).json()
    assert whole["next_cursor"] is None
    assert whole["next_offset"] is None
    assert by_cursor == [item["id"] for item in whole["items"]]
    assert len(set(by_cursor)) == 40
    started = [(item["started_at"], item["id"]) for item in whole["items"]]
    assert started == sorted(started, reverse=True)

    # Offset paging still works, and its first page hands out both ways on.
    first = (await client.get(f"{API}?limit=7", headers=headers)).json()
    assert first["next_offset"] == 7
    assert first["next_cursor"]
    second = (await client.get(f"{API}?limit=7&offset=7", headers=headers)).json()
    assert [i["id"] for i in second["items"]] == by_cursor[7:14]
    by_next = await client.get(f"{API}?limit=7&cursor={first['next_cursor']}", headers=headers)
    assert by_next.json()["items"] == second["items"]
    assert by_next.json()["next_offset"] is None  # a cursor page does not know its position

    # Filters page the same way.
    on_station = await every_page(client, headers, f"station_id={stations[0]}")
    assert len(on_station) == 20
    assert on_station == [i for i in by_cursor if i in set(on_station)]


async def test_a_bad_cursor_is_a_clear_error(runtime: Runtime, client: httpx.AsyncClient) -> None:
    headers = await api_key(runtime)
    for cursor in ("not-a-cursor", "bm9uc2Vuc2U", "MjAyNi0xMS0wMlQwODowMDowMHxub3QtYS11dWlk"):
        response = await client.get(f"{API}?cursor={cursor}", headers=headers)
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "invalid_cursor"
    both = await client.get(f"{API}?cursor=x&offset=5", headers=headers)
    assert both.status_code == 422
    assert both.json()["error"]["code"] == "cursor_with_offset"


def filters(
    stations: list[uuid.UUID], accounts: list[uuid.UUID]
) -> list[tuple[str, SessionFilter]]:
    """Each filter of the list with the index that serves it. (Filters combined are served by
    one of these, whichever the planner finds the more selective.)"""
    since, until = T0 + timedelta(hours=1), T0 + timedelta(hours=3)
    return [
        ("ix_sessions_started_at_id", SessionFilter()),
        ("ix_sessions_station_id_started_at_id", SessionFilter(station_id=stations[0])),
        ("ix_sessions_account_id_started_at_id", SessionFilter(account_id=accounts[1])),
        ("ix_sessions_status_started_at_id", SessionFilter(status=SessionStatus.ACTIVE)),
        # A time range alone reads the start-time index from the range's end.
        ("ix_sessions_started_at_id", SessionFilter(started_from=since, started_before=until)),
    ]


@pytest.mark.parametrize("paged", [False, True], ids=["first page", "after a cursor"])
async def test_each_filter_reads_its_index_in_order(runtime: Runtime, paged: bool) -> None:
    stations, accounts = await seed(runtime, 300)
    after = SessionCursor(T0 + timedelta(hours=2), uuid.UUID(int=2**127)) if paged else None
    postgres = runtime.database_backend == "postgresql"
    if postgres:
        async with runtime.uow() as uow:
            connection = await uow._connection.open()  # type: ignore[attr-defined]
            await connection.execute(text("ANALYZE sessions"))
            await uow.commit()
    async with runtime.uow(read_only=True) as uow:
        connection = await uow._connection.open()  # type: ignore[attr-defined]
        if postgres:
            for plan_kind in ("seqscan", "bitmapscan", "sort"):
                await connection.execute(text(f"SET LOCAL enable_{plan_kind} = off"))
        for index, criteria in filters(stations, accounts):
            query = search_query(criteria, after).limit(11)
            compiled = query.compile(dialect=connection.dialect)
            names = compiled.positiontup or []
            params = tuple(compiled.params[name] for name in names)
            if not postgres:  # SQLite's driver takes the bound values its own way
                params = tuple(
                    value.astimezone(UTC).isoformat(" ")
                    if isinstance(value, datetime)
                    else value.hex
                    if isinstance(value, uuid.UUID)
                    else value
                    for value in params
                )
            verb = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
            rows = await connection.exec_driver_sql(verb + str(compiled), params)
            plan = "\n".join(str(row[-1]) for row in rows)
            assert index in plan, plan
            assert "Seq Scan" not in plan, plan
            assert "Sort" not in plan, plan
            assert "TEMP B-TREE" not in plan, plan  # SQLite's sort


async def test_a_search_reads_its_own_units_transaction(runtime: Runtime) -> None:
    """A read-only unit of work reads the list in one statement of its own (outside any
    transaction, ``adapters/db/statement_reads.py``); a write unit of work reads it inside its
    transaction, so it sees what it has written and not yet committed."""
    stations, _ = await seed(runtime, 3)
    on_station = SessionFilter(station_id=stations[0])
    async with runtime.uow() as uow:
        added = Session(
            station_id=stations[0],
            evse_id=1,
            transaction_ref="added",
            ocpp_version="1.6",
            started_at=T0 + timedelta(days=1),
            meter_start_wh=Decimal(0),
            status=SessionStatus.COMPLETED,  # the station's EVSE 1 has an active one
            created_at=T0,
            updated_at=T0,
            payment_route=PaymentRoute.INVOICE,
        )
        await uow.sessions.add(added)
        page = await uow.sessions.search(on_station, limit=10)
        assert page.items[0].id == added.id
        async with runtime.uow(read_only=True) as reader:
            unseen = await reader.sessions.search(on_station, limit=10)
            assert added.id not in {s.id for s in unseen.items}
            assert len(unseen.items) == 2
        await uow.commit()
    async with runtime.uow(read_only=True) as reader:
        seen = await reader.sessions.search(on_station, limit=1)
        assert [s.id for s in seen.items] == [added.id]
        assert seen.next_offset == 1
