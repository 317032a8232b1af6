"""From completed sessions to charges booked in the ledger (DESIGN §2: price → charge → book).

Each completed session is priced once under the tariff it started with, becomes a
:class:`~chargeledger.domain.billing.Charge` and is booked as accrued revenue in the same
transaction; a replay finds the charge and does nothing (the charge is unique per session).
Ad hoc payers get a receipt at once when the operator's details are configured.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from chargeledger.domain.accounts import Account
from chargeledger.domain.billing import Charge, VatRates
from chargeledger.domain.charging import Session
from chargeledger.domain.invoicing import Invoice, Party
from chargeledger.domain.ledger import JournalEntry
from chargeledger.domain.postings import charge_accrual
from chargeledger.errors import ChargeledgerError, DuplicateError
from chargeledger.services.billing.allowances import draw_allowance
from chargeledger.services.billing.batch_pricing import price_in_batch
from chargeledger.services.billing.charging_ports import TariffVersions
from chargeledger.services.billing.invoicing import issue_receipts
from chargeledger.services.charging.session_pricing import SessionPrice
from chargeledger.services.ports import Clock, UnitOfWork, UnitOfWorkFactory
from chargeledger.services.roaming.notices import announce_partner_cdrs

log = logging.getLogger(__name__)
# Sessions per transaction: each batch is read in a few set queries and written in a few
# bulk statements (issue 17); a bigger batch holds SQLite's write lock longer.
BATCH = 500
PAGES = 20  # batches per page of session ids read


@dataclass(slots=True)
class ChargingResult:
    charged: list[Charge] = field(default_factory=list)
    receipts: list[Invoice] = field(default_factory=list)
    unpriced: dict[uuid.UUID, str] = field(default_factory=dict)  # session → error code
    total: int = 0  # sessions charged, kept or not
    # False: ``charged`` stays empty and ``total`` counts, so a month's charging does not
    # grow with its sessions (issue 17; the CLI, the API and the office report counts only).
    charges_kept: bool = True

    def add(self, done: ChargingResult) -> None:
        self.total += done.total
        if self.charges_kept:
            self.charged += done.charged
        self.receipts += done.receipts
        self.unpriced.update(done.unpriced)


def build_charge(priced: SessionPrice, account: Account | None) -> Charge:
    """The billable record of a priced, closed session: the figures ``/cost`` showed
    (components and VAT of :class:`~chargeledger.domain.billing.Billed`), never recomputed."""
    session, result, billed = priced.session, priced.result, priced.billed
    assert session.stopped_at is not None
    return Charge(
        session_id=session.id,
        account_id=None if account is None else account.id,
        ad_hoc=account is None,
        site_id=priced.site_id,
        site_name=priced.site_name,
        station_id=session.station_id,
        station_name=priced.station_name,
        evse_id=session.evse_id,
        country=priced.country,
        time_zone=priced.time_zone,
        currency=billed.currency,
        started_at=session.started_at,
        stopped_at=session.stopped_at,
        energy_kwh=result.total_energy,
        charging_hours=result.total_time - result.total_parking_time,
        idle_hours=result.total_parking_time,
        components=billed.components,
        vat=billed.vat,
        tariff_id=session.tariff_id,
    )


def local_date(moment: datetime, time_zone: str) -> date:
    return moment.astimezone(ZoneInfo(time_zone)).date()


async def charge_completed_sessions(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    rates: VatRates,
    operator_time_zone: str,
    seller: Party | None = None,
    batch: int = BATCH,
    charges_kept: bool = True,
) -> ChargingResult:
    """Charge every completed session without a charge, ``batch`` sessions per transaction
    (``charges_kept=False``: count them, see ``ChargingResult``).

    A session that cannot be priced (no tariff) is reported, not charged, and not retried in
    this run; it stays visible to ``chargeledger ledger check``. A session charged meanwhile by
    someone else (its stop hook, another node's run) is skipped, not an error.
    """
    outcome = ChargingResult(charges_kept=charges_kept)
    tariffs = TariffVersions()
    page, after = batch * PAGES, None
    while True:
        # A page of ids at a time (keyset): a month of sessions is never held at once.
        async with uow_factory() as uow:
            pending = await uow.billing.sessions_to_charge(limit=page, after=after)
        for start in range(0, len(pending), batch):
            chunk = pending[start : start + batch]
            done = await _charge_chunk(
                uow_factory, clock, chunk, rates, operator_time_zone, seller, tariffs
            )
            outcome.add(done)
        if len(pending) < page:
            return outcome
        after = pending[-1]


async def _charge_chunk(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    chunk: Sequence[uuid.UUID],
    rates: VatRates,
    operator_time_zone: str,
    seller: Party | None,
    tariffs: TariffVersions,
) -> ChargingResult:
    """One transaction; once more when a session of it was charged by someone else between
    our check and our insert (the charge is unique per session: nothing of the attempt was
    kept). Each retry finds one more session charged, so it ends."""
    tries = len(chunk) + 1
    while True:
        attempt = ChargingResult()
        try:
            async with uow_factory() as uow:
                await charge_sessions(
                    uow, clock, chunk, rates, operator_time_zone, seller, attempt, tariffs
                )
                await uow.commit()
            return attempt
        except DuplicateError:
            tries -= 1
            if not tries:
                raise
            log.info("sessions charged meanwhile; charging the rest", extra={"batch": len(chunk)})


async def charge_sessions(
    uow: UnitOfWork,
    clock: Clock,
    session_ids: Sequence[uuid.UUID],
    rates: VatRates,
    operator_time_zone: str,
    seller: Party | None,
    outcome: ChargingResult,
    tariffs: TariffVersions | None = None,
) -> None:
    """Charge and book these sessions in the caller's transaction (not committed); those
    paid at the session (card, app, wallet) get their receipt at once. ``tariffs`` keeps the
    tariff versions read across the batches of one run."""
    batch = await _charge_batch(uow, session_ids, rates, outcome, tariffs or TariffVersions())
    entries: list[JournalEntry] = []
    for index, (charge, at_session, account, session) in enumerate(batch):
        booked_on = local_date(charge.stopped_at, operator_time_zone)
        charge, drawn = await draw_allowance(uow, session, charge, booked_on)
        batch[index] = (charge, at_session, account, session)
        entry = charge_accrual(charge, booked_on)
        entries += [e for e in (entry, drawn) if e is not None]
    charges = [charge for charge, _, _, _ in batch]
    now = clock.now()
    await uow.billing.add_charges(charges, now)
    await uow.ledger.add(entries, now)
    await announce_partner_cdrs(uow, clock, charges)  # roaming partners' CDRs (issue 18)
    paid = [charge for charge, at_session, _, _ in batch if at_session]
    buyers = {a.id: a for _, _, a, _ in batch if a is not None}
    if seller is not None and paid:
        outcome.receipts += await issue_receipts(
            uow, clock, paid, seller, operator_time_zone, buyers
        )
    outcome.charged += charges
    outcome.total += len(charges)


async def _charge_batch(
    uow: UnitOfWork,
    session_ids: Sequence[uuid.UUID],
    rates: VatRates,
    outcome: ChargingResult,
    tariffs: TariffVersions,
) -> list[tuple[Charge, bool, Account | None, Session]]:
    """Each new charge, whether it is paid at the session, its account and its session.

    The batch is read in a few set queries (issue 17: sessions, charges, samples, state
    changes, reservations, tariffs, stations, sites, accounts) rather than ~8 reads per
    session; a session the batch cannot price as it stands is priced on its own
    (``batch_pricing``)."""
    wanted = list(dict.fromkeys(session_ids))
    batch = await uow.billing.captured_batch(wanted, tariffs.known)
    tariffs.known.update(batch.tariffs)
    charges = []
    for session_id in wanted:
        session = batch.sessions.get(session_id)
        if session is None or session_id in batch.charged:
            continue
        try:
            priced = await price_in_batch(uow, session, batch, rates)
        except ChargeledgerError as exc:
            outcome.unpriced[session_id] = exc.code
            log.warning("session not priced", extra={"session": str(session_id), "code": exc.code})
            continue
        account = None if session.account_id is None else batch.accounts.get(session.account_id)
        charge = build_charge(priced, account)
        charges.append((charge, session.payment_route.paid_at_session, account, session))
    return charges
