"""Re-pricing a charged session (issue 15) on SQLite and PostgreSQL, through the use case the
REST route and the CLI call: the difference to what the session stood at becomes a correction
on the next invoice, a credit note, or a refund with its one credit note; an equal price
issues nothing; every re-pricing is recorded, and the books stay clean (``ledger check``,
``bean-check`` of the Beancount export, DATEV's export finding every rate). Amounts: see
``repricing_world``."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from chargeledger.bootstrap import Runtime
from chargeledger.domain.charging import SessionStatus
from chargeledger.domain.invoicing import DocumentKind
from chargeledger.domain.ledger import receivable
from chargeledger.domain.repricing import RepricingOutcome
from chargeledger.errors import ChargeledgerError
from chargeledger.services import tariffs
from chargeledger.services.billing import invoicing
from chargeledger.services.payments._operations import payment_lock
from chargeledger.services.payments.repricing_views import RefundStatus
from chargeledger.services.payments.wallets import wallet_balance
from tests.integration.billing_world import SELLER
from tests.integration.refund_world import captured_session, refunds_of
from tests.integration.repricing_world import (
    TZ,
    D,
    assert_books_clean,
    corrected_tariff,
    import_corrections,
    ledger_balance,
    reprice,
    repricing_world,
    repricings_of,
)
from tests.integration.test_commit_rule import guarded


async def test_postpaid_lower_before_its_invoice_is_invoiced_at_the_new_price(
    runtime: Runtime, tmp_path: Path
) -> None:
    """80 kWh charged (47.06, not invoiced yet), re-priced to the 60 kWh the meter showed: a
    reversing accrual of 11.66 now, and the month's invoice bills the charge and the
    correction side by side, 35.40 in all: what 60 kWh cost."""
    world = await repricing_world(runtime)
    session = await world.charged_session()
    assert await world.unbilled() == D("47.06")

    view = await reprice(runtime, session.id, "display showed 60 kWh", stop=60_000)

    done = view.repricing
    assert (done.outcome, done.amount, done.sequence) == (
        RepricingOutcome.NEXT_INVOICE,
        D("-11.66"),
        1,
    )
    assert (done.before.gross, done.after.net, done.after.tax, done.after.gross) == (
        D("47.06"),
        D("29.75"),
        D("5.65"),
        D("35.40"),
    )
    assert (done.after.meter_start_wh, done.after.meter_stop_wh) == (D(0), D(60_000))
    assert done.after.tariff_id == done.before.tariff_id == world.flat
    assert (done.reason, done.created_by) == ("display showed 60 kWh", "finance@example.org")
    assert (view.invoice, view.credit_note, view.refund) == (None, None, None)
    assert await world.unbilled() == D("35.40")

    [invoice] = await world.run_invoices()
    assert [line.net for line in invoice.lines] == [D("39.55"), D("-9.80")]
    assert invoice.lines[1].repricing_id == done.id
    assert (invoice.net_total, invoice.tax_total, invoice.gross_total) == (
        D("29.75"),
        D("5.65"),
        D("35.40"),
    )
    assert await world.unbilled() == 0
    assert await ledger_balance(runtime, receivable(world.account.id)) == D("35.40")
    assert await world.run_invoices("2026-04") == []  # billed once
    await assert_books_clean(runtime, tmp_path)


async def test_postpaid_lower_after_its_invoice_is_a_credit_note(
    runtime: Runtime, tmp_path: Path
) -> None:
    """Invoiced at 47.06, then re-priced under the version that should have applied
    (0.39/kWh): a credit note of 8.00 + 1.52 against that invoice, and nothing else."""
    world = await repricing_world(runtime)
    session = await world.charged_session()
    [invoice] = await world.run_invoices()

    view = await reprice(runtime, session.id, "wrong tariff version", tariff_id=world.cheaper)

    note = view.credit_note
    assert note is not None
    assert view.repricing.outcome is RepricingOutcome.CREDIT_NOTE
    assert view.repricing.credit_note_id == note.id
    assert (note.kind, note.original_id) == (DocumentKind.CREDIT_NOTE, invoice.id)
    assert (note.net_total, note.tax_total, note.gross_total) == (D("8.00"), D("1.52"), D("9.52"))
    assert view.repricing.amount == D("-9.52")
    assert [line.charge_id for line in note.lines] == [invoice.lines[0].charge_id]
    assert await ledger_balance(runtime, receivable(world.account.id)) == D("37.54")
    assert await world.unbilled() == 0
    assert await world.run_invoices("2026-04") == []
    await assert_books_clean(runtime, tmp_path)


async def test_higher_is_a_correction_billed_by_the_next_invoice_run(
    runtime: Runtime, tmp_path: Path
) -> None:
    """Invoiced in March at 47.06, then re-priced at 0.59/kWh: 9.52 more, accrued now and
    billed by the next run (April's: March is invoiced already) as a line of its own."""
    world = await repricing_world(runtime)
    session = await world.charged_session()
    [march] = await world.run_invoices()

    view = await reprice(runtime, session.id, "tariff raised in February", tariff_id=world.dearer)

    assert (view.repricing.outcome, view.repricing.amount) == (
        RepricingOutcome.NEXT_INVOICE,
        D("9.52"),
    )
    assert await world.unbilled() == D("9.52")
    assert await world.run_invoices("2026-03") == []  # March was invoiced: not again
    [april] = await world.run_invoices("2026-04")
    [line] = april.lines
    assert (line.net, line.repricing_id, line.session_id) == (
        D("8.00"),
        view.repricing.id,
        session.id,
    )
    assert (april.net_total, april.tax_total, april.gross_total) == (
        D("8.00"),
        D("1.52"),
        D("9.52"),
    )
    assert await world.unbilled() == 0
    assert await ledger_balance(runtime, receivable(world.account.id)) == march.gross_total + D(
        "9.52"
    )
    async with runtime.uow() as uow:
        billed = await uow.repricings.billed_on([view.repricing.id])
    assert billed == {view.repricing.id: april.id}
    await assert_books_clean(runtime, tmp_path)


async def test_a_card_session_re_priced_lower_is_refunded_with_one_credit_note(
    runtime: Runtime, tmp_path: Path
) -> None:
    """The app-card session captured 47.06 with its receipt; re-priced to 60 kWh, 11.66 goes
    back to the card through the refund path, whose credit note of the receipt is the only
    one (it names the re-pricing). The same request again changes nothing."""
    captured = await captured_session(runtime)
    session_id = captured.payment.session_id
    assert session_id is not None

    view = await reprice(runtime, session_id, "display showed 60 kWh", stop=60_000, key="k-1")
    again = await reprice(runtime, session_id, "display showed 60 kWh", stop=60_000, key="k-1")

    done = view.repricing
    assert (done.outcome, done.amount, done.payment_id) == (
        RepricingOutcome.REFUND,
        D("-11.66"),
        captured.payment.id,
    )
    assert view.refund is not None
    assert (view.refund.status, view.refund.refunded) == (RefundStatus.REFUNDED, D("11.66"))
    refunds = await refunds_of(runtime, captured)
    assert refunds.events == refunds.at_psp == [D("11.66")]
    [note] = refunds.credit_notes
    assert (note.net_total, note.gross_total) == (D("9.80"), D("11.66"))
    assert (note.reason or "").startswith(done.refund_marker)
    assert view.credit_note == note
    assert again.repricing.id == done.id
    assert len(await repricings_of(runtime, session_id)) == 1
    await assert_books_clean(runtime, tmp_path)


async def test_an_equal_price_issues_nothing_and_is_recorded(
    runtime: Runtime, tmp_path: Path
) -> None:
    """Another version of the tariff at the same price: recorded, nothing booked or issued."""
    world = await repricing_world(runtime)
    session = await world.charged_session()
    async with runtime.uow() as uow:
        entries = len(await uow.ledger.entries())
        equal = await tariffs.import_tariff(uow, runtime.clock, corrected_tariff("0.49"))
        await uow.commit()

    view = await reprice(runtime, session.id, "new version, same price", tariff_id=equal.id)

    assert (view.repricing.outcome, view.repricing.amount) == (RepricingOutcome.NOTHING, D(0))
    assert view.repricing.after.gross == view.repricing.before.gross == D("47.06")
    assert view.repricing.after.tariff_id == equal.id
    assert (view.credit_note, view.invoice, view.refund) == (None, None, None)
    async with runtime.uow() as uow:
        assert len(await uow.ledger.entries()) == entries
    assert len(await repricings_of(runtime, session.id)) == 1
    await assert_books_clean(runtime, tmp_path)


async def refused(runtime: Runtime, session_id: uuid.UUID, **asked: Any) -> tuple[str, str | None]:
    with pytest.raises(ChargeledgerError) as caught:
        await reprice(runtime, session_id, **asked)
    return caught.value.code, caught.value.field


async def test_refusals_change_nothing(runtime: Runtime) -> None:
    """Not charged (closed but not charged yet; quarantined), the tariff and readings it
    stands at, readings the station's own checks refuse, an unknown tariff: each refused
    with its code, and nothing recorded."""
    world = await repricing_world(runtime)
    charged = await world.charged_session()
    held = await world.charged_session(500_000)  # 500 kWh in an hour: quarantined
    waiting = await world.charged_session(charge=False)
    assert held.status is SessionStatus.QUARANTINED

    for session in (waiting, held):
        assert await refused(runtime, session.id, stop=60_000) == ("session_not_charged", None)
    assert await refused(runtime, charged.id, stop=80_000) == ("nothing_to_reprice", None)
    assert await refused(runtime, charged.id, tariff_id=world.flat) == ("nothing_to_reprice", None)
    assert await refused(runtime, charged.id, start=90_000) == (
        "negative_energy",
        "corrected_meter_stop_wh",
    )
    assert await refused(runtime, charged.id, start=1_000, stop=500_000) == (
        "energy_above_max_power",
        "corrected_meter_stop_wh",
    )
    assert await refused(runtime, charged.id, tariff_id=uuid.uuid4()) == ("tariff_not_found", None)
    assert await refused(runtime, uuid.uuid4(), stop=1) == ("session_not_found", None)
    assert await refused(runtime, charged.id, reason=" ", stop=1) == ("missing_field", "reason")
    for session in (charged, waiting, held):
        assert await repricings_of(runtime, session.id) == []
    assert await world.unbilled() == D("47.06")


async def test_the_same_request_re_prices_once(runtime: Runtime) -> None:
    """A request key re-prices once (the second answer is the first re-pricing, nothing more
    booked); the same tariff and readings again under another key are nothing to re-price;
    a key used for one session is refused for another."""
    world = await repricing_world(runtime)
    session = await world.charged_session()
    other = await world.charged_session()

    first = await reprice(runtime, session.id, stop=60_000, key="finance:ticket-7")
    again = await reprice(runtime, session.id, stop=60_000, key="finance:ticket-7")

    assert again.repricing == first.repricing
    assert await refused(runtime, session.id, stop=60_000, key="ticket-8") == (
        "nothing_to_reprice",
        None,
    )
    assert await refused(runtime, other.id, stop=60_000, key="finance:ticket-7") == (
        "request_key_reused",
        None,
    )
    async with runtime.uow() as uow:
        entries = await uow.ledger.entries()
    assert sum(1 for e in entries if e.source_type == "repricing") == 1
    assert await world.unbilled() == D("35.40") + D("47.06")


async def test_a_card_session_re_priced_higher_goes_on_its_accounts_next_invoice(
    runtime: Runtime, tmp_path: Path
) -> None:
    """The app-card session's account is postpaid: 9.52 more (0.59/kWh) is a correction its
    next invoice bills; the receipt and the captured payment are left as they are."""
    captured = await captured_session(runtime)
    session_id = captured.payment.session_id
    assert session_id is not None
    _, dearer = await import_corrections(runtime)

    view = await reprice(runtime, session_id, "tariff raised in February", tariff_id=dearer)

    assert (view.repricing.outcome, view.repricing.amount) == (
        RepricingOutcome.NEXT_INVOICE,
        D("9.52"),
    )
    result = await invoicing.run_invoices(runtime.uow, runtime.clock, SELLER, TZ, "2026-03")
    [invoice] = [i for i in result.issued if i.account_id == captured.receipt.account_id]
    assert [(line.net, line.repricing_id) for line in invoice.lines] == [
        (D("8.00"), view.repricing.id)
    ]
    assert invoice.gross_total == D("9.52")
    refunds = await refunds_of(runtime, captured)
    assert (refunds.events, refunds.credit_notes) == ([], [])
    await assert_books_clean(runtime, tmp_path)


async def test_a_wallet_session_owes_more_and_a_later_lower_price_takes_from_that_first(
    runtime: Runtime, tmp_path: Path
) -> None:
    """A prepaid wallet gets no invoice and is never debited without its holder: 0.59/kWh
    makes 9.52 owed, recorded and not booked. Then 60 kWh at 0.59/kWh (42.54) is 14.04
    lower: 9.52 of it cancels what was owed, 4.52 goes back into the wallet through the
    refund path, with its one credit note of the receipt."""
    world = await repricing_world(runtime)
    session, prepaid = await world.wallet_session()
    async with runtime.uow() as uow:
        entries = len(await uow.ledger.entries())
        balance = await wallet_balance(uow, prepaid.id)
    assert balance == D("52.94")

    owed = await reprice(runtime, session.id, "tariff raised", tariff_id=world.dearer)

    assert (owed.repricing.outcome, owed.repricing.amount, owed.repricing.owed_after) == (
        RepricingOutcome.OWED,
        D("9.52"),
        D("9.52"),
    )
    async with runtime.uow() as uow:
        assert len(await uow.ledger.entries()) == entries

    lower = await reprice(runtime, session.id, "display showed 60 kWh", stop=60_000)

    done = lower.repricing
    assert (done.outcome, done.amount, done.owed_after, done.after.gross) == (
        RepricingOutcome.REFUND,
        D("-4.52"),
        D(0),
        D("42.54"),
    )
    assert lower.refund is not None
    assert (lower.refund.status, lower.refund.refunded) == (RefundStatus.REFUNDED, D("4.52"))
    assert lower.credit_note is not None
    assert lower.credit_note.gross_total == D("4.52")
    async with runtime.uow() as uow:
        assert await wallet_balance(uow, prepaid.id) == D("57.46")
        receipt_id = lower.credit_note.original_id
        assert receipt_id is not None
        assert len(await uow.billing.credit_notes_of(receipt_id)) == 1
    await assert_books_clean(runtime, tmp_path)


async def test_a_repricing_leaves_each_commit_to_the_code_that_opened_the_transaction(
    runtime: Runtime,
) -> None:
    """DESIGN §3 (``test_commit_rule``): the use case and the refund path under it commit
    only the units of work they open themselves, for a credit note and for a refund."""
    world = await repricing_world(runtime)
    invoiced = await world.charged_session()
    await world.run_invoices()
    captured = await captured_session(runtime)
    assert captured.payment.session_id is not None
    runtime.payments.uow = guarded(runtime)

    credited = await reprice(runtime, invoiced.id, "version", tariff_id=world.cheaper)
    refunded = await reprice(runtime, captured.payment.session_id, "meter", stop=60_000)

    assert credited.repricing.outcome is RepricingOutcome.CREDIT_NOTE
    assert refunded.repricing.outcome is RepricingOutcome.REFUND
    assert refunded.refund is not None
    assert refunded.refund.status is RefundStatus.REFUNDED


async def test_a_refund_left_undone_is_made_by_the_same_request_again(runtime: Runtime) -> None:
    """The re-pricing is kept, then its refund cannot be asked (the payment is busy with
    another operation: 409 ``payment_busy``). The same request again, without a key, is
    nothing to re-price but completes the refund: once, with its one credit note."""
    captured = await captured_session(runtime)
    session_id = captured.payment.session_id
    assert session_id is not None
    runtime.payments.lock_wait = 0

    async with payment_lock(runtime.payments, captured.payment.id):
        assert await refused(runtime, session_id, stop=60_000) == ("payment_busy", None)
    [kept] = await repricings_of(runtime, session_id)
    assert (await refunds_of(runtime, captured)).events == []

    again = await reprice(runtime, session_id, stop=60_000)
    once_more = await refused(runtime, session_id, stop=60_000)

    assert again.repricing == kept
    assert again.refund is not None
    assert again.refund.status is RefundStatus.REFUNDED
    assert once_more == ("nothing_to_reprice", None)
    refunds = await refunds_of(runtime, captured)
    assert refunds.events == [D("11.66")]
    assert [n.gross_total for n in refunds.credit_notes] == [D("11.66")]
