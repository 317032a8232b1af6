"""The office's ledger pages (issue 16) on SQLite and PostgreSQL, over the captured app-card
session of ``refund_world`` with one refund of 10.00 (capture, receipt, refund and its credit
note booked): the trial balance balances and shows the REST's figures, an account's statement
runs to its balance, both download as CSV, bad dates are 422 and only finance and admin
(``ReadLedger``) read them.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import quote

import httpx
import pytest

from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Role
from chargeledger.domain.ledger import EntryKind, JournalEntry, Posting
from chargeledger.money import Money
from chargeledger.services.payments.refunds import refund_payment
from tests.conftest import LoginAs
from tests.integration.office_world import office_login
from tests.integration.refund_world import Captured, captured_session

LEDGER = "/office/ledger"
ACCOUNT_ROW = re.compile(r'<tr data-account="([^"]+)">')


@pytest.fixture
async def captured(runtime: Runtime) -> Captured:
    captured = await captured_session(runtime)
    await refund_payment(runtime.payments, captured.payment.id, Decimal("10.00"), "goodwill")
    await runtime.quiesce()
    return captured


def cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


async def test_the_trial_balance_balances_and_is_the_rest_one(
    runtime: Runtime, client: httpx.AsyncClient, captured: Captured, login_as: LoginAs
) -> None:
    rest = await client.get("/api/v1/ledger/trial-balance", headers=await login_as(Role.FINANCE))
    assert rest.status_code == 200, rest.text
    await office_login(runtime, client, Role.FINANCE)
    page = await client.get(LEDGER)
    assert page.status_code == 200, page.text
    expected = [a["account"] for a in rest.json()["accounts"]]
    assert ACCOUNT_ROW.findall(page.text) == expected
    assert len(expected) >= 4
    assert 'data-total="EUR" data-balanced="yes"' in page.text
    download = await client.get(LEDGER, params={"format": "csv"})
    assert download.status_code == 200
    assert download.headers["content-type"] == "text/csv; charset=utf-8"
    table = cells(download.text)
    assert table[0] == ["Account", "Currency", "Debit", "Credit", "Balance"]
    by_account = {a["account"]: a for a in rest.json()["accounts"]}
    debits = credits = Decimal(0)
    for account, _, debit, credit, balance in table[1:]:
        assert Decimal(balance) == Decimal(by_account[account]["balance"])
        debits, credits = debits + Decimal(debit), credits + Decimal(credit)
    assert debits == credits > 0
    before = await client.get(LEDGER, params={"as_of": "2020-01-01"})
    assert "Nothing booked by then." in before.text
    bad = await client.get(LEDGER, params={"as_of": "yesterday"})
    assert bad.status_code == 422
    assert "<code>invalid_filter</code>" in bad.text


async def test_an_account_statement_runs_to_its_balance(
    runtime: Runtime, client: httpx.AsyncClient, captured: Captured
) -> None:
    await office_login(runtime, client, Role.ADMIN)
    trial = cells((await client.get(LEDGER, params={"format": "csv"})).text)
    psp = next(r for r in trial[1:] if r[0].startswith("Assets:PSP"))
    url = f"{LEDGER}/accounts/{quote(psp[0], safe=':')}"
    page = await client.get(url)
    assert page.status_code == 200, page.text
    assert page.text.count('<tr class="posting">') == 2  # the capture and the refund
    assert f'<span class="closing">{psp[4]}</span>' in page.text
    download = await client.get(url, params={"format": "csv"})
    table = cells(download.text)
    assert table[0] == ["Booked on", "Currency", "Kind", "Description", "Amount", "Balance"]
    assert [Decimal(r[4]) for r in table[1:]] == [Decimal("47.06"), Decimal("-10.00")]
    assert table[-1][5] == psp[4] == "37.06"
    booked_on = date.fromisoformat(table[1][0])  # both booked today
    before = await client.get(url, params={"to": (booked_on - timedelta(days=1)).isoformat()})
    assert "No postings to this account in these dates." in before.text
    on_the_day = await client.get(url, params={"from": table[1][0], "to": table[1][0]})
    assert on_the_day.text.count('<tr class="posting">') == 2
    after = (booked_on + timedelta(days=1)).isoformat()
    later = await client.get(url, params={"from": after})
    assert "No postings to this account in these dates." in later.text
    assert '<span class="opening">37.06</span>' in later.text
    bad = await client.get(url, params={"to": "31.12.2026"})
    assert bad.status_code == 422
    assert "<code>invalid_filter</code>" in bad.text
    nothing = await client.get(f"{LEDGER}/accounts/Assets:Nowhere")
    assert nothing.status_code == 200
    assert "No postings to this account" in nothing.text


async def test_only_finance_and_admin_read_the_ledger(
    runtime: Runtime, client: httpx.AsyncClient, captured: Captured
) -> None:
    await office_login(runtime, client, Role.OPERATOR)
    for url in (LEDGER, f"{LEDGER}/accounts/Assets:Bank"):
        refused = await client.get(url)
        assert refused.status_code == 403
        assert refused.headers["x-error-code"] == "permission_denied"
    overview = await client.get("/office")
    assert 'href="/office/ledger"' not in overview.text
    assert 'href="/office/payments"' in overview.text


async def test_a_long_statement_is_paged_by_fifty(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    """60 adjustments of 1.00 each to one account: 50 on the first page, 10 on the second,
    the running balance going on from one page to the next."""
    entries = [
        JournalEntry(
            kind=EntryKind.ADJUSTMENT,
            booked_on=date(2026, 1, 1) + timedelta(days=n),
            description=f"adjustment {n + 1}",
            postings=(
                Posting("Assets:Bank", Money.of("1.00", "EUR")),
                Posting("Equity:Opening", Money.of("-1.00", "EUR")),
            ),
            source_type="test",
            source_id=str(n),
        )
        for n in range(60)
    ]
    async with runtime.uow() as uow:
        await uow.ledger.add(entries, runtime.clock.now())
        await uow.commit()
    await office_login(runtime, client, Role.FINANCE)
    url = f"{LEDGER}/accounts/Assets:Bank"
    first = await client.get(url, params={"from": "2026-01-01"})
    assert first.text.count('<tr class="posting">') == 50
    assert "<td>adjustment 50</td>" in first.text
    next_link = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert next_link is not None
    second = await client.get(next_link.group(1).replace("&amp;", "&"))
    assert second.text.count('<tr class="posting">') == 10
    assert '<td class="num">51.00</td>' in second.text  # the running balance goes on
    assert 'rel="next"' not in second.text
    assert 'rel="prev"' in second.text
    assert '<span class="closing">60.00</span>' in second.text
    whole = cells((await client.get(url, params={"format": "csv"})).text)
    assert len(whole) == 61
    february = await client.get(url, params={"from": "2026-02-01", "to": "2026-02-28"})
    assert february.text.count('<tr class="posting">') == 28
    assert '<span class="opening">31.00</span>' in february.text
