"""The one rule for who commits (issue 12 item 1; DESIGN §3): a function handed a unit of
work never commits; only the code that opened it does (as the handlers of *Architecture
Patterns with Python*, ch. 6).

``OpenerCommits`` wraps a real unit of work (storage is not faked) and refuses a commit from
any frame but the one that opened it, so a service that commits its caller's transaction
fails here however deep the commit hides (``learn`` -> ``credit_refund`` ->
``issue_credit_note`` once did). The services run the way the entry points run them: through
``in_transaction``, which opens the unit of work and commits it.
"""

from __future__ import annotations

import dataclasses
import sys
import uuid
from datetime import timedelta
from decimal import Decimal
from types import FrameType, TracebackType
from typing import Any, Self, cast

import pytest

from chargeledger.bootstrap import Runtime
from chargeledger.domain.accounts import Token, TokenStatus, TokenType
from chargeledger.domain.catalog import (
    Connector,
    ConnectorFormat,
    ConnectorStandard,
    Evse,
    PowerType,
    Site,
)
from chargeledger.domain.geo import Address
from chargeledger.domain.identity import Role, Scope
from chargeledger.domain.invoicing import DocumentStatus
from chargeledger.domain.tariffs.assignment import TariffScope
from chargeledger.services import catalog, customers, identity, tariffs
from chargeledger.services.billing import bank_decisions as decisions
from chargeledger.services.billing import bank_reconciliation as bank
from chargeledger.services.billing import invoice_documents, invoicing
from chargeledger.services.charging import station_status
from chargeledger.services.demo_tariffs import flat_with_session_fee
from chargeledger.services.idempotency_keys import claim_key, forget_key, forget_old_keys
from chargeledger.services.payments.ports import IdempotencyRecord
from chargeledger.services.ports import UnitOfWork, UnitOfWorkFactory
from chargeledger.services.transactions import in_transaction
from tests.conftest import TEST_PASSWORD
from tests.integration.billing_world import (
    OPERATOR_TZ,
    SELLER,
    ChargeSpec,
    book_charges,
    create_customer,
    new_world,
    utc,
)
from tests.integration.ocpp_server import seed_network
from tests.integration.test_bank_reconciliation import first_statement, world_with_invoices


class CommitFromInsideError(AssertionError):
    pass


class OpenerCommits:
    """A real unit of work whose ``commit`` must come from the frame that opened it."""

    def __init__(self, inner: UnitOfWork) -> None:
        self._inner = inner
        self._opener: FrameType | None = None
        self.commits = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def __aenter__(self) -> Self:
        self._opener = sys._getframe(1)  # the coroutine running ``async with``
        await self._inner.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._inner.__aexit__(exc_type, exc, tb)

    async def commit(self) -> None:
        caller = sys._getframe(1)
        if caller is not self._opener:
            opener = self._opener.f_code.co_qualname if self._opener else "nobody"
            raise CommitFromInsideError(
                f"{caller.f_code.co_qualname} committed a unit of work {opener} opened"
            )
        self.commits += 1
        await self._inner.commit()

    async def rollback(self) -> None:
        await self._inner.rollback()


def guarded(runtime: Runtime) -> UnitOfWorkFactory:
    return lambda: cast(UnitOfWork, OpenerCommits(runtime.uow()))


async def test_the_guard_refuses_a_commit_from_inside_a_service(runtime: Runtime) -> None:
    async def commits_its_callers_transaction(uow: UnitOfWork) -> None:
        await uow.commit()

    with pytest.raises(CommitFromInsideError, match="commits_its_callers_transaction"):
        await in_transaction(guarded(runtime), commits_its_callers_transaction)


async def test_customer_and_identity_use_cases_leave_the_commit_to_their_caller(
    runtime: Runtime,
) -> None:
    uows, clock, hasher = guarded(runtime), runtime.clock, runtime.hasher
    admin = identity.principal_for_user(
        await in_transaction(
            uows,
            identity.create_user,
            clock,
            hasher,
            email="admin@example.org",
            password=TEST_PASSWORD,
            role=Role.ADMIN,
        )
    )
    network = await seed_network(runtime)
    account = next(iter(network.tokens.values())).account_id
    token = await in_transaction(
        uows,
        customers.create_token,
        clock,
        Token(uid="RULE0001", type=TokenType.RFID, account_id=account),
    )
    await in_transaction(
        uows,
        customers.update_token,
        clock,
        admin,
        token.id,
        {"status": TokenStatus.BLOCKED},
    )
    await in_transaction(uows, customers.delete_token, admin, token.id)
    await in_transaction(
        uows, customers.update_account, clock, runtime.vat_ids, admin, account, {"name": "Renamed"}
    )
    user = await in_transaction(
        uows,
        identity.create_user,
        clock,
        hasher,
        email="finance@example.org",
        password=TEST_PASSWORD,
        role=Role.FINANCE,
    )
    await in_transaction(uows, identity.update_user, clock, hasher, user.id, {"active": False})
    key, _ = await in_transaction(
        uows, identity.create_api_key, clock, name="rule", scopes=[Scope.CATALOG_READ]
    )
    assert (await in_transaction(uows, identity.revoke_api_key, clock, key.id)).revoked_at
    async with runtime.uow() as uow:
        assert (await uow.accounts.get(account)).name == "Renamed"  # type: ignore[union-attr]
        assert not (await identity.find_user(uow, "finance@example.org")).active


