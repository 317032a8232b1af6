"""``/api/v1/bank`` (issue 13): a camt.053 file written to the official schema is imported
once, its unmatched entry is matched by finance, operators read the queue but decide nothing,
and the invoice shows what is still open."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import httpx

from chargeledger.adapters.bank.camt053_writer import camt053_document
from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Role
from chargeledger.domain.ledger import customer_credit
from tests.conftest import LoginAs
from tests.integration.test_bank_reconciliation import first_statement, world_with_invoices

API = "/api/v1"


async def test_a_statement_file_is_imported_once_and_its_queue_decided(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    _, invoices = await world_with_invoices(runtime)
    finance, operator = await login_as(Role.FINANCE), await login_as(Role.OPERATOR)
    camt = camt053_document(
        [first_statement(invoices)],
        message_id="MSG-20260203",
        created_at=datetime(2026, 2, 3, 18, tzinfo=UTC),
    )

    imported = await client.post(
        f"{API}/bank/statements", content=camt, params={"filename": "day.xml"}, headers=finance
    )
    assert imported.status_code == 201, imported.text
    report = imported.json()
    assert (report["new"], report["matched"], report["unmatched"]) == (7, 4, 2)
    assert report["rules"] == {"reference": 3, "invoice_number": 1}

    again = await client.post(f"{API}/bank/statements", content=camt, headers=finance)
    assert (again.json()["new"], again.json()["duplicates"]) == (0, 7)

    refused = await client.post(f"{API}/bank/statements", content=camt, headers=operator)
    assert refused.status_code == 403
    broken = await client.post(
        f"{API}/bank/statements", content=camt.replace(b"<Ntry>", b"<Entry>", 1), headers=finance
    )
    assert (broken.status_code, broken.json()["error"]["code"]) == (422, "invalid_statement")

    queue = await client.get(f"{API}/bank/entries", params={"state": "unmatched"}, headers=operator)
    assert queue.status_code == 200
    by_ref = {e["entry_ref"]: e for e in queue.json()["items"]}
    assert set(by_ref) == {"e3", "e5"}
    assert (by_ref["e3"]["rule"], by_ref["e3"]["invoice_id"]) == (
        "amount_and_name",
        str(invoices["carla"].id),
    )

    carla = invoices["carla"]
    body = {"invoice": carla.number, "note": "name on the transfer"}
    denied = await client.post(
        f"{API}/bank/entries/{by_ref['e3']['id']}/match", json=body, headers=operator
    )
    assert denied.status_code == 403
    matched = await client.post(
        f"{API}/bank/entries/{by_ref['e3']['id']}/match", json=body, headers=finance
    )
    assert matched.status_code == 200, matched.text
    assert (matched.json()["state"], matched.json()["note"]) == ("matched", "name on the transfer")
    twice = await client.post(
        f"{API}/bank/entries/{by_ref['e3']['id']}/match", json=body, headers=finance
    )
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "bank_entry_decided")

    shown = (await client.get(f"{API}/invoices/{carla.id}", headers=finance)).json()
    assert (shown["status"], Decimal(shown["outstanding"])) == ("paid", 0)
    partly = (await client.get(f"{API}/invoices/{invoices['ben'].id}", headers=finance)).json()
    assert Decimal(partly["outstanding"]) == Decimal("6.90")

    # Dora paid 23.80 for January's 11.90: the rest paid December; her statement shows it.
    dora = invoices["dora"].account_id
    statement = (await client.get(f"{API}/accounts/{dora}/statement", headers=finance)).json()
    credit = {s["account"]: s for s in statement}[customer_credit(dora)]  # type: ignore[arg-type]
    assert [(line["kind"], Decimal(line["amount"])) for line in credit["lines"]] == [
        ("bank_receipt", Decimal("-11.90")),
        ("credit_applied", Decimal("11.90")),
    ]


async def test_a_csv_statement_is_read_too(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    _, invoices = await world_with_invoices(runtime)
    finance = await login_as(Role.FINANCE)
    reference = invoices["anna"].payment_reference
    csv = (
        "account_iban,booking_date,amount,currency,counterparty_name,reference\n"
        f"DE89370400440532013000,2026-02-03,11.90,EUR,Anna Weber GmbH,{reference}\n"
    )
    imported = await client.post(
        f"{API}/bank/statements",
        content=csv.encode(),
        params={"filename": "export.csv"},
        headers=finance,
    )
    assert imported.status_code == 201, imported.text
    assert (imported.json()["matched"], imported.json()["rules"]) == (1, {"reference": 1})
