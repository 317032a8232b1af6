"""The payment REST API of issue 6 over HTTP: stored cards (tokens in, brand and last four
out, never a card number), wallets (balance, rules, history, top-ups), payments (filtered
lists, detail with the event log), refunds with a reason, the ``Idempotency-Key`` of every
POST that moves money (DESIGN §2: the same request gets the same answer and moves money once;
kept at least 7 days), and account-bound users who see their own account only."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from starlette.requests import Request

from chargeledger.adapters.db.payment_tables import idempotency_records
from chargeledger.adapters.gateways.sandbox import SandboxGateway
from chargeledger.api.idempotency import request_hash
from chargeledger.api.schemas.payments import TopUpIn
from chargeledger.bootstrap import Runtime
from chargeledger.domain.accounts import Account, BillingMode, TokenType
from chargeledger.domain.identity import Role
from chargeledger.domain.ledger import EntryKind, JournalEntry, Posting, receivable, wallet
from chargeledger.domain.payments import (
    Payment,
    PaymentMethodKind,
    PaymentPurpose,
    StoredCard,
)
from chargeledger.money import Money
from chargeledger.services.payments.ports import IdempotencyRecord
from chargeledger.services.payments.wallets import wallet_balance
from tests.conftest import LoginAs
from tests.integration.payment_world import VISA, add_customer, card_for

API = "/api/v1"
D = Decimal
Json = dict[str, Any]
Headers = dict[str, str]
REPLAYED = "Idempotent-Replayed"


@dataclass
class Shop:
    runtime: Runtime
    client: httpx.AsyncClient
    finance: Headers
    alpha: Account
    alpha_card: StoredCard
    beta: Account
    beta_card: StoredCard

    @property
    def sandbox(self) -> SandboxGateway:
        sandbox = self.runtime.sandbox
        assert sandbox is not None
        return sandbox

    async def top_up(
        self,
        amount: str = "20.00",
        *,
        account: Account | None = None,
        key: str | None = None,
        headers: Headers | None = None,
        **extra: Any,
    ) -> httpx.Response:
        account = account or self.alpha
        sent = dict(headers or self.finance)
        if key is not None:
            sent["Idempotency-Key"] = key
        response = await self.client.post(
            f"{API}/accounts/{account.id}/wallet/top-ups",
            json={"amount": amount, **extra},
            headers=sent,
        )
        await self.runtime.quiesce()  # the sandbox's webhooks, delivered in-process
        return response

    async def refund(
        self, payment_id: str, body: Json, *, key: str | None = None, headers: Headers | None = None
    ) -> httpx.Response:
        sent = dict(headers or self.finance)
        if key is not None:
            sent["Idempotency-Key"] = key
        response = await self.client.post(
            f"{API}/payments/{payment_id}/refunds", json=body, headers=sent
        )
        await self.runtime.quiesce()
        return response

    async def wallet(self, account: Account | None = None) -> Decimal:
        async with self.runtime.uow() as uow:
            return await wallet_balance(uow, (account or self.alpha).id)

    async def count(self, kind: EntryKind) -> int:
        async with self.runtime.uow() as uow:
            return sum(1 for e in await uow.ledger.entries() if e.kind is kind)

    async def payments(self, purpose: PaymentPurpose | None = None) -> list[Payment]:
        async with self.runtime.uow() as uow:
            found = await uow.payments.all()
        return [p for p in found if purpose is None or p.purpose is purpose]

    async def paid_out(self) -> Decimal:
        """What the PSP really took (and keeps) over all its payments so far."""
        payout = await self.sandbox.pay_out()
        await self.runtime.quiesce()  # its payout webhook, before the database goes away
        return D(0) if payout is None else payout.gross.amount


@pytest.fixture
async def shop(runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs) -> Shop:
    alpha = await add_customer(runtime, "Alpha", "ALPHA001", TokenType.APP, BillingMode.PREPAID)
    beta = await add_customer(runtime, "Beta", "BETA0001", TokenType.APP, BillingMode.PREPAID)
    alpha_card = await card_for(runtime, alpha)
    beta_card = await card_for(runtime, beta, "5555555555554444")
    finance = await login_as(Role.FINANCE)
    return Shop(runtime, client, finance, alpha, alpha_card, beta, beta_card)


def error(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    return str(body["error"]["code"])


# --- Idempotency-Key -------------------------------------------------------------------------


async def test_same_key_same_request_gets_the_same_answer_and_moves_money_once(
    shop: Shop,
) -> None:
    first = await shop.top_up("20.00", key="top-up-1")
    assert first.status_code == 201, first.text
    assert REPLAYED not in first.headers
    again = await shop.top_up("20.00", key="top-up-1")
    assert again.status_code == 201
    assert again.headers[REPLAYED] == "true"
    assert again.content == first.content
    assert again.headers["content-type"] == "application/json"
    paid = first.json()
    assert (paid["purpose"], paid["status"], D(paid["captured"])) == ("top_up", "captured", 20)

    assert len(await shop.payments(PaymentPurpose.TOP_UP)) == 1
    assert await shop.count(EntryKind.WALLET_TOP_UP) == 1
    assert await shop.wallet() == D("20.00")
    assert await shop.paid_out() == D("20.00")  # the PSP charged the card once


async def test_same_key_other_request_is_refused(shop: Shop) -> None:
    assert (await shop.top_up("20.00", key="k")).status_code == 201
    for changed in (
        shop.top_up("21.00", key="k"),
        shop.top_up("20.00", key="k", payment_method_id=str(shop.alpha_card.id)),
        shop.top_up("20.00", key="k", account=shop.beta),  # another path
        shop.refund(str(uuid.uuid4()), {"reason": "x"}, key="k"),
    ):
        response = await changed
        assert response.status_code == 422, response.text
        assert error(response) == "idempotency_key_reused"
        assert REPLAYED not in response.headers
    assert len(await shop.payments()) == 1
    assert await shop.wallet() == D("20.00")
    assert await shop.wallet(shop.beta) == 0


async def test_keys_are_per_caller(shop: Shop, login_as: LoginAs) -> None:
    """Two callers who happen to pick the same key string do not see each other's answers."""
    admin = await login_as(Role.ADMIN)
    driver = await login_as(Role.DRIVER, shop.alpha.id)
    answers = [
        await shop.top_up("20.00", key="same-key", headers=who)
        for who in (shop.finance, admin, driver)
    ]
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert all(REPLAYED not in a.headers for a in answers)
    assert len({a.json()["id"] for a in answers}) == 3
    assert await shop.wallet() == D("60.00")
    replay = await shop.top_up("20.00", key="same-key", headers=driver)
    assert replay.headers[REPLAYED] == "true"
    assert replay.json()["id"] == answers[2].json()["id"]


