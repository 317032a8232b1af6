"""Re-pricing a charged session, in one transaction (issue 15; what the difference becomes is
decided in ``domain.repricing.settle``).

The session's hold is taken first (``uow.ledger.hold_account``: an advisory lock on
PostgreSQL, SQLite's writers take turns), so two re-pricings of one session never both start
from the same price; the record's (session, sequence) key backs that up. The hold of the
payer's unbilled receivable follows, which the invoice run takes too: a correction is decided
either before the run reads the session's charge (and goes on the same invoice) or after it
billed it (and is credited or goes on the next one), never in between.

A refund is not made here: the caller in ``services/payments`` gives the money the session's
payment still holds (``MoneyCollected``) and asks the PSP once this is committed.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from decimal import Decimal

from chargeledger.domain.accounts import BillingMode
from chargeledger.domain.billing import Billed, Charge, VatRates
from chargeledger.domain.charging import Session, SessionStatus
from chargeledger.domain.credit_notes import line_credit_note
from chargeledger.domain.identity import Principal
from chargeledger.domain.invoicing import DocumentKind, DocumentStatus, Invoice
from chargeledger.domain.ledger import unbilled
from chargeledger.domain.postings import credit_note_issued
from chargeledger.domain.repricing import (
    BilledBy,
    PricedAs,
    Repricing,
    RepricingOutcome,
    Settled,
    Standing,
    settle,
)
from chargeledger.domain.repricing_documents import correction_accrual, credit_line
from chargeledger.domain.text import required_text
from chargeledger.errors import ConflictError, CurrencyMismatchError, InvalidInputError
from chargeledger.money import ZERO
from chargeledger.services.billing.invoicing import get_invoice, issue_all, today
from chargeledger.services.charging.session_pricing import price_captured_session
from chargeledger.services.charging.session_repricing import price_corrected
from chargeledger.services.charging.session_review import get_session
from chargeledger.services.ports import Clock, UnitOfWork
from chargeledger.services.roaming.notices import announce_partner_repricing

NOT_CHARGED = "session_not_charged"
NOTHING_TO_REPRICE = "nothing_to_reprice"


@dataclass(frozen=True, slots=True)
class RepriceRequest:
    """What finance asks: a tariff version and/or readings (None: as the session stands), the
    reason, and the caller's idempotency key (the same key re-prices once)."""

    reason: str
    tariff_id: uuid.UUID | None = None
    meter_start_wh: Decimal | None = None
    meter_stop_wh: Decimal | None = None
    request_key: str | None = None


@dataclass(frozen=True, slots=True)
class Collected:
    """The session's payment (None: paid by invoice, or nothing was taken) and what of it can
    still be refunded."""

    payment_id: uuid.UUID | None = None
    refundable: Decimal = ZERO


MoneyCollected = Callable[[UnitOfWork, Session], Awaitable[Collected]]


async def nothing_collected(uow: UnitOfWork, session: Session) -> Collected:
    return Collected()


def session_hold(session_id: uuid.UUID) -> str:
    """The name of a session's hold (``LedgerRepository.hold_account``)."""
    return f"session/{session_id}"


