"""No card number reaches storage through free text (issue 11 item 6; DESIGN §2 "No card data"):
an ``Idempotency-Key`` holding one is refused before anything is stored or moved, and free-text
fields (names, e-mails, addresses, labels, release notes, tariff texts) refuse one with 422
``card_data_refused``, while RFID uids and serial numbers made of Luhn-valid digits are kept."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from chargeledger.adapters.db.payment_tables import idempotency_records
from chargeledger.bootstrap import Runtime
from chargeledger.domain.accounts import BillingMode, TokenType
from chargeledger.domain.identity import Role
from chargeledger.errors import InvalidInputError
from chargeledger.services import tariffs
from chargeledger.services.demo_tariffs import flat_with_session_fee
from chargeledger.services.payments.wallets import wallet_balance
from tests.conftest import LoginAs
from tests.integration.payment_world import add_customer, card_for

API = "/api/v1"
CARD = "4242 4242 4242 4242"
LUHN_DIGITS = "4000056655665556"
Json = dict[str, Any]


def refused_as_card_data(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("card_data_refused", field)
    assert "4242" not in response.text


async def stored_keys(runtime: Runtime) -> int:
    async with runtime._factory.engine.connect() as connection:
        query = select(func.count()).select_from(idempotency_records)
        return int((await connection.execute(query)).scalar_one())


async def test_an_idempotency_key_holding_a_card_number_stores_and_moves_nothing(
    runtime: Runtime, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    account = await add_customer(runtime, "Alpha", "ALPHA001", TokenType.APP, BillingMode.PREPAID)
    await card_for(runtime, account)
    finance = await login_as(Role.FINANCE)
    path = f"{API}/accounts/{account.id}/wallet/top-ups"
    for key in (CARD, f"order-{CARD.replace(' ', '')}", "4242-4242-4242-4242"):
        response = await client.post(
            path, json={"amount": "20.00"}, headers={**finance, "Idempotency-Key": key}
        )
        refused_as_card_data(response, "Idempotency-Key")
    await runtime.quiesce()
    assert await stored_keys(runtime) == 0
    async with runtime.uow() as uow:
        assert await uow.payments.all() == []
        assert await wallet_balance(uow, account.id) == 0

    kept = await client.post(
        path, json={"amount": "20.00"}, headers={**finance, "Idempotency-Key": "top-up-0001"}
    )
    assert kept.status_code == 201, kept.text
    await runtime.quiesce()
    assert await stored_keys(runtime) == 1


def account_body(**overrides: Any) -> Json:
    return {
        "kind": "business",
        "name": "Fleet GmbH",
        "email": "billing@fleet.example",
        "billing_address": {
            "street": "Ring 1",
            "postal_code": "10115",
            "city": "Berlin",
            "country": "DE",
        },
        "currency": "EUR",
        **overrides,
    }


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("name", {"name": f"Fleet {CARD}"}),
        ("reference", {"reference": f"PO {CARD}"}),
        ("email", {"email": f"{CARD.replace(' ', '')}@fleet.example"}),
        (
            "street",
            {
                "billing_address": {
                    "street": f"Ring {CARD}",
                    "postal_code": "10115",
                    "city": "Berlin",
                    "country": "DE",
                }
            },
        ),
    ],
)
async def test_free_text_of_an_account_refuses_a_card_number(
    client: httpx.AsyncClient, login_as: LoginAs, field: str, overrides: Json
) -> None:
    finance = await login_as(Role.FINANCE)
    before = (await client.get(f"{API}/accounts", headers=finance)).json()["items"]
    response = await client.post(f"{API}/accounts", json=account_body(**overrides), headers=finance)
    refused_as_card_data(response, field)
    after = (await client.get(f"{API}/accounts", headers=finance)).json()["items"]
    assert after == before


async def test_user_names_refuse_card_numbers_and_rfid_uids_keep_their_digits(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as(Role.ADMIN)
    user = {"email": "ana@example.org", "password": "a long enough password", "role": "finance"}
    response = await client.post(
        f"{API}/users", json={**user, "name": f"Ana {CARD}"}, headers=admin
    )
    refused_as_card_data(response, "name")
    account = await client.post(f"{API}/accounts", json=account_body(), headers=admin)
    token = await client.post(
        f"{API}/tokens",
        json={"uid": LUHN_DIGITS, "type": "rfid", "account_id": account.json()["id"]},
        headers=admin,
    )
    assert (token.status_code, token.json()["uid"]) == (201, LUHN_DIGITS)
    label = await client.post(
        f"{API}/tokens",
        json={
            "uid": "04AABBCCDD",
            "type": "rfid",
            "account_id": account.json()["id"],
            "label": f"card {CARD}",
        },
        headers=admin,
    )
    refused_as_card_data(label, "label")


async def test_a_tariff_display_text_refuses_a_card_number(runtime: Runtime) -> None:
    document = flat_with_session_fee(Decimal(19))
    document["tariff_alt_text"] = [{"language": "en", "text": f"pay with {CARD}"}]
    async with runtime.uow() as uow:
        with pytest.raises(InvalidInputError) as refused:
            await tariffs.import_tariff(uow, runtime.clock, document)
        assert refused.value.code == "card_data_refused"
        assert (await tariffs.list_tariffs(uow)).items == []