async def test_without_a_key_every_request_counts(shop: Shop) -> None:
    first, second = await shop.top_up("20.00"), await shop.top_up("20.00")
    assert (first.status_code, second.status_code) == (201, 201)
    assert REPLAYED not in second.headers
    assert first.json()["id"] != second.json()["id"]
    assert await shop.wallet() == D("40.00")
    assert await shop.count(EntryKind.WALLET_TOP_UP) == 2


@pytest.mark.parametrize("key", ["", "k" * 256], ids=["empty", "too long"])
async def test_invalid_keys_are_refused(shop: Shop, key: str) -> None:
    response = await shop.top_up("20.00", key=key)
    assert response.status_code == 422, response.text
    assert error(response) == "invalid_idempotency_key"
    assert response.json()["error"]["field"] == "Idempotency-Key"
    assert await shop.payments() == []


async def test_the_longest_key_is_accepted(shop: Shop) -> None:
    key = "k" * 255
    assert (await shop.top_up("20.00", key=key)).status_code == 201
    assert (await shop.top_up("20.00", key=key)).headers[REPLAYED] == "true"
    assert await shop.wallet() == D("20.00")


async def test_error_answers_are_replayed_too(shop: Shop) -> None:
    """A refused request keeps its answer: the same key and body get the same 4xx again,
    even after the cause went away (the client must use a new key for a new attempt)."""
    too_much = await shop.top_up("600.00", key="big")
    assert too_much.status_code == 422, too_much.text
    assert error(too_much) == "invalid_top_up"
    again = await shop.top_up("600.00", key="big")
    assert (again.status_code, again.headers[REPLAYED], again.content) == (
        422,
        "true",
        too_much.content,
    )
    paid = (await shop.top_up("20.00")).json()
    over = await shop.refund(paid["id"], {"amount": "25.00", "reason": "x"}, key="r-over")
    assert (over.status_code, error(over)) == (422, "invalid_refund_amount")
    replay = await shop.refund(paid["id"], {"amount": "25.00", "reason": "x"}, key="r-over")
    assert (replay.status_code, replay.headers[REPLAYED]) == (422, "true")
    # A 404 from the work is an answer as well.
    missing = str(uuid.uuid4())
    gone = await shop.refund(missing, {"reason": "x"}, key="r-gone")
    assert (gone.status_code, error(gone)) == (404, "payment_not_found")
    assert (await shop.refund(missing, {"reason": "x"}, key="r-gone")).headers[REPLAYED] == "true"
    assert await shop.wallet() == D("20.00")


