"""Charged sessions to re-price (issue 15), built through the real services (no OCPP): a DC
station priced by the flat tariff (0.49/kWh + 0.35 per session, 19 % VAT in Germany), two
corrected versions of it (0.39/kWh and 0.59/kWh), and a postpaid RFID customer whose sessions
are charged by the charging run and invoiced by the invoice run. The card case is
``refund_world``'s captured app-card session on a station priced alike.

An 80 kWh session costs 39.20 + 0.35 = 39.55 net, 7.51 VAT, 47.06 gross. Re-priced:

- stop reading 60 kWh instead of 80: 29.75 net, 5.65 VAT, 35.40 gross (−9.80 net, −11.66);
- at 0.39/kWh: 31.55 net, 5.99 VAT, 37.54 gross (−8.00 net, −9.52);
- at 0.59/kWh: 47.55 net, 9.03 VAT, 56.58 gross (+8.00 net, +9.52).
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from chargeledger.adapters.exports import DatevExporter
from chargeledger.adapters.exports.beancount import BeancountExporter
from chargeledger.adapters.exports.datev_charts import load_chart
from chargeledger.bootstrap import Runtime
from chargeledger.config.finance import DatevSettings
from chargeledger.domain.accounts import Account, BillingMode, TokenType
from chargeledger.domain.catalog import (
    Connector,
    ConnectorFormat,
    ConnectorStandard,
    Evse,
    PowerType,
    Site,
    Station,
)
from chargeledger.domain.charging import Measurand, MeterSample, Session
from chargeledger.domain.geo import Address
from chargeledger.domain.identity import Principal, Role
from chargeledger.domain.invoicing import Invoice
from chargeledger.domain.ledger import unbilled
from chargeledger.domain.repricing import Repricing
from chargeledger.domain.tariffs.assignment import TariffScope
from chargeledger.services import catalog, tariffs
from chargeledger.services.billing import charges, invoicing
from chargeledger.services.billing.books import checked_ledger, journal_for_export
from chargeledger.services.billing.repricing import RepriceRequest
from chargeledger.services.charging import session_capture as capture
from chargeledger.services.demo_tariffs import flat_with_session_fee
from chargeledger.services.payments.repricing import reprice_session
from chargeledger.services.payments.repricing_views import RepricingView
from chargeledger.services.payments.session_payments import settle_session
from chargeledger.services.payments.wallets import top_up
from tests.integration.billing_world import SELLER
from tests.integration.payment_world import add_customer, card_for
from tests.unit.exports.support import bean_check

TZ = "Europe/Berlin"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NO_SESSION = uuid.UUID(int=0)
FINANCE = Principal(subject="finance@example.org", role=Role.FINANCE)
D = Decimal


def corrected_tariff(energy_price: str) -> dict[str, Any]:
    """A corrected version of the flat tariff (same OCPI id, another energy price)."""
    document = copy.deepcopy(flat_with_session_fee(D(19)))
    document["elements"][0]["price_components"][0]["price"] = D(energy_price)
    return document


@dataclass
class RepricingWorld:
    runtime: Runtime
    station: Station
    account: Account  # postpaid, RFID
    flat: uuid.UUID  # the tariff the station's sessions start with
    cheaper: uuid.UUID  # 0.39/kWh
    dearer: uuid.UUID  # 0.59/kWh
    serial: int = 0
    last_session: uuid.UUID = NO_SESSION  # the session made last

    async def charged_session(
        self, stop_wh: int = 80_000, *, charge: bool = True, tag: str = "RFIDREPRICE"
    ) -> Session:
        """A session of one hour from 0 to ``stop_wh`` (a sample at half way), of the
        postpaid customer (or of the one of ``tag``), charged by the charging run unless
        ``charge`` is False."""
        self.serial += 1
        runtime, clock = self.runtime, self.runtime.clock
        started = T0 + timedelta(hours=2 * self.serial)
        start = capture.StartRequest(
            evse_id=1,
            connector_id=1,
            id_tag=tag,
            started_at=started,
            meter_start_wh=D(0),
        )
        async with runtime.uow() as uow:
            session = await capture.start_session(uow, clock, self.station, start)
            sample = MeterSample(
                started + timedelta(minutes=30),
                Measurand.ENERGY_IMPORT_REGISTER,
                D(stop_wh // 2),
                "Wh",
            )
            await capture.add_meter_values(uow, clock, session, [sample])
            await uow.commit()
        async with runtime.uow() as uow:
            current = await uow.sessions.get(session.id)
            assert current is not None
            await capture.stop_session(
                uow,
                clock,
                current,
                stopped_at=started + timedelta(hours=1),
                meter_stop_wh=D(stop_wh),
                reason="Local",
            )
            await uow.commit()
        if charge:
            await self.charge()
        async with runtime.uow() as uow:
            stopped = await uow.sessions.get(session.id)
        assert stopped is not None
        self.last_session = stopped.id
        return stopped

    async def wallet_session(self) -> tuple[Session, Account]:
        """An 80 kWh session of a prepaid customer whose wallet was topped up with 100.00,
        settled: its receipt issued, 47.06 debited from the wallet."""
        runtime = self.runtime
        prepaid = await add_customer(
            runtime, "Wallet Driver", "WALLETREPRICE", TokenType.RFID, BillingMode.PREPAID
        )
        card = await card_for(runtime, prepaid)
        await top_up(runtime.payments, prepaid, D("100.00"), card, uuid.uuid4())
        await runtime.quiesce()
        session = await self.charged_session(charge=False, tag="WALLETREPRICE")
        await settle_session(runtime.payments, session.id)
        await runtime.quiesce()
        return session, prepaid

    async def charge(self) -> None:
        runtime = self.runtime
        await charges.charge_completed_sessions(
            runtime.uow, runtime.clock, runtime.settings.vat_rates, TZ, SELLER
        )

    async def run_invoices(self, month: str = "2026-03") -> list[Invoice]:
        runtime = self.runtime
        result = await invoicing.run_invoices(runtime.uow, runtime.clock, SELLER, TZ, month)
        return [i for i in result.issued if i.account_id == self.account.id]

    async def unbilled(self) -> Decimal:
        return await ledger_balance(self.runtime, unbilled(self.account.id))


async def repricing_world(runtime: Runtime) -> RepricingWorld:
    runtime.payments.seller = SELLER
    runtime.payments.time_zone = TZ
    clock = runtime.clock
    async with runtime.uow() as uow:
        site = await catalog.create_site(
            uow,
            clock,
            Site(
                name="Repricing depot",
                address=Address("Ring 2", "10115", "Berlin", "DE"),
                latitude=D("52.5"),
                longitude=D("13.4"),
                time_zone=TZ,
            ),
        )
        fields = {
            "site_id": site.id,
            "charge_point_id": f"RP-{uuid.uuid4().hex[:8]}",
            "vendor": "Test",
            "model": "T1",
            "security_profile": 3,
        }
        station = await catalog.create_station(uow, clock, runtime.station_secrets, fields, None)
        plug = Connector(
            1, ConnectorStandard.IEC_62196_T2_COMBO, ConnectorFormat.CABLE, PowerType.DC, D(150)
        )
        await catalog.create_evse(uow, clock, Evse(station.id, 1, (plug,)))
        flat = await tariffs.import_tariff(uow, clock, flat_with_session_fee(D(19)))
        await tariffs.assign_tariff(
            uow, clock, flat.id, TariffScope.STATION, str(station.id), runtime.settings.vat_rates
        )
        await uow.commit()
    cheaper, dearer = await import_corrections(runtime)
    account = await add_customer(
        runtime, "Postpaid Driver", "RFIDREPRICE", TokenType.RFID, BillingMode.POSTPAID
    )
    return RepricingWorld(runtime, station, account, flat.id, cheaper, dearer)


async def import_corrections(runtime: Runtime) -> tuple[uuid.UUID, uuid.UUID]:
    """The two corrected versions of the flat tariff: 0.39/kWh and 0.59/kWh."""
    async with runtime.uow() as uow:
        cheaper = await tariffs.import_tariff(uow, runtime.clock, corrected_tariff("0.39"))
        dearer = await tariffs.import_tariff(uow, runtime.clock, corrected_tariff("0.59"))
        await uow.commit()
    return cheaper.id, dearer.id


async def reprice(
    runtime: Runtime,
    session_id: uuid.UUID,
    reason: str = "meter display photo",
    *,
    tariff_id: uuid.UUID | None = None,
    start: int | None = None,
    stop: int | None = None,
    key: str | None = None,
) -> RepricingView:
    request = RepriceRequest(
        reason=reason,
        tariff_id=tariff_id,
        meter_start_wh=None if start is None else D(start),
        meter_stop_wh=None if stop is None else D(stop),
        request_key=key,
    )
    return await reprice_session(runtime.payments, FINANCE, session_id, request)


async def repricings_of(runtime: Runtime, session_id: uuid.UUID) -> list[Repricing]:
    async with runtime.uow() as uow:
        return await uow.repricings.of_session(session_id)


async def ledger_balance(runtime: Runtime, account: str) -> Decimal:
    async with runtime.uow() as uow:
        found = await uow.ledger.balances(account)
    return sum((b.balance for b in found if b.account == account), D("0.00"))


async def assert_books_clean(runtime: Runtime, tmp_path: Path) -> None:
    """``ledger check`` finds nothing; the whole journal exported to Beancount passes
    ``bean-check``; DATEV's export, which needs the VAT rate of every revenue amount, finds it
    for every correction and balances."""
    async with runtime.uow() as uow:
        check = await checked_ledger(uow)
        entries, sources = await journal_for_export(uow, None, None, with_sources=True)
    assert check.problems == [], check.problems
    path = tmp_path / "books.beancount"
    path.write_text(BeancountExporter().export(entries, start=None, end=None, title="repricing"))
    checked = bean_check(path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    settings = DatevSettings(load_chart("SKR03"), 29098, 55003, (1, 1))
    datev = DatevExporter(settings, runtime.clock.now, TZ)
    datev.export(entries, start=None, end=None, title="repricing", sources=sources)
