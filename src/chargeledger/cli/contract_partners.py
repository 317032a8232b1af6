"""``chargeledger contracts partners ...`` (issue 14): the partner organisations contracts are
made with and that we pay (site hosts, roaming partners), as ``/api/v1/partners`` offers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from chargeledger.cli.common import console, run_with_runtime
from chargeledger.cli.contract_views import partners_table
from chargeledger.domain.contract_records import Partner, PartnerKind
from chargeledger.domain.geo import Address
from chargeledger.services.contracts import records
from chargeledger.services.transactions import in_transaction, reading

if TYPE_CHECKING:
    from chargeledger.bootstrap import Runtime

partners_app = typer.Typer(help="Partners (site hosts, roaming partners).", no_args_is_help=True)


@partners_app.command("add")
def add_partner(
    kind: Annotated[PartnerKind, typer.Option()],
    name: Annotated[str, typer.Option()],
    email: Annotated[str, typer.Option()],
    street: Annotated[str, typer.Option()],
    postal_code: Annotated[str, typer.Option()],
    city: Annotated[str, typer.Option()],
    country: Annotated[str, typer.Option()],
    vat_id: Annotated[str | None, typer.Option()] = None,
    iban: Annotated[str | None, typer.Option(help="where we pay it (self-billing)")] = None,
) -> None:
    """Add a partner organisation (a site host, a roaming partner)."""

    async def work(rt: Runtime) -> Partner:
        address = Address(street, postal_code, city, country)
        partner = Partner(kind, name, email, address, vat_id, iban)
        return await in_transaction(rt.uow, records.add_partner, rt.clock, partner)

    added = run_with_runtime(work)
    console.print(f"added partner {escape(added.name)} ({added.id})")


@partners_app.command("list")
def list_partners(
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    offset: Annotated[int, typer.Option(min=0)] = 0,
) -> None:
    """Partners, by name."""

    async def work(rt: Runtime) -> list[Partner]:
        page = await reading(rt.uow, records.list_partners, limit=limit, offset=offset)
        return list(page.items)

    console.print(partners_table(run_with_runtime(work)))