async def record_repricing(
    uow: UnitOfWork,
    clock: Clock,
    principal: Principal,
    session_id: uuid.UUID,
    request: RepriceRequest,
    rates: VatRates,
    time_zone: str,
    collected: MoneyCollected = nothing_collected,
) -> Repricing:
    """Re-price the session and issue what the difference becomes (a correction's accrual, a
    credit note), recorded; the re-pricing of the same ``request_key`` is returned as it was.
    Does not commit. Refused: ``session_not_charged`` (quarantined, open or not charged
    yet), ``nothing_to_reprice`` (the tariff and readings it stands at),
    ``request_key_reused`` (the key of another request), and the refusals of the readings'
    checks and of ``domain.repricing.settle``."""
    reason = required_text(request.reason, "reason", max_length=200)
    session = await get_session(uow, principal, session_id)
    await uow.ledger.hold_account(session_hold(session.id))
    if request.request_key is not None:  # looked up under the hold: a twin waited for it
        done = await uow.repricings.by_request_key(request.request_key)
        if done is not None:
            _check_same_request(done, session.id, request, reason)
            return done
    charge = await uow.billing.charge_for_session(session.id)
    if charge is None or session.status is not SessionStatus.COMPLETED:
        raise ConflictError(
            "only a charged session can be re-priced (a quarantined one is released first)",
            code=NOT_CHARGED,
        )
    if session.account_id is not None:
        await uow.ledger.hold_account(unbilled(session.account_id))
    history = await uow.repricings.of_session(session.id)
    before = history[-1].after if history else _as_charged(session, charge)
    after = await _new_price(uow, clock, principal, session, charge, before, request, rates)
    if not history:
        await _refuse_adjusted_charges(uow, session, charge, rates)
    money = await collected(uow, session)
    settled = settle(before, after, await _standing(uow, session, charge, history, money))
    now = clock.now()
    repricing = Repricing(
        session_id=session.id,
        charge_id=charge.id,
        sequence=len(history) + 1,
        account_id=charge.account_id,
        country=charge.country,
        before=before,
        after=after,
        outcome=settled.outcome,
        amount=settled.amount,
        owed_after=settled.owed_after,
        reason=reason,
        created_by=principal.subject,
        created_at=now,
        booked_on=today(clock, time_zone),
        request_key=request.request_key,
        payment_id=money.payment_id if settled.outcome is RepricingOutcome.REFUND else None,
    )
    repricing = await _issue(uow, clock, repricing, charge, settled, time_zone)
    await uow.repricings.add(repricing)
    await announce_partner_repricing(uow, clock, repricing)  # a roaming partner's credit CDR
    return repricing


def _check_same_request(
    done: Repricing, session_id: uuid.UUID, request: RepriceRequest, reason: str
) -> None:
    """A request key stands for one request: the re-pricing it made is answered again only
    to the same request (what it names; what it left out stood as the re-pricing found it)."""
    asked = (request.tariff_id, request.meter_start_wh, request.meter_stop_wh)
    made = (done.after.tariff_id, done.after.meter_start_wh, done.after.meter_stop_wh)
    if (
        done.session_id != session_id
        or done.reason != reason
        or any(a is not None and a != m for a, m in zip(asked, made, strict=True))
    ):
        raise ConflictError(
            "this request key was used for another re-pricing", code="request_key_reused"
        )


def _as_charged(session: Session, charge: Charge) -> PricedAs:
    """What the session stands at before its first re-pricing: its charge, with the readings
    it was billed with (an operator's correction at its release included)."""
    stop = session.billed_meter_stop_wh
    assert stop is not None  # a charged session is closed
    return PricedAs(
        charge.tariff_id or session.tariff_id,
        session.billed_meter_start_wh,
        stop,
        charge.energy_kwh,
        charge.billed,
    )


async def _new_price(
    uow: UnitOfWork,
    clock: Clock,
    principal: Principal,
    session: Session,
    charge: Charge,
    before: PricedAs,
    request: RepriceRequest,
    rates: VatRates,
) -> PricedAs:
    """The asked tariff and readings (each as it stands when not asked), priced by the one
    ``price()``, with the VAT treatment the session was charged with."""
    tariff_id = request.tariff_id or before.tariff_id
    start = before.meter_start_wh if request.meter_start_wh is None else request.meter_start_wh
    stop = before.meter_stop_wh if request.meter_stop_wh is None else request.meter_stop_wh
    if tariff_id is None:
        raise InvalidInputError(
            "the session was charged without a tariff: name the one to price it with",
            code="no_tariff",
            field="tariff_id",
        )
    if (tariff_id, start, stop) == (before.tariff_id, before.meter_start_wh, before.meter_stop_wh):
        raise InvalidInputError(
            "the session already stands at this tariff and these readings",
            code=NOTHING_TO_REPRICE,
        )
    priced = await price_corrected(
        uow,
        session,
        rates,
        tariff_id=tariff_id,
        meter_start_wh=start,
        meter_stop_wh=stop,
        by=principal.subject,
        at=clock.now(),
    )
    if priced.billed.currency != charge.currency:
        raise CurrencyMismatchError(
            f"the session was charged in {charge.currency}; the tariff prices in "
            f"{priced.billed.currency}",
            field="tariff_id",
        )
    billed = Billed(charge.currency, priced.billed.components, charge.vat)
    return PricedAs(tariff_id, start, stop, priced.result.total_energy, billed)