async def test_a_refund_with_the_same_key_refunds_once(shop: Shop) -> None:
    paid = (await shop.top_up("20.00")).json()
    body = {"amount": "5.00", "reason": "charged twice"}
    first = await shop.refund(paid["id"], body, key="refund-1")
    assert first.status_code == 201, first.text
    again = await shop.refund(paid["id"], body, key="refund-1")
    assert (again.status_code, again.headers[REPLAYED], again.content) == (
        201,
        "true",
        first.content,
    )
    other = await shop.refund(paid["id"], body | {"amount": "6.00"}, key="refund-1")
    assert (other.status_code, error(other)) == (422, "idempotency_key_reused")
    view = await shop.sandbox.lookup(reference=paid["id"], provider_ref=None)
    assert view is not None
    assert [amount for _, amount in view.refunds] == [D("5.00")]
    assert await shop.count(EntryKind.REFUND) == 1
    assert await shop.wallet() == D("15.00")
    assert await shop.paid_out() == D("15.00")


async def _subject(shop: Shop) -> str:
    me = await shop.client.get(f"{API}/me", headers=shop.finance)
    return str(me.json()["subject"])


async def test_a_key_whose_first_request_is_still_running_is_409(shop: Shop) -> None:
    """Two requests with one key at once: the second is told to wait, and moves nothing."""
    path = f"{API}/accounts/{shop.alpha.id}/wallet/top-ups"
    scope = {"type": "http", "method": "POST", "path": path, "headers": [], "query_string": b""}
    running = request_hash(Request(scope), TopUpIn(amount=D("20.00")))
    record = IdempotencyRecord(await _subject(shop), "busy", running, shop.runtime.clock.now())
    async with shop.runtime.uow() as uow:
        assert await uow.payments.claim_key(record) is None
        await uow.commit()
    response = await shop.top_up("20.00", key="busy")
    assert (response.status_code, error(response)) == (409, "idempotency_key_in_use")
    other = await shop.top_up("25.00", key="busy")
    assert (other.status_code, error(other)) == (422, "idempotency_key_reused")
    assert await shop.payments() == []


async def test_server_errors_are_not_kept(shop: Shop) -> None:
    """A 5xx is no answer: the key is free again, so the client may retry with it."""
    async with shop.runtime.uow() as uow:
        elsewhere = StoredCard(
            account_id=shop.alpha.id,
            gateway="stripe",  # not configured in this process
            token="tok_elsewhere",
            brand="visa",
            last4="4242",
            exp_month=12,
            exp_year=2030,
        )
        await uow.payments.add_card(elsewhere, shop.runtime.clock.now())
        await uow.commit()
    failed = await shop.top_up("20.00", key="retry-me", payment_method_id=str(elsewhere.id))
    assert (failed.status_code, error(failed)) == (500, "gateway_not_configured")
    async with shop.runtime.uow() as uow:
        assert await uow.payments.idempotency_record(await _subject(shop), "retry-me") is None
    retried = await shop.top_up("20.00", key="retry-me", payment_method_id=str(elsewhere.id))
    assert retried.status_code == 500
    assert REPLAYED not in retried.headers
    assert await shop.wallet() == 0