async def test_station_link_and_idempotency_records_leave_the_commit_to_their_caller(
    runtime: Runtime,
) -> None:
    uows, clock = guarded(runtime), runtime.clock
    station = next(iter((await seed_network(runtime)).stations.values()))
    await in_transaction(uows, station_status.record_connected, clock, station, "1.6", "c1")
    await in_transaction(uows, station_status.record_boot, clock, station, "1.6", None)
    await in_transaction(uows, station_status.record_heartbeat, clock, station)
    assert await in_transaction(uows, station_status.record_disconnected, clock, station, "c1")
    await in_transaction(uows, station_status.forget_stored_replies, clock, timedelta(hours=1))
    record = IdempotencyRecord("rule", str(uuid.uuid4()), "hash", clock.now())
    assert await in_transaction(uows, claim_key, record) is None
    await in_transaction(uows, forget_key, record.scope, record.key)
    await in_transaction(uows, forget_old_keys, clock)
    async with runtime.uow() as uow:
        state = await uow.station_links.state(station.id)
    assert state is not None
    assert not state.connected


async def test_issuing_and_crediting_leave_the_commit_to_their_caller(runtime: Runtime) -> None:
    world = await new_world(runtime, utc("2026-02-02T08:00"))
    account = await create_customer(runtime, world.clock, "Rule GmbH")
    spec = ChargeSpec(world.de, account, utc("2026-01-15T10:00"), {"Energy": "10.00"})
    await book_charges(runtime, world.clock, {"c": spec})
    run = await invoicing.run_invoices(
        runtime.uow, world.clock, SELLER, OPERATOR_TZ, "2026-01", issue=False
    )
    [draft] = run.drafts
    uows, on = guarded(runtime), world.clock.now().date()
    issued = await in_transaction(
        uows, invoice_documents.issue_draft, world.clock, draft.id, OPERATOR_TZ, on
    )
    assert issued.invoice.status is DocumentStatus.ISSUED
    note = await in_transaction(
        uows,
        invoice_documents.credit_by_reference,
        world.clock,
        issued.invoice.number or "",
        "goodwill",
        OPERATOR_TZ,
    )
    assert note.original_id == draft.id


async def test_catalog_and_tariff_use_cases_leave_the_commit_to_their_caller(
    runtime: Runtime,
) -> None:
    uows, clock = guarded(runtime), runtime.clock
    site = await in_transaction(
        uows,
        catalog.create_site,
        clock,
        Site(
            name="Rule depot",
            address=Address("Ring 2", "10115", "Berlin", "DE"),
            latitude=Decimal("52.5"),
            longitude=Decimal("13.4"),
            time_zone="Europe/Berlin",
        ),
    )
    await in_transaction(uows, catalog.update_site, clock, site.id, {"name": "Rule yard"})
    fields = {"site_id": site.id, "charge_point_id": "RULE-1", "vendor": "R", "model": "M1"}
    station = await in_transaction(
        uows,
        catalog.create_station,
        clock,
        runtime.station_secrets,
        fields,
        "rule-station-password",
    )
    await in_transaction(
        uows, catalog.update_station, clock, runtime.station_secrets, station.id, {"model": "M2"}
    )
    plug = Connector(
        1, ConnectorStandard.IEC_62196_T2, ConnectorFormat.SOCKET, PowerType.AC_3_PHASE, Decimal(22)
    )
    evse = await in_transaction(uows, catalog.create_evse, clock, Evse(station.id, 1, (plug,)))
    await in_transaction(uows, catalog.update_evse, clock, evse.id, {"evse_uid": "DE*RUL*E1"})
    tariff = await in_transaction(
        uows, tariffs.import_tariff, clock, flat_with_session_fee(Decimal(19))
    )
    await in_transaction(
        uows,
        tariffs.assign_tariff,
        clock,
        tariff.id,
        TariffScope.STATION,
        str(station.id),
        runtime.settings.vat_rates,
    )
    async with runtime.uow() as uow:
        assert (await catalog.get_site(uow, site.id)).name == "Rule yard"
        assert (await catalog.get_station(uow, station.id)).model == "M2"
        assert (await catalog.get_evse(uow, evse.id)).evse_uid == "DE*RUL*E1"
        assert (await tariffs.get_tariff(uow, tariff.id)).id == tariff.id
    other = await in_transaction(
        uows, catalog.create_site, clock, dataclasses.replace(site, id=uuid.uuid4(), name="Spare")
    )
    await in_transaction(uows, catalog.delete_evse, evse.id)
    await in_transaction(uows, catalog.delete_site, other.id)
    async with runtime.uow() as uow:
        assert [s.name for s in (await catalog.list_sites(uow)).items] == ["Rule yard"]
        assert (await catalog.list_evses(uow, station_id=station.id)).items == []


async def test_bank_decisions_leave_the_commit_to_their_caller(runtime: Runtime) -> None:
    world, invoices = await world_with_invoices(runtime)
    await bank.import_statements(
        runtime.uow,
        runtime.locks,
        world.clock,
        OPERATOR_TZ,
        [first_statement(invoices)],
        filename=None,
        imported_by="finance@example.org",
    )
    async with runtime.uow() as uow:
        queue = {
            e.entry.entry_ref: e for e in (await decisions.list_entries(uow, None, 100, 0)).items
        }
    uows, clock = guarded(runtime), world.clock
    await in_transaction(
        uows,
        decisions.match_entry,
        clock,
        OPERATOR_TZ,
        queue["e3"].id,
        invoices["carla"].number or "",
        "clerk@example.org",
    )
    eve = invoices["eve"].account_id
    assert eve is not None
    await in_transaction(
        uows, decisions.credit_entry, clock, OPERATOR_TZ, queue["e5"].id, eve, "clerk@example.org"
    )
    async with runtime.uow() as uow:
        states = {
            e.entry.entry_ref: e.state.value
            for e in (await decisions.list_entries(uow, None, 100, 0)).items
        }
    assert (states["e3"], states["e5"]) == ("matched", "credited")