async def _refuse_adjusted_charges(
    uow: UnitOfWork, session: Session, charge: Charge, rates: VatRates
) -> None:
    """A contract's allowance may have covered part of the session (``allowances``): its
    charge is then less than its price, and a difference to the full new price would bill
    what the allowance paid. Such a session is corrected by a credit note instead."""
    if session.contract_version_id is None:
        return
    priced = await price_captured_session(uow, session, rates)
    if priced.billed.components != charge.components:
        raise ConflictError(
            "the session's charge was adjusted by its contract (an allowance drawn): "
            "correct it with a credit note",
            code="charge_adjusted_by_contract",
        )


async def _standing(
    uow: UnitOfWork,
    session: Session,
    charge: Charge,
    history: list[Repricing],
    money: Collected,
) -> Standing:
    document = await _billing_document(uow, charge)
    billed_by = BilledBy.NOTHING
    if document is not None and document.status is DocumentStatus.DRAFT:
        billed_by = BilledBy.DRAFT
    elif document is not None:
        receipt = document.kind is DocumentKind.RECEIPT
        billed_by = BilledBy.RECEIPT if receipt else BilledBy.INVOICE
    account = None if session.account_id is None else await uow.accounts.get(session.account_id)
    corrections = [r for r in history if r.outcome is RepricingOutcome.NEXT_INVOICE]
    billed = await uow.repricings.billed_on([r.id for r in corrections])
    return Standing(
        billed_by=billed_by,
        paid_at_session=session.payment_route.paid_at_session,
        postpaid_account=account is not None and account.billing_mode is BillingMode.POSTPAID,
        collected=money.refundable,
        pending_net=sum((r.difference_net for r in corrections if r.id not in billed), ZERO),
        owed=history[-1].owed_after if history else ZERO,
    )


async def _billing_document(uow: UnitOfWork, charge: Charge) -> Invoice | None:
    found = await uow.repricings.billing_document(charge.id)
    return None if found is None else await get_invoice(uow, found)


async def _issue(
    uow: UnitOfWork,
    clock: Clock,
    repricing: Repricing,
    charge: Charge,
    settled: Settled,
    time_zone: str,
) -> Repricing:
    """Book a correction's accrual, or issue the credit note, in the caller's transaction."""
    if settled.outcome is RepricingOutcome.NEXT_INVOICE:
        entry = correction_accrual(repricing)
        if entry is not None:
            await uow.ledger.add([entry], clock.now())
        return repricing
    if settled.outcome is not RepricingOutcome.CREDIT_NOTE:
        return repricing
    original = await _billing_document(uow, charge)
    assert original is not None  # settle() credits only a billed session
    previous = await uow.billing.credit_notes_of(original.id)
    line = credit_line(repricing, charge, settled.credit_net)
    reason = f"Re-pricing {repricing.sequence} of the session: {repricing.reason}"
    draft = line_credit_note(original, reason, previous, line)
    [note] = await issue_all(uow, clock, [draft], today(clock, time_zone))
    await uow.billing.add_invoices([note], clock.now())
    await uow.ledger.add([credit_note_issued(note)], clock.now())
    return replace(repricing, credit_note_id=note.id, amount=-note.gross_total)