async def test_keys_are_kept_seven_days(shop: Shop) -> None:
    """DESIGN §2: a key answers the same for at least 7 days; the expiry forgets older ones
    only."""
    runtime = shop.runtime
    now = runtime.clock.now()
    async with runtime.uow() as uow:
        for days in (1, 6, 8, 30):
            record = IdempotencyRecord("scope", f"k{days}", "h" * 64, now - timedelta(days=days))
            assert await uow.payments.claim_key(record) is None
        await uow.commit()
    async with runtime.uow() as uow:
        removed = await uow.payments.expire_keys(now - timedelta(days=7))
        await uow.commit()
    assert removed == 2
    async with runtime.uow() as uow:
        kept = {
            key: await uow.payments.idempotency_record("scope", key)
            for key in ("k1", "k6", "k8", "k30")
        }
    assert {k for k, v in kept.items() if v is not None} == {"k1", "k6"}

    # Over HTTP: a key used six days ago still replays after the expiry ran ...
    first = await shop.top_up("20.00", key="old")
    await _age(runtime, "old", days=6)
    async with runtime.uow() as uow:
        await uow.payments.expire_keys(runtime.clock.now() - timedelta(days=7))
        await uow.commit()
    replay = await shop.top_up("20.00", key="old")
    assert (replay.headers[REPLAYED], replay.content) == ("true", first.content)
    # ... and once it is older than 7 days and expired, the key is free again.
    await _age(runtime, "old", days=8)
    async with runtime.uow() as uow:
        assert await uow.payments.expire_keys(runtime.clock.now() - timedelta(days=7)) == 1
        await uow.commit()
    fresh = await shop.top_up("20.00", key="old")
    assert REPLAYED not in fresh.headers
    assert fresh.json()["id"] != first.json()["id"]


async def _age(runtime: Runtime, key: str, *, days: int) -> None:
    async with runtime._factory.engine.begin() as connection:
        await connection.execute(
            update(idempotency_records)
            .where(idempotency_records.c.key == key)
            .values(created_at=runtime.clock.now() - timedelta(days=days))
        )


# --- stored cards ----------------------------------------------------------------------------


async def test_store_list_and_remove_a_card(shop: Shop) -> None:
    path = f"{API}/accounts/{shop.alpha.id}/payment-methods"
    token = (await shop.sandbox.tokenise("5555 5555 5555 4444", 4, 2031, "123")).token
    created = await shop.client.post(path, json={"token": token}, headers=shop.finance)
    assert created.status_code == 201, created.text
    card = created.json()
    assert set(card) == {"id", "gateway", "brand", "last4", "exp_month", "exp_year", "is_default"}
    assert (card["brand"], card["last4"], card["exp_month"], card["exp_year"]) == (
        "mastercard",
        "4444",
        4,
        2031,
    )
    assert (card["gateway"], card["is_default"]) == ("sandbox", True)
    assert "5555555555554444" not in created.text
    assert token not in created.text  # the token stays on our side too

    listed = await shop.client.get(path, headers=shop.finance)
    assert listed.status_code == 200
    assert [c["last4"] for c in listed.json()] == ["4242", "4444"]
    assert [c["is_default"] for c in listed.json()] == [False, True]
    assert VISA not in listed.text

    removed = await shop.client.delete(f"{path}/{card['id']}", headers=shop.finance)
    assert removed.status_code == 204
    assert removed.content == b""
    assert [c["last4"] for c in (await shop.client.get(path, headers=shop.finance)).json()] == [
        "4242"
    ]
    again = await shop.client.delete(f"{path}/{card['id']}", headers=shop.finance)
    assert (again.status_code, error(again)) == (404, "card_not_found")
    elsewhere = await shop.client.delete(f"{path}/{shop.beta_card.id}", headers=shop.finance)
    assert (elsewhere.status_code, error(elsewhere)) == (404, "card_not_found")
    unknown = await shop.client.delete(f"{path}/{uuid.uuid4()}", headers=shop.finance)
    assert (unknown.status_code, error(unknown)) == (404, "card_not_found")


