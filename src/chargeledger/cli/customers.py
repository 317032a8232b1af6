"""``chargeledger accounts|tokens ...``: customers and their cards from the shell."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from chargeledger.cli.common import console, run_with_runtime
from chargeledger.domain.accounts import (
    Account,
    AccountKind,
    BillingCycle,
    BillingMode,
    Token,
    TokenStatus,
    TokenType,
)
from chargeledger.domain.geo import Address
from chargeledger.domain.identity import Principal, Role
from chargeledger.money import Currency
from chargeledger.services import customers
from chargeledger.services.transactions import in_transaction, reading

if TYPE_CHECKING:
    from chargeledger.bootstrap import Runtime

accounts_app = typer.Typer(help="Customer accounts.", no_args_is_help=True)
tokens_app = typer.Typer(help="RFID cards and app tokens.", no_args_is_help=True)

# The shell is the operator's own machine: it acts with the admin's view of the data.
SHELL = Principal(subject="cli", role=Role.ADMIN)


@accounts_app.command("list")
def list_accounts(
    kind: Annotated[AccountKind | None, typer.Option()] = None,
    search: Annotated[str | None, typer.Option("--search", "-q")] = None,
) -> None:
    async def work(rt: Runtime) -> None:
        page = await reading(
            rt.uow, customers.list_accounts, SHELL, kind=kind, search=search, limit=1000
        )
        table = Table("id", "name", "kind", "country", "VAT id", "currency", "billing")
        for a in page.items:
            table.add_row(
                str(a.id),
                a.name,
                a.kind.value,
                a.billing_address.country,
                a.vat_id or "",
                a.currency.code,
                a.billing_mode.value,
            )
        console.print(table)

    run_with_runtime(work)


@accounts_app.command("add")
def add_account(
    kind: Annotated[AccountKind, typer.Option()],
    name: Annotated[str, typer.Option()],
    email: Annotated[str, typer.Option()],
    street: Annotated[str, typer.Option()],
    postal_code: Annotated[str, typer.Option()],
    city: Annotated[str, typer.Option()],
    country: Annotated[str, typer.Option()],
    currency: Annotated[str, typer.Option()] = "EUR",
    vat_id: Annotated[str | None, typer.Option()] = None,
    payment_terms_days: Annotated[int, typer.Option()] = 14,
    billing_mode: Annotated[BillingMode, typer.Option()] = BillingMode.POSTPAID,
    billing_cycle: Annotated[BillingCycle, typer.Option()] = BillingCycle.MONTHLY,
    reference: Annotated[str | None, typer.Option()] = None,
) -> None:
    async def work(rt: Runtime) -> None:
        account = Account(
            kind=kind,
            name=name,
            email=email,
            billing_address=Address(street, postal_code, city, country),
            currency=Currency.of(currency),
            vat_id=vat_id,
            payment_terms_days=payment_terms_days,
            billing_mode=billing_mode,
            billing_cycle=billing_cycle,
            reference=reference,
        )
        created = await in_transaction(
            rt.uow, customers.create_account, rt.clock, rt.vat_ids, account
        )
        console.print(f"opened account {created.name} ({created.id})")

    run_with_runtime(work)


@tokens_app.command("list")
def list_tokens(account_id: Annotated[uuid.UUID | None, typer.Option()] = None) -> None:
    async def work(rt: Runtime) -> None:
        page = await reading(
            rt.uow, customers.list_tokens, SHELL, account_id=account_id, limit=1000
        )
        now = rt.clock.now()
        table = Table("id", "uid", "type", "status", "account", "expires")
        for t in page.items:
            table.add_row(
                str(t.id),
                t.uid,
                t.type.value,
                t.status_at(now).value,
                str(t.account_id),
                t.expires_at.isoformat() if t.expires_at else "",
            )
        console.print(table)

    run_with_runtime(work)


@tokens_app.command("add")
def add_token(
    uid: Annotated[str, typer.Option()],
    account_id: Annotated[uuid.UUID, typer.Option()],
    token_type: Annotated[TokenType, typer.Option("--type")] = TokenType.RFID,
    label: Annotated[str | None, typer.Option()] = None,
) -> None:
    async def work(rt: Runtime) -> None:
        token = Token(uid=uid, type=token_type, account_id=account_id, label=label)
        created = await in_transaction(rt.uow, customers.create_token, rt.clock, token)
        console.print(f"issued token {created.uid} ({created.id})")

    run_with_runtime(work)


@tokens_app.command("block")
def block_token(token_id: uuid.UUID) -> None:
    """Block a token at once (lost or stolen card)."""

    async def work(rt: Runtime) -> None:
        token = await in_transaction(
            rt.uow,
            customers.update_token,
            rt.clock,
            SHELL,
            token_id,
            {"status": TokenStatus.BLOCKED},
        )
        console.print(f"blocked token {token.uid}")

    run_with_runtime(work)
