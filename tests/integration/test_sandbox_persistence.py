"""The sandbox PSP remembers across restarts (issue 11 item 13), on SQLite and PostgreSQL.

Before, the simulator kept its state in the process's memory: after a restart a stored card
failed with ``unknown_card_token``, a hold could never be captured, and the seeded id generator
started over, handing out tokens that collided with stored ones. Now its state lives in the
``sandbox_*`` tables: one runtime stores a card and holds a payment and is closed; a second
runtime on the same database authorises the stored card, captures the hold, answers a repeated
idempotency key with the first answer, pays out, hands out ids unlike every stored one, and
delivers the webhooks the first process could not.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from chargeledger.adapters.db.payment_tables import webhook_receipts
from chargeledger.adapters.db.sandbox_tables import (
    sandbox_cards,
    sandbox_payments,
    sandbox_webhooks,
)
from chargeledger.adapters.gateways.sandbox import SandboxGateway
from chargeledger.bootstrap import Runtime, build_runtime
from chargeledger.config import Settings
from chargeledger.domain.payments import PaymentStatus
from chargeledger.errors import InvalidInputError
from chargeledger.money import Money
from chargeledger.services.payments.gateway import Outcome
from chargeledger.services.payments.methods import store_card
from chargeledger.services.payments.wallets import top_up, wallet_balance
from tests.conftest import fast_hasher, make_account

VISA = "4242424242424242"
LIMITED = "4000000000005126"  # approved up to 50.00


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


async def open_runtime(database: tuple[str, str | None], data_dir: Path) -> Runtime:
    url, schema = database
    settings = Settings.from_env(
        {"CHARGELEDGER_DATA_DIR": str(data_dir), "CHARGELEDGER_DATABASE_URL": url}
    )
    runtime = build_runtime(settings, schema=schema, hasher=fast_hasher())
    await runtime.migrate()
    return runtime


def psp(runtime: Runtime) -> SandboxGateway:
    assert runtime.sandbox is not None
    return runtime.sandbox


async def column(runtime: Runtime, selected: object) -> list[object]:
    async with runtime._factory.engine.connect() as connection:
        return list((await connection.execute(select(selected))).scalars())  # type: ignore[call-overload]


async def refuse(payload: bytes, headers: Mapping[str, str]) -> int:
    return 503  # the receiver is down: the PSP keeps the event for later


async def test_the_sandbox_remembers_cards_holds_and_answers_across_a_restart(
    database: tuple[str, str | None], tmp_path: Path
) -> None:
    first = await open_runtime(database, tmp_path / "data")
    try:
        sandbox = psp(first)
        sandbox.deliver_webhooks_to(refuse)
        sandbox.max_webhook_delay = 0
        account = await make_account(first, "Restart Household")
        visa = await sandbox.tokenise(VISA, 12, 2030, "123")
        stored = await store_card(first.payments, account, visa.token, "sandbox", True)
        limited = (await sandbox.tokenise(LIMITED, 12, 2030, "123")).token
        held = await sandbox.authorise(
            amount=eur("30.00"), method_token=visa.token, idempotency_key="hold-1", reference="p1"
        )
        assert held.outcome is Outcome.AUTHORISED
        assert held.provider_ref is not None
        await sandbox.settle()  # four attempts, all refused
        tokens_before = set(await column(first, sandbox_cards.c.token))
        refs_before = set(await column(first, sandbox_payments.c.provider_ref))
        assert await column(first, sandbox_webhooks.c.delivered_at) == [None]
    finally:
        await first.aclose()

    second = await open_runtime(database, tmp_path / "data")
    try:
        sandbox = psp(second)
        # The card stored on the account is known to the PSP and authorises.
        details = await sandbox.card_details(stored.token)
        assert (details.brand, details.last4) == ("visa", "4242")
        again = await sandbox.authorise(
            amount=eur("12.00"), method_token=stored.token, idempotency_key="hold-2", reference="p2"
        )
        assert again.outcome is Outcome.AUTHORISED
        # The test card's behaviour was kept with its token.
        over = await sandbox.authorise(
            amount=eur("60.00"), method_token=limited, idempotency_key="hold-3", reference="p3"
        )
        assert (over.outcome, over.decline_code) == (Outcome.DECLINED, "insufficient_funds")
        # The same key and request get the first answer; another request under it is refused.
        replay = await sandbox.authorise(
            amount=eur("30.00"), method_token=visa.token, idempotency_key="hold-1", reference="p1"
        )
        assert replay == held
        assert str(replay.amount) == str(held.amount)
        with pytest.raises(InvalidInputError) as caught:
            await sandbox.authorise(
                amount=eur("31.00"),
                method_token=visa.token,
                idempotency_key="hold-1",
                reference="p1",
            )
        assert caught.value.code == "idempotency_mismatch"
        # The hold made before the restart captures, once, and is paid out less fees.
        view = await sandbox.lookup(reference="p1", provider_ref=None)
        assert view is not None
        assert (view.provider_ref, view.authorised, view.captured) == (
            held.provider_ref,
            Decimal("30.00"),
            0,
        )
        captured = await sandbox.capture(
            provider_ref=held.provider_ref, amount=eur("20.00"), idempotency_key="capture-1"
        )
        assert (captured.outcome, captured.amount) == (Outcome.CAPTURED, Decimal("20.00"))
        refund = await sandbox.refund(
            provider_ref=held.provider_ref,
            amount=eur("5.00"),
            idempotency_key="refund-1",
            reason="restart",
        )
        assert refund.outcome is Outcome.REFUNDED
        payout = await sandbox.pay_out("EUR")
        assert payout is not None
        assert (payout.gross, payout.fee) == (eur("15.00"), eur("0.53"))  # 0.28 + 0.25
        # New ids never collide with those handed out before the restart.
        fresh = {(await sandbox.tokenise(VISA, 12, 2030, "123")).token for _ in range(5)}
        assert len(fresh) == 5
        assert not fresh & tokens_before
        assert again.provider_ref not in refs_before
        # The webhook the first process could not deliver is sent again, and arrives.
        await second.payment_janitor()
        await second.quiesce()
        assert None not in await column(second, sandbox_webhooks.c.delivered_at)
        received = await column(second, webhook_receipts.c.event_id)
        assert len(received) == len(await column(second, sandbox_webhooks.c.event_id))
    finally:
        await second.aclose()


async def test_a_stored_card_pays_after_a_restart_through_the_services(
    database: tuple[str, str | None], tmp_path: Path
) -> None:
    """What a driver saw before: the app card stored yesterday fails with
    ``unknown_card_token`` after the server restarted. Through the top-up use case."""
    first = await open_runtime(database, tmp_path / "data")
    try:
        account = await make_account(first, "Wallet After Restart")
        token = (await psp(first).tokenise(VISA, 12, 2030, "123")).token
        card = await store_card(first.payments, account, token, "sandbox", True)
        await first.quiesce()
    finally:
        await first.aclose()
    second = await open_runtime(database, tmp_path / "data")
    try:
        payment, status = await top_up(
            second.payments, account, Decimal("25.00"), card, uuid.uuid4()
        )
        await second.quiesce()
        assert (payment.gateway, status) == ("sandbox", PaymentStatus.CAPTURED)
        async with second.uow() as uow:
            assert await wallet_balance(uow, account.id) == Decimal("25.00")
    finally:
        await second.aclose()


async def test_the_same_request_at_once_is_done_once(
    database: tuple[str, str | None], tmp_path: Path
) -> None:
    """Turns about one card or payment take turns (its row lock on PostgreSQL): five copies
    of one hold at once hold once, five captures of that hold at once capture once."""
    runtime = await open_runtime(database, tmp_path / "data")
    try:
        sandbox = psp(runtime)
        token = (await sandbox.tokenise(VISA, 12, 2030, "123")).token
        held = await asyncio.gather(
            *(
                sandbox.authorise(
                    amount=eur("30.00"), method_token=token, idempotency_key="same", reference="p"
                )
                for _ in range(5)
            )
        )
        assert len(set(held)) == 1
        [hold] = await sandbox.holds()
        assert hold.provider_ref == held[0].provider_ref
        captured = await asyncio.gather(
            *(
                sandbox.capture(
                    provider_ref=hold.provider_ref, amount=eur("10.00"), idempotency_key=f"c{n}"
                )
                for n in range(5)
            )
        )
        assert {(c.outcome, c.amount) for c in captured} == {(Outcome.CAPTURED, Decimal("10.00"))}
        [after] = await sandbox.holds()
        assert (after.held, after.captured) == (Decimal("30.00"), Decimal("10.00"))
        bodies = await column(runtime, sandbox_webhooks.c.body)
        kinds = [json.loads(str(body))["type"] for body in bodies]
        assert sorted(kinds) == ["payment.authorised", "payment.captured"]
        await runtime.quiesce()
    finally:
        await runtime.aclose()