@pytest.mark.parametrize(
    "token",
    ["4242424242424242", "4242 4242 4242 4242", "pan=5555-5555-5555-4444", "tok 378282246310005"],
)
async def test_a_card_number_is_refused_and_not_echoed(shop: Shop, token: str) -> None:
    path = f"{API}/accounts/{shop.alpha.id}/payment-methods"
    response = await shop.client.post(path, json={"token": token}, headers=shop.finance)
    assert response.status_code == 422, response.text
    assert error(response) == "card_data_refused"
    assert response.json()["error"]["field"] == "token"
    digits = "".join(ch for ch in token if ch.isdigit())
    assert digits not in "".join(ch for ch in response.text if ch.isdigit())
    listed = (await shop.client.get(path, headers=shop.finance)).json()
    assert [c["last4"] for c in listed] == ["4242"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"token": "tok_unknown"}, 422, "unknown_card_token"),
        ({"token": ""}, 422, "invalid_request"),
        ({}, 422, "invalid_request"),
        ({"token": "tok_x", "number": "4242424242424242"}, 422, "invalid_request"),
        ({"token": "tok_x", "gateway": "paypal"}, 422, "unknown_gateway"),
    ],
    ids=["unknown token", "empty", "missing", "extra field", "unknown gateway"],
)
async def test_bad_card_requests(shop: Shop, body: Json, status: int, code: str) -> None:
    path = f"{API}/accounts/{shop.alpha.id}/payment-methods"
    response = await shop.client.post(path, json=body, headers=shop.finance)
    assert (response.status_code, error(response)) == (status, code)
    assert "4242424242424242" not in response.text


async def test_top_up_with_a_chosen_card_and_without_any(shop: Shop) -> None:
    chosen = await shop.top_up("10.00", payment_method_id=str(shop.alpha_card.id))
    assert chosen.status_code == 201, chosen.text
    foreign = await shop.top_up("10.00", payment_method_id=str(shop.beta_card.id))
    assert (foreign.status_code, error(foreign)) == (404, "card_not_found")
    path = f"{API}/accounts/{shop.alpha.id}/payment-methods/{shop.alpha_card.id}"
    assert (await shop.client.delete(path, headers=shop.finance)).status_code == 204
    none_left = await shop.top_up("10.00")
    assert (none_left.status_code, error(none_left)) == (404, "card_not_found")
    assert await shop.wallet() == D("10.00")


@pytest.mark.parametrize(
    ("amount", "status", "code"),
    [
        ("0", 422, "invalid_request"),
        ("-5", 422, "invalid_request"),
        ("500.01", 422, "invalid_top_up"),
        ("10.001", 422, "invalid_top_up"),
        ("ten", 422, "invalid_request"),
    ],
)
async def test_bad_top_ups(shop: Shop, amount: str, status: int, code: str) -> None:
    response = await shop.top_up(amount)
    assert (response.status_code, error(response)) == (status, code)
    assert await shop.payments() == []


async def test_a_declined_card_tops_up_nothing(shop: Shop) -> None:
    declining = await card_for(shop.runtime, shop.alpha, "4000000000009995")
    response = await shop.top_up("20.00", payment_method_id=str(declining.id))
    assert response.status_code == 201, response.text
    paid = response.json()
    assert (paid["status"], paid["decline_code"], D(paid["captured"])) == (
        "failed",
        "insufficient_funds",
        0,
    )
    assert await shop.wallet() == 0


# --- wallet ----------------------------------------------------------------------------------


async def test_wallet_balance_rules_and_history(shop: Shop) -> None:
    path = f"{API}/accounts/{shop.alpha.id}/wallet"
    fresh = await shop.client.get(path, headers=shop.finance)
    assert fresh.status_code == 200, fresh.text
    wallet = fresh.json()
    assert wallet["account_id"] == str(shop.alpha.id)
    assert wallet["currency"] == "EUR"
    amounts = ("balance", "floor", "effective_minimum", "top_up_below")
    assert {k: D(wallet[k]) for k in amounts} == {
        "balance": 0,
        "floor": D("5.00"),  # the operator-wide default
        "effective_minimum": D("5.00"),
        "top_up_below": D("10.00"),
    }
    assert (wallet["minimum_balance"], wallet["account_floor"]) == (None, None)
    assert (wallet["auto_top_up"], D(wallet["top_up_amount"])) == (False, D("25.00"))

    rules = {
        "minimum_balance": "7.50",
        "auto_top_up": True,
        "top_up_below": "7.00",
        "top_up_amount": "30.00",
    }
    saved = await shop.client.put(path, json=rules, headers=shop.finance)
    assert saved.status_code == 200, saved.text
    assert {k: saved.json()[k] for k in rules if k == "auto_top_up"} == {"auto_top_up": True}
    assert {k: D(saved.json()[k]) for k in rules if k != "auto_top_up"} == {
        k: D(v) for k, v in rules.items() if k != "auto_top_up"
    }
    again = (await shop.client.get(path, headers=shop.finance)).json()
    assert again == saved.json()
    for bad in (
        {"minimum_balance": "-1"},
        {},
        {"minimum_balance": "1", "top_up_amount": "0"},
        {"minimum_balance": "1", "colour": "red"},
    ):
        refused = await shop.client.put(path, json=bad, headers=shop.finance)
        assert (refused.status_code, error(refused)) == (422, "invalid_request"), bad

    paid = (await shop.top_up("20.00")).json()
    assert (await shop.refund(paid["id"], {"amount": "5.00", "reason": "x"})).status_code == 201
    balance = (await shop.client.get(path, headers=shop.finance)).json()["balance"]
    assert D(balance) == D("15.00")
    history = await shop.client.get(f"{path}/history", headers=shop.finance)
    assert history.status_code == 200, history.text
    lines = [(line["kind"], D(line["amount"])) for line in history.json()]
    assert lines == [("wallet_top_up", D("20.00")), ("refund", D("-5.00"))]


