"""A customer's dispute case over the REST API (issue 15), on SQLite and PostgreSQL: a driver
opens it on their own session, staff take it up, finance resolves it (refund with its credit
note, or a rejection with its reason); the SLA reminders go through the outbox once each."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import httpx

from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Role
from chargeledger.services.billing.books import checked_ledger
from chargeledger.services.disputes.reminders import remind_disputes
from chargeledger.services.payments.refunds import refund_once
from tests.conftest import LoginAs
from tests.integration.refund_world import CAPTURED, Captured, captured_session


@dataclass
class Later:
    at: datetime

    def now(self) -> datetime:
        return self.at


async def _opened(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> tuple[Captured, dict[str, str], dict[str, object]]:
    captured = await captured_session(runtime)
    driver = await login_as(Role.DRIVER, captured.payment.account_id)
    photo = base64.b64encode(b"\x89PNG not really").decode()
    response = await client.post(
        "/api/v1/disputes",
        headers=driver,
        json={
            "session_id": str(captured.payment.session_id),
            "reason": "energy",
            "description": "I was charged for 80 kWh but my car shows 40",
            "amount": "23.53",
            "attachment": {"name": "dash.png", "media_type": "image/png", "content_base64": photo},
        },
    )
    assert response.status_code == 201, response.text
    return captured, driver, response.json()


async def test_a_driver_opens_a_case_and_finance_refunds_it(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    captured, driver, case = await _opened(runtime, client, login_as)
    assert case["state"] == "open"
    assert case["origin"] == "driver"
    assert case["number"] == "DSP-000001"
    assert [a["name"] for a in case["attachments"]] == ["dash.png"]
    again = await client.post(
        "/api/v1/disputes",
        headers=driver,
        json={"session_id": case["session_id"], "reason": "price", "description": "again"},
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "dispute_already_open"
    stranger = await login_as(Role.DRIVER)
    hidden = await client.get(f"/api/v1/disputes/{case['id']}", headers=stranger)
    assert hidden.status_code == 404
    assert (await client.get("/api/v1/disputes", headers=stranger)).json()["items"] == []
    operator = await login_as(Role.OPERATOR)
    reviewed = await client.post(f"/api/v1/disputes/{case['id']}/review", headers=operator)
    assert reviewed.json()["state"] == "under_review", reviewed.text
    finance = await login_as(Role.FINANCE)
    body = {"resolution": "refund", "amount": "23.53", "note": "half the energy was lost"}
    first = await client.post(f"/api/v1/disputes/{case['id']}/resolve", headers=finance, json=body)
    assert first.status_code == 200, first.text
    resolved = first.json()
    assert resolved["state"] == "resolved"
    assert resolved["resolution"] == "refund"
    assert resolved["outcome"].startswith("refund:")
    second = await client.post(f"/api/v1/disputes/{case['id']}/resolve", headers=finance, json=body)
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "dispute_closed"
    payment = await client.get(f"/api/v1/payments/{captured.payment.id}", headers=finance)
    assert Decimal(payment.json()["refunded"]) == Decimal("23.53"), payment.text
    seen = await client.get(f"/api/v1/disputes/{case['id']}", headers=driver)
    kinds = [e["kind"] for e in seen.json()["events"]]
    assert kinds[:2] == ["opened", "attachment"]
    assert kinds[-1] == "resolved"
    async with runtime.uow() as uow:
        check = await checked_ledger(uow)
    assert not check.problems, check.problems
    assert CAPTURED > 0


async def test_a_rejection_says_why_and_reminders_fall_due_once(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    _, _, case = await _opened(runtime, client, login_as)
    finance = await login_as(Role.FINANCE)
    url = f"/api/v1/disputes/{case['id']}/resolve"
    silent = await client.post(url, headers=finance, json={"resolution": "rejected"})
    assert silent.status_code == 422
    assert silent.json()["error"]["code"] == "rejection_reason_missing"
    due = datetime.fromisoformat(case["respond_by"])
    async with runtime.uow() as uow:
        assert await remind_disputes(uow, Later(due - timedelta(days=5)), None) == 0
        assert await remind_disputes(uow, Later(due - timedelta(days=1)), None) == 1
        assert await remind_disputes(uow, Later(due + timedelta(hours=1)), None) == 1
        assert await remind_disputes(uow, Later(due + timedelta(days=2)), None) == 0
        await uow.commit()
    seen = (await client.get(f"/api/v1/disputes/{case['id']}", headers=finance)).json()
    reminders = [e["note"] for e in seen["events"] if e["kind"] == "reminder"]
    assert reminders == ["due_soon", "overdue"], seen["events"]
    rejected = await client.post(
        url,
        headers=finance,
        json={"resolution": "rejected", "note": "the signed meter record shows 80.000 kWh"},
    )
    assert rejected.json()["state"] == "resolved", rejected.text
    async with runtime.uow() as uow:
        assert await remind_disputes(uow, Later(due + timedelta(days=3)), None) == 0


async def test_two_resolutions_at_once_refund_once(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    captured, _, case = await _opened(runtime, client, login_as)
    finance = await login_as(Role.FINANCE)
    url = f"/api/v1/disputes/{case['id']}/resolve"
    body = {"resolution": "refund", "note": "goodwill"}
    answers = await asyncio.gather(
        client.post(url, headers=finance, json=body), client.post(url, headers=finance, json=body)
    )
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    refused = next(a for a in answers if a.status_code == 409)
    assert refused.json()["error"]["code"] in ("dispute_closed", "dispute_busy")
    payment = await client.get(f"/api/v1/payments/{captured.payment.id}", headers=finance)
    assert Decimal(payment.json()["refunded"]) == CAPTURED
    refunds = [e for e in payment.json()["events"] if e["kind"] == "refunded"]
    assert len(refunds) == 1


async def test_a_case_resolved_by_repricing_refunds_the_difference_with_its_reason(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    captured, _, case = await _opened(runtime, client, login_as)
    finance = await login_as(Role.FINANCE)
    resolved = await client.post(
        f"/api/v1/disputes/{case['id']}/resolve",
        headers=finance,
        json={
            "resolution": "reprice",
            "note": "the car got 40 kWh: the meter's stop reading was wrong",
            "corrected_meter_stop_wh": "40000",
        },
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["outcome"].startswith("repricing:")
    repricings = await client.get(
        f"/api/v1/sessions/{captured.payment.session_id}/repricings", headers=finance
    )
    [repricing] = repricings.json()
    assert "dispute DSP-000001" in repricing["reason"], repricing
    payment = await client.get(f"/api/v1/payments/{captured.payment.id}", headers=finance)
    refunded = Decimal(payment.json()["refunded"])
    assert Decimal(0) < refunded < CAPTURED
    async with runtime.uow() as uow:
        check = await checked_ledger(uow)
    assert not check.problems, check.problems


async def test_a_resolution_retried_after_a_crash_does_not_refund_again(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    """A process killed between the refund and the case's closing: the refund was asked (here
    made as the resolution would, with the case's marker); the retried resolution finds it,
    refunds nothing more and closes the case."""
    captured, _, case = await _opened(runtime, client, login_as)
    await refund_once(
        runtime.payments,
        captured.payment.id,
        Decimal("10.00"),
        f"dispute {case['number']}: goodwill",
        marker=f"dispute {case['number']}:",
    )
    finance = await login_as(Role.FINANCE)
    retried = await client.post(
        f"/api/v1/disputes/{case['id']}/resolve",
        headers=finance,
        json={"resolution": "refund", "amount": "10.00", "note": "goodwill"},
    )
    assert retried.status_code == 200, retried.text
    assert retried.json()["state"] == "resolved"
    payment = await client.get(f"/api/v1/payments/{captured.payment.id}", headers=finance)
    assert Decimal(payment.json()["refunded"]) == Decimal("10.00")
