"""Contracts through the REST API (issue 14) on SQLite and PostgreSQL: create with terms,
sign, amend (never a past version), terminate before and after the notice deadline, cover
accounts and sites, signed PDFs by content hash, milestones; who may read and write."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Any, cast

import httpx
import pytest

from chargeledger.bootstrap import Runtime
from chargeledger.domain.accounts import AccountKind
from chargeledger.domain.contract_records import ContractRecord
from chargeledger.domain.contracts import Contract, ContractType
from chargeledger.domain.identity import Role
from chargeledger.errors import ConflictError
from chargeledger.money import Currency
from chargeledger.services.contracts import records
from chargeledger.services.ports import UnitOfWork
from tests.conftest import LoginAs, make_account
from tests.integration.billing_api import configure_operator
from tests.integration.billing_world import FixedClock, utc
from tests.integration.ocpp_support import bounded
from tests.integration.test_user_admin import (
    CommitWhenReleased,
    backend_pid,
    wait_until_blocked_by,
)

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
TERMS: dict[str, Any] = {
    "price_book": {"discount": {"kind": "percent", "value": "10"}},
    "tiers": {
        "model": "marginal",
        "bands": [
            {"from_kwh": "0", "price_per_kwh": "0.39"},
            {"from_kwh": "1000", "price_per_kwh": "0.34"},
        ],
    },
    "monthly_commitment": "500.00",
}


def fleet_contract(account_id: uuid.UUID, number: str = "FL-2026-001") -> dict[str, Any]:
    return {
        "number": number,
        "kind": "fleet",
        "title": "Fleet charging",
        "account_id": str(account_id),
        "currency": "EUR",
        "start": "2026-01-01",
        "end": "2026-12-31",
        "renewal": {"term_months": 12, "notice_days": 90},
        "contacts": [{"name": "Ida Fleet", "role": "signatory", "email": "ida@fleet.example"}],
        "terms": TERMS,
    }


async def setup(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> tuple[dict[str, str], uuid.UUID]:
    finance = await login_as(Role.FINANCE)
    fleet = await make_account(runtime, "Fleet GmbH", AccountKind.BUSINESS)
    runtime.clock = FixedClock(utc("2026-03-10T09:00"))  # after the login: JWTs use real time
    return finance, fleet.id


async def test_create_sign_amend_and_read(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    finance, fleet = await setup(runtime, client, login_as)
    created = await client.post("/api/v1/contracts", json=fleet_contract(fleet), headers=finance)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "draft"
    assert body["account_ids"] == [str(fleet)]  # a fleet contract covers its own account
    assert body["versions"][0]["number"] == 1
    assert body["versions"][0]["valid_from"] == "2026-01-01"
    assert body["current_version"]["terms"]["tiers"]["model"] == "marginal"
    assert body["notice_deadline"] == "2026-10-02"  # 31 Dec less 90 days
    contract_id = body["id"]

    signed = await client.post(
        f"/api/v1/contracts/{contract_id}/sign", json={"signed_on": "2026-01-05"}, headers=finance
    )
    assert signed.status_code == 200, signed.text
    assert signed.json()["status"] == "active"
    again = await client.post(f"/api/v1/contracts/{contract_id}/sign", json={}, headers=finance)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "contract_signed"

    past = await client.post(
        f"/api/v1/contracts/{contract_id}/versions",
        json={"valid_from": "2026-03-01", "summary": "Cheaper", "terms": TERMS},
        headers=finance,
    )
    assert past.status_code == 422
    assert past.json()["error"]["code"] == "amendment_in_past"
    amended = await client.post(
        f"/api/v1/contracts/{contract_id}/versions",
        json={
            "valid_from": "2026-04-01",
            "summary": "15 % from April",
            "terms": {"price_book": {"discount": {"kind": "percent", "value": "15"}}},
        },
        headers=finance,
    )
    assert amended.status_code == 201, amended.text
    versions = amended.json()["versions"]
    assert [v["number"] for v in versions] == [1, 2]
    assert versions[0]["terms"]["price_book"]["discount"]["value"] == "10"  # untouched
    assert amended.json()["current_version"]["number"] == 1  # 10 March: still version 1

    listed = await client.get("/api/v1/contracts?status=active", headers=finance)
    assert [c["number"] for c in listed.json()["items"]] == ["FL-2026-001"]


async def test_bad_terms_and_numbers_are_refused_with_their_codes(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    finance, fleet = await setup(runtime, client, login_as)
    bad = fleet_contract(fleet)
    bad["terms"] = {
        "tiers": {"model": "marginal", "bands": [{"from_kwh": "5", "price_per_kwh": 0.3}]}
    }
    refused = await client.post("/api/v1/contracts", json=bad, headers=finance)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "invalid_contract_terms"
    partner_contract = fleet_contract(fleet)
    partner_contract["kind"] = "site_host"
    refused = await client.post("/api/v1/contracts", json=partner_contract, headers=finance)
    assert refused.json()["error"]["code"] == "invalid_counterparty"
    dollars = fleet_contract(fleet)
    dollars["currency"] = "USD"
    refused = await client.post("/api/v1/contracts", json=dollars, headers=finance)
    assert refused.json()["error"]["code"] == "currency_mismatch"
    ok = await client.post("/api/v1/contracts", json=fleet_contract(fleet), headers=finance)
    assert ok.status_code == 201
    twice = await client.post("/api/v1/contracts", json=fleet_contract(fleet), headers=finance)
    assert twice.status_code in (409, 422)
    # One contract prices an account's sessions: a second one over the same days is refused.
    other = await client.post(
        "/api/v1/contracts", json=fleet_contract(fleet, "FL-2026-002"), headers=finance
    )
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "account_under_contract"
    async with runtime.uow() as uow:
        assert await uow.contracts.get_by_number("FL-2026-002") is None  # nothing half-made


async def test_termination_before_and_after_the_notice_deadline(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    finance, fleet = await setup(runtime, client, login_as)
    early_id = (
        await client.post("/api/v1/contracts", json=fleet_contract(fleet), headers=finance)
    ).json()["id"]
    await client.post(f"/api/v1/contracts/{early_id}/sign", json={}, headers=finance)
    runtime.clock = FixedClock(utc("2026-10-02T12:00"))  # the deadline itself
    ended = await client.post(
        f"/api/v1/contracts/{early_id}/terminate",
        json={"reason": "Fleet moves to another operator"},
        headers=finance,
    )
    assert ended.status_code == 200, ended.text
    assert ended.json()["termination"]["last_day"] == "2026-12-31"
    assert ended.json()["status"] == "expiring"

    late = await make_account(runtime, "Late Fleet", AccountKind.BUSINESS)
    late_id = (
        await client.post(
            "/api/v1/contracts", json=fleet_contract(late.id, "FL-2026-003"), headers=finance
        )
    ).json()["id"]
    await client.post(
        f"/api/v1/contracts/{late_id}/sign", json={"signed_on": "2026-01-02"}, headers=finance
    )
    runtime.clock = FixedClock(utc("2026-10-03T12:00"))  # a day too late
    ended = await client.post(
        f"/api/v1/contracts/{late_id}/terminate", json={"reason": "Too late"}, headers=finance
    )
    assert ended.json()["termination"]["last_day"] == "2027-12-31"  # renewed once more
    again = await client.post(
        f"/api/v1/contracts/{late_id}/terminate", json={"reason": "Again"}, headers=finance
    )
    assert again.json()["error"]["code"] == "contract_terminated"


async def test_documents_are_pdfs_kept_once_by_content(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    finance, fleet = await setup(runtime, client, login_as)
    contract_id = (
        await client.post("/api/v1/contracts", json=fleet_contract(fleet), headers=finance)
    ).json()["id"]
    url = f"/api/v1/contracts/{contract_id}/documents"
    first = await client.post(
        url, params={"version": 1, "filename": "../../signed.pdf"}, content=PDF, headers=finance
    )
    assert first.status_code == 201, first.text
    assert first.json()["filename"] == "signed.pdf"
    second = await client.post(url, params={"version": 1}, content=PDF, headers=finance)
    assert second.json()["id"] == first.json()["id"]  # same bytes, same version: kept once
    not_pdf = await client.post(url, params={"version": 1}, content=b"MZ\x90", headers=finance)
    assert not_pdf.json()["error"]["code"] == "unsupported_document_type"
    no_version = await client.post(url, params={"version": 9}, content=PDF, headers=finance)
    assert no_version.json()["error"]["code"] == "contract_version_not_found"
    download = await client.get(f"{url}/{first.json()['id']}", headers=finance)
    assert download.status_code == 200
    assert download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    listed = await client.get(url, headers=finance)
    assert [d["sha256"] for d in listed.json()] == [first.json()["sha256"]]


async def test_milestones_listed_and_added(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    finance, fleet = await setup(runtime, client, login_as)
    contract_id = (
        await client.post("/api/v1/contracts", json=fleet_contract(fleet), headers=finance)
    ).json()["id"]
    await client.post(f"/api/v1/contracts/{contract_id}/sign", json={}, headers=finance)
    added = await client.post(
        f"/api/v1/contracts/{contract_id}/milestones",
        json={"kind": "price_review", "title": "Review energy prices", "due_on": "2026-06-30"},
        headers=finance,
    )
    assert added.status_code == 201, added.text
    listed = await client.get(
        f"/api/v1/contracts/{contract_id}/milestones",
        params={"through": "2027-01-31"},
        headers=finance,
    )
    assert [(m["kind"], m["due_on"]) for m in listed.json()] == [
        ("price_review", "2026-06-30"),
        ("notice_deadline", "2026-10-02"),
        ("renewal", "2027-01-01"),
    ]


async def test_who_may_read_and_write(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    fleet = await make_account(runtime, "Fleet GmbH", AccountKind.BUSINESS)
    other = await make_account(runtime, "Other GmbH", AccountKind.BUSINESS)
    finance = await login_as(Role.FINANCE)
    operator = await login_as(Role.OPERATOR)
    manager = await login_as(Role.FLEET_MANAGER, fleet.id)
    stranger = await login_as(Role.FLEET_MANAGER, other.id)
    driver = await login_as(Role.DRIVER, fleet.id)
    runtime.clock = FixedClock(utc("2026-03-10T09:00"))
    created = await client.post("/api/v1/contracts", json=fleet_contract(fleet.id), headers=finance)
    contract_id = created.json()["id"]
    url = f"/api/v1/contracts/{contract_id}"
    assert (await client.get(url, headers=operator)).status_code == 200
    assert (await client.get(url, headers=manager)).status_code == 200
    assert (await client.get(url, headers=stranger)).status_code == 404
    assert (await client.get(url, headers=driver)).status_code == 403
    mine = await client.get("/api/v1/contracts", headers=manager)
    assert [c["id"] for c in mine.json()["items"]] == [contract_id]
    theirs = await client.get("/api/v1/contracts", headers=stranger)
    assert theirs.json()["items"] == []
    for headers in (operator, manager):
        refused = await client.post(f"{url}/sign", json={}, headers=headers)
        assert refused.status_code == 403


async def test_an_oem_bundles_allowance_is_invoiced_once(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    finance, maker = await setup(runtime, client, login_as)
    configure_operator(runtime)
    driver = await make_account(runtime, "Driver Bundle")
    body = {
        "number": "OEM-7",
        "kind": "oem_bundle",
        "account_id": str(maker),
        "currency": "EUR",
        "start": "2026-03-01",
        "end": "2028-02-29",
        "terms": {"allowance": {"unit": "money", "amount": "250.00"}},
        "account_ids": [str(driver.id)],
    }
    created = await client.post("/api/v1/contracts", json=body, headers=finance)
    assert created.status_code == 201, created.text
    contract_id = created.json()["id"]
    url = f"/api/v1/contracts/{contract_id}/allowance/invoice"
    unsigned = await client.post(url, headers=finance)
    assert unsigned.json()["error"]["code"] == "contract_unsigned"
    await client.post(f"/api/v1/contracts/{contract_id}/sign", json={}, headers=finance)
    sold = await client.post(url, headers=finance)
    assert sold.status_code == 200, sold.text
    assert sold.json()["net_total"] == "250.00"
    again = await client.post(url, headers=finance)
    assert again.json()["number"] == sold.json()["number"]


async def test_two_terminations_at_once_terminate_once(runtime: Runtime) -> None:
    """The second termination waits for the first (the contract's hold; SQLite's writers take
    turns anyway), reads it, and is refused: the first one's reason and day stand."""
    fleet = await make_account(runtime, "Fleet GmbH", AccountKind.BUSINESS)
    runtime.clock = FixedClock(utc("2026-03-10T09:00"))
    today = date(2026, 3, 10)
    record = ContractRecord(
        Contract("FL-RACE", ContractType.FLEET, date(2026, 1, 1), date(2026, 12, 31)),
        Currency.of("EUR"),
        account_id=fleet.id,
    )
    async with runtime.uow() as uow:
        draft = records.ContractDraft(record, {})
        await records.create_contract(uow, runtime.clock, "finance", draft, today)
        await records.sign_contract(uow, runtime.clock, record.id, today, today)
        await uow.commit()

    async def terminate(uow: UnitOfWork, reason: str) -> None:
        await records.terminate_contract(
            uow, runtime.clock, "finance", record.id, today, reason, False, today
        )
        await uow.commit()

    async with runtime.uow() as first_uow, runtime.uow() as second_uow:
        first = CommitWhenReleased(first_uow)
        done_first = asyncio.ensure_future(terminate(cast(UnitOfWork, first), "first"))
        await bounded(first.reached.wait())
        done_second = asyncio.ensure_future(terminate(second_uow, "second"))
        if runtime.database_backend == "postgresql":
            await wait_until_blocked_by(await backend_pid(first_uow), done_second)
        first.release.set()
        await bounded(done_first)
        with pytest.raises(ConflictError) as refused:
            await bounded(done_second)
    assert refused.value.code == "contract_terminated"
    async with runtime.uow() as uow:
        kept = await uow.contracts.get(record.id)
    assert kept is not None
    assert kept.contract.termination is not None
    assert kept.contract.termination.reason == "first"