# --- payments --------------------------------------------------------------------------------


async def _session_payment(shop: Shop, account: Account | None) -> Payment:
    """A card payment of a session (made by the station edge in real life)."""
    payment = Payment(
        purpose=PaymentPurpose.SESSION,
        method=PaymentMethodKind.CARD,
        gateway="sandbox",
        currency="EUR",
        account_id=None if account is None else account.id,
        method_token="tok_session",
    )
    async with shop.runtime.uow() as uow:
        await uow.payments.add(payment, shop.runtime.clock.now())
        await uow.commit()
    return payment


async def test_payments_are_listed_and_filtered(shop: Shop) -> None:
    alpha_1 = (await shop.top_up("20.00")).json()["id"]
    alpha_2 = (await shop.top_up("30.00")).json()["id"]
    beta_1 = (await shop.top_up("10.00", account=shop.beta)).json()["id"]
    session = str((await _session_payment(shop, shop.alpha)).id)
    walk_in = str((await _session_payment(shop, None)).id)

    async def ids(**params: str) -> set[str]:
        response = await shop.client.get(f"{API}/payments", params=params, headers=shop.finance)
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["items"]}

    assert await ids() == {alpha_1, alpha_2, beta_1, session, walk_in}
    assert await ids(account_id=str(shop.alpha.id)) == {alpha_1, alpha_2, session}
    assert await ids(account_id=str(shop.beta.id)) == {beta_1}
    assert await ids(account_id=str(uuid.uuid4())) == set()
    assert await ids(purpose="top_up") == {alpha_1, alpha_2, beta_1}
    assert await ids(purpose="session") == {session, walk_in}
    assert await ids(purpose="invoice") == set()
    assert await ids(method="card") == {session, walk_in}
    assert await ids(method="app") == {alpha_1, alpha_2, beta_1}
    assert await ids(account_id=str(shop.alpha.id), purpose="session", method="card") == {session}

    page = await shop.client.get(f"{API}/payments", params={"limit": "2"}, headers=shop.finance)
    assert (len(page.json()["items"]), page.json()["next_offset"]) == (2, 2)
    last = await shop.client.get(
        f"{API}/payments", params={"limit": "2", "offset": "4"}, headers=shop.finance
    )
    assert (len(last.json()["items"]), last.json()["next_offset"]) == (1, None)
    listed = {
        item["id"]: item
        for item in (await shop.client.get(f"{API}/payments", headers=shop.finance)).json()["items"]
    }
    assert listed[alpha_1]["events"] is None  # the log is in the detail only
    assert (listed[alpha_1]["status"], D(listed[alpha_1]["captured"])) == ("captured", 20)
    assert listed[session]["status"] == "pending"

    for params in ({"purpose": "gift"}, {"method": "cash"}, {"limit": "0"}, {"account_id": "x"}):
        refused = await shop.client.get(f"{API}/payments", params=params, headers=shop.finance)
        assert (refused.status_code, error(refused)) == (422, "invalid_request"), params


