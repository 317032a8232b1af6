"""Chargebacks from the sandbox PSP (issue 15) on SQLite and PostgreSQL: the webhooks open a
case, book the withdrawal and, when won, its reversal; lost stands. Replays and any order of
the events change nothing; the ledger stays balanced."""

from __future__ import annotations

import io
import json
import zipfile
from decimal import Decimal

import httpx

from chargeledger.bootstrap import Runtime
from chargeledger.domain.disputes import DisputeOrigin, DisputeReason, DisputeState, EventKind
from chargeledger.domain.identity import Role
from chargeledger.domain.ledger import EntryKind
from chargeledger.domain.payout_reconciliation import ItemKind, ItemStatus
from chargeledger.services.billing.books import checked_ledger
from chargeledger.services.disputes.case_ports import DisputeFilter
from chargeledger.services.payments.payout_reconciliation import show_payout
from chargeledger.services.transactions import reading
from tests.conftest import LoginAs
from tests.integration.payment_world import WebhookRecorder
from tests.integration.refund_world import CAPTURED, captured_session


async def _balance(runtime: Runtime, account: str) -> Decimal:
    async with runtime.uow() as uow:
        balances = await uow.ledger.balances(account)
    return sum((b.debit - b.credit for b in balances if b.account == account), Decimal(0))


async def _open_chargeback(
    runtime: Runtime, client: httpx.AsyncClient
) -> tuple[str, WebhookRecorder]:
    captured = await captured_session(runtime)
    sandbox = runtime.sandbox
    assert sandbox is not None
    recorder = WebhookRecorder(client).install(sandbox)
    dispute_id = await sandbox.open_dispute(captured.provider_ref, "product_not_received")
    await runtime.quiesce()
    return dispute_id, recorder


async def test_a_lost_chargeback_opens_a_case_and_books_the_withdrawal_once(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    dispute_id, recorder = await _open_chargeback(runtime, client)
    async with runtime.uow() as uow:
        case = await uow.disputes.by_psp_dispute(dispute_id)
        assert case is not None
        assert case.origin is DisputeOrigin.PSP
        assert case.reason is DisputeReason.CHARGEBACK
        assert case.amount == CAPTURED
        assert case.state is DisputeState.OPEN
        assert case.chargeback is not None
        assert case.chargeback.fee == Decimal("15.00")
        withdrawn = await uow.ledger.find(EntryKind.CHARGEBACK, "chargeback", dispute_id)
        assert withdrawn is not None
    # Replayed webhooks book nothing twice and open no second case.
    for payload, headers in recorder.deliveries:
        await recorder.post(payload, headers)
    sandbox = runtime.sandbox
    assert sandbox is not None
    await sandbox.close_dispute(dispute_id, won=False)
    await runtime.quiesce()
    async with runtime.uow() as uow:
        cases = await uow.disputes.search(DisputeFilter(), 10, 0)
        assert [c.state for c in cases] == [DisputeState.LOST]
        kinds = [e.kind for e in await uow.disputes.events(cases[0].id)]
        assert kinds.count(EventKind.FUNDS_WITHDRAWN) == 1
        assert EventKind.LOST in kinds
        assert (
            await uow.ledger.find(EntryKind.CHARGEBACK_REVERSED, "chargeback", dispute_id) is None
        )
        check = await checked_ledger(uow)
    assert not check.problems, check.problems
    assert await _balance(runtime, "Expenses:Chargebacks") == CAPTURED


async def test_a_won_chargeback_gives_the_amount_back_but_not_the_fee(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    dispute_id, recorder = await _open_chargeback(runtime, client)
    sandbox = runtime.sandbox
    assert sandbox is not None
    await sandbox.close_dispute(dispute_id, won=True)
    await runtime.quiesce()
    async with runtime.uow() as uow:
        case = await uow.disputes.by_psp_dispute(dispute_id)
        assert case is not None
        assert case.state is DisputeState.WON
        check = await checked_ledger(uow)
    assert not check.problems, check.problems
    assert await _balance(runtime, "Expenses:Chargebacks") == 0
    assert await _balance(runtime, "Expenses:PSPFees") == Decimal("15.00")
    # The created event arriving last (out of order) reopens nothing.
    [(created, headers)] = recorder.of_type("dispute.created")
    await recorder.post(created, headers)
    async with runtime.uow() as uow:
        case = await uow.disputes.by_psp_dispute(dispute_id)
        assert case is not None
        assert case.state is DisputeState.WON
    assert json.loads(created)["status"] == "needs_response"


async def test_a_chargeback_is_answered_with_its_evidence_pack_once(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    dispute_id, _ = await _open_chargeback(runtime, client)
    async with runtime.uow() as uow:
        case = await uow.disputes.by_psp_dispute(dispute_id)
    assert case is not None
    finance = await login_as(Role.FINANCE)
    packed = await client.get(f"/api/v1/disputes/{case.id}/evidence.zip", headers=finance)
    assert packed.status_code == 200, packed.text
    with zipfile.ZipFile(io.BytesIO(packed.content)) as archive:
        names = set(archive.namelist())
        assert {"manifest.json", "session.json", "case.json", "payments.json"} <= names
        assert json.loads(archive.read("case.json"))["number"] == case.number
    pdf = await client.get(f"/api/v1/disputes/{case.id}/evidence.pdf", headers=finance)
    assert pdf.content.startswith(b"%PDF")
    url = f"/api/v1/disputes/{case.id}/evidence/submit"
    submitted = await client.post(url, headers=finance)
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["events"][-1]["kind"] == "evidence_submitted"
    sandbox = runtime.sandbox
    assert sandbox is not None
    sent = sandbox.dispute_evidence(dispute_id)
    assert "80.000 kWh" in sent["product_description"]
    assert "Payment captured" in sent["uncategorized_text"]
    again = await client.post(url, headers=finance)
    assert again.json()["error"]["code"] == "evidence_already_submitted"
    driver = await login_as(Role.DRIVER)
    assert (await client.post(url, headers=driver)).status_code == 403


async def test_the_payout_after_a_won_chargeback_matches_its_withdrawal_and_reinstatement(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    dispute_id, _ = await _open_chargeback(runtime, client)
    sandbox = runtime.sandbox
    assert sandbox is not None
    await sandbox.close_dispute(dispute_id, won=True)
    payout = await sandbox.pay_out("EUR")
    await runtime.quiesce()
    assert payout is not None
    gateways = list(runtime.payments.gateways)
    view = await reading(runtime.uow, show_payout, gateways, payout.payout_id)
    adjustments = [
        (c.item.net.amount, c.status)
        for c in view.reconciliation.items
        if c.item.kind is ItemKind.ADJUSTMENT
    ]
    # The PSP took the 47.06 and its 15.00 fee, and gave the 47.06 back: both are ours.
    assert sorted(adjustments) == [
        (-(CAPTURED + Decimal("15.00")), ItemStatus.MATCHED),
        (CAPTURED, ItemStatus.MATCHED),
    ]