async def test_payment_detail_with_its_events(shop: Shop) -> None:
    paid = (await shop.top_up("20.00")).json()
    detail = await shop.client.get(f"{API}/payments/{paid['id']}", headers=shop.finance)
    assert detail.status_code == 200, detail.text
    found = detail.json()
    assert (found["purpose"], found["method"], found["gateway"], found["currency"]) == (
        "top_up",
        "app",
        "sandbox",
        "EUR",
    )
    assert found["account_id"] == str(shop.alpha.id)
    assert found["provider_ref"].startswith("sbx_pi_")
    assert [(e["kind"], D(e["amount"])) for e in found["events"]] == [
        ("requested", D("20.00")),
        ("authorised", D("20.00")),
        ("captured", D("20.00")),
    ]
    assert all(e["operation"].startswith(f"cl-{paid['id']}-") for e in found["events"])
    assert "tok_" not in detail.text  # the card's token is not shown
    missing = await shop.client.get(f"{API}/payments/{uuid.uuid4()}", headers=shop.finance)
    assert (missing.status_code, error(missing)) == (404, "payment_not_found")
    bad = await shop.client.get(f"{API}/payments/not-a-uuid", headers=shop.finance)
    assert (bad.status_code, error(bad)) == (422, "invalid_request")


# --- refunds ---------------------------------------------------------------------------------


async def test_partial_then_full_refund(shop: Shop) -> None:
    paid = (await shop.top_up("20.00")).json()
    partial = await shop.refund(paid["id"], {"amount": "5.50", "reason": "slow charging"})
    assert partial.status_code == 201, partial.text
    assert (partial.json()["status"], D(partial.json()["refunded"])) == (
        "partially_refunded",
        D("5.50"),
    )
    detail = (await shop.client.get(f"{API}/payments/{paid['id']}", headers=shop.finance)).json()
    refunds = [e for e in detail["events"] if e["kind"] == "refunded"]
    assert [D(e["amount"]) for e in refunds] == [D("5.50")]

    too_much = await shop.refund(paid["id"], {"amount": "14.51", "reason": "x"})
    assert (too_much.status_code, error(too_much)) == (422, "invalid_refund_amount")
    assert too_much.json()["error"]["field"] == "amount"
    for amount in ("0", "-1", "1.001"):
        refused = await shop.refund(paid["id"], {"amount": amount, "reason": "x"})
        assert (refused.status_code, error(refused)) == (422, "invalid_refund_amount"), amount

    rest = await shop.refund(paid["id"], {"reason": "closing the wallet"})
    assert rest.status_code == 201, rest.text
    assert (rest.json()["status"], D(rest.json()["refunded"])) == ("refunded", D("20.00"))
    nothing_left = await shop.refund(paid["id"], {"reason": "again"})
    assert (nothing_left.status_code, error(nothing_left)) == (422, "invalid_refund_amount")
    assert await shop.wallet() == 0
    assert await shop.count(EntryKind.REFUND) == 2
    view = await shop.sandbox.lookup(reference=paid["id"], provider_ref=None)
    assert view is not None
    assert [a for _, a in view.refunds] == [D("5.50"), D("14.50")]


@pytest.mark.parametrize(
    "body",
    [{"amount": "5.00"}, {"amount": "5.00", "reason": ""}, {"amount": "5.00", "reason": "   "}],
    ids=["missing", "empty", "blank"],
)
async def test_a_refund_needs_a_reason(shop: Shop, body: Json) -> None:
    paid = (await shop.top_up("20.00")).json()
    response = await shop.refund(paid["id"], body)
    assert response.status_code == 422, response.text
    assert error(response) == "invalid_request"
    assert response.json()["error"]["field"] == "reason"
    assert await shop.count(EntryKind.REFUND) == 0


async def test_a_top_up_refund_is_limited_by_what_is_left_in_the_wallet(shop: Shop) -> None:
    """Money spent from the wallet cannot be given back through the card as well."""
    paid = (await shop.top_up("20.00")).json()
    spent = JournalEntry(
        kind=EntryKind.WALLET_DEBIT,
        booked_on=shop.runtime.clock.now().date(),
        description="a session paid from the wallet",
        postings=(
            Posting(wallet(shop.alpha.id), Money.of(D("15.00"), "EUR")),
            Posting(receivable(shop.alpha.id), Money.of(D("-15.00"), "EUR")),
        ),
        source_type="test",
        source_id="spent",
    )
    async with shop.runtime.uow() as uow:
        await uow.ledger.add([spent], shop.runtime.clock.now())
        await uow.commit()
    assert await shop.wallet() == D("5.00")
    over = await shop.refund(paid["id"], {"amount": "5.01", "reason": "x"})
    assert (over.status_code, error(over)) == (422, "invalid_refund_amount")
    assert "5.00" in over.json()["error"]["message"]
    rest = await shop.refund(paid["id"], {"reason": "what is left"})
    assert rest.status_code == 201, rest.text
    assert (rest.json()["status"], D(rest.json()["refunded"])) == ("partially_refunded", 5)
    assert await shop.wallet() == 0


async def test_a_payment_that_took_nothing_cannot_be_refunded(shop: Shop) -> None:
    pending = await _session_payment(shop, shop.alpha)
    response = await shop.refund(str(pending.id), {"reason": "x"})
    assert (response.status_code, error(response)) == (422, "invalid_refund_amount")


# --- account-bound users ---------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.DRIVER, Role.FLEET_MANAGER], ids=str)
async def test_bound_users_see_their_own_account_only(
    shop: Shop, login_as: LoginAs, role: Role
) -> None:
    me = await login_as(role, shop.alpha.id)
    mine = await shop.top_up("20.00", headers=me)  # a driver tops up their own wallet
    assert mine.status_code == 201, mine.text
    theirs = (await shop.top_up("10.00", account=shop.beta)).json()
    walk_in = await _session_payment(shop, None)
    client = shop.client

    listed = await client.get(f"{API}/payments", headers=me)
    assert {p["id"] for p in listed.json()["items"]} == {mine.json()["id"]}
    for params in ({"account_id": str(shop.beta.id)}, {"account_id": str(uuid.uuid4())}):
        other = await client.get(f"{API}/payments", params=params, headers=me)
        assert (other.status_code, other.json()["items"]) == (200, [])
    own = await client.get(f"{API}/payments", params={"account_id": str(shop.alpha.id)}, headers=me)
    assert [p["id"] for p in own.json()["items"]] == [mine.json()["id"]]
    assert (await client.get(f"{API}/payments/{mine.json()['id']}", headers=me)).status_code == 200
    for hidden in (theirs["id"], str(walk_in.id)):
        response = await client.get(f"{API}/payments/{hidden}", headers=me)
        assert (response.status_code, error(response)) == (404, "payment_not_found")

    beta = f"{API}/accounts/{shop.beta.id}"
    token = (await shop.sandbox.tokenise(VISA, 12, 2030, "123")).token
    for method, path, body in (
        ("GET", f"{beta}/wallet", None),
        ("PUT", f"{beta}/wallet", {"minimum_balance": "0"}),
        ("GET", f"{beta}/wallet/history", None),
        ("GET", f"{beta}/payment-methods", None),
        ("POST", f"{beta}/payment-methods", {"token": token}),
        ("DELETE", f"{beta}/payment-methods/{shop.beta_card.id}", None),
        ("POST", f"{beta}/wallet/top-ups", {"amount": "5.00"}),
    ):
        response = await client.request(method, path, json=body, headers=me)
        assert (response.status_code, error(response)) == (404, "account_not_found"), path
    alpha = f"{API}/accounts/{shop.alpha.id}"
    foreign_card = await client.delete(f"{alpha}/payment-methods/{shop.beta_card.id}", headers=me)
    assert (foreign_card.status_code, error(foreign_card)) == (404, "card_not_found")
    assert await shop.wallet(shop.beta) == D("10.00")
    assert len(await shop.payments(PaymentPurpose.TOP_UP)) == 2
    beta_cards = await client.get(f"{beta}/payment-methods", headers=shop.finance)
    assert [c["id"] for c in beta_cards.json()] == [str(shop.beta_card.id)]

    # Their own wallet and cards are theirs to manage; refunds are finance's.
    assert (await client.get(f"{alpha}/wallet", headers=me)).status_code == 200
    assert (await client.get(f"{alpha}/payment-methods", headers=me)).status_code == 200
    refund = await shop.refund(mine.json()["id"], {"reason": "mine"}, headers=me)
    assert (refund.status_code, error(refund)) == (403, "permission_denied")
