"""``chargeledger roaming invite|register|pull-tokens|list``: OCPI 2.2.1 roaming (issue 18).

``invite`` makes the token A a partner registers with at our ``/ocpi/versions`` (shown once);
``register`` does the other role of the handshake: we register at a partner's platform with
the token A it gave us. Both need our party (``CHARGELEDGER_OCPI_COUNTRY_CODE``/``_PARTY_ID``);
``register`` also needs ``CHARGELEDGER_OCPI_URL``, where the partner reaches our API.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from chargeledger.cli.common import console, fail, run_with_runtime
from chargeledger.domain.roaming import PartyRole
from chargeledger.services.roaming.handshake import (
    OurParty,
    invite_partner,
    register_with_partner,
)
from chargeledger.services.roaming.tokens import pull_partner_tokens

if TYPE_CHECKING:
    from chargeledger.bootstrap import Runtime

roaming_app = typer.Typer(help="Roaming partners (OCPI 2.2.1).", no_args_is_help=True)


def _ours(rt: Runtime) -> OurParty:
    config = rt.settings.roaming
    if config.country_code is None or config.party_id is None or config.url is None:
        raise fail(
            "set CHARGELEDGER_OCPI_COUNTRY_CODE, CHARGELEDGER_OCPI_PARTY_ID and "
            "CHARGELEDGER_OCPI_URL (where partners reach our /ocpi)",
            "ocpi_not_configured",
        )
    name = rt.settings.operator.get("name") or "chargeledger"
    return OurParty(config.country_code, config.party_id, name, config.url + "/versions")


@roaming_app.command("invite")
def invite(
    name: Annotated[str, typer.Option(help="the partner's business name")],
    country_code: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2, e.g. NL")],
    party_id: Annotated[str, typer.Option(help="3 letters or digits, e.g. EMS")],
    role: Annotated[PartyRole, typer.Option()] = PartyRole.EMSP,
    account_id: Annotated[
        uuid.UUID | None, typer.Option(help="the business account its sessions are billed to")
    ] = None,
) -> None:
    """Add a partner and print the token A it registers with (shown only now)."""

    async def work(rt: Runtime) -> None:
        ours = _ours(rt)
        partner, token = await invite_partner(
            rt.uow,
            rt.clock,
            name=name,
            country_code=country_code,
            party_id=party_id,
            role=role,
            account_id=account_id,
        )
        console.print(f"partner {partner.id} ({partner.party}, {partner.role.value}) invited")
        console.print(f"versions URL: {ours.versions_url}")
        console.print(f"token A: {token}", highlight=False)

    run_with_runtime(work)


@roaming_app.command("register")
def register(
    partner_id: uuid.UUID,
    versions_url: Annotated[str, typer.Option(help="the partner's OCPI versions URL")],
    token: Annotated[str, typer.Option(help="the token A the partner gave us")],
) -> None:
    """Register at the partner's platform (we are the client of the handshake)."""

    async def work(rt: Runtime) -> None:
        partner = await register_with_partner(
            rt.roaming, _ours(rt), partner_id, versions_url, token
        )
        modules = ", ".join(sorted({str(e.identifier) for e in partner.endpoints}))
        console.print(f"registered with {partner.party}: {modules}")

    run_with_runtime(work)


@roaming_app.command("pull-tokens")
def pull_tokens(partner_id: uuid.UUID) -> None:
    """Bring the partner's tokens (its drivers' cards and apps) into our token registry."""

    async def work(rt: Runtime) -> None:
        pulled = await pull_partner_tokens(rt.roaming, partner_id)
        console.print(
            f"tokens: {pulled.added} added, {pulled.changed} changed, {pulled.unchanged} as "
            f"they were, {pulled.conflicts} uids of other accounts, {pulled.invalid} unreadable"
        )

    run_with_runtime(work)


@roaming_app.command("list")
def list_partners() -> None:
    """The roaming partners and where each stands in the handshake."""

    async def work(rt: Runtime) -> None:
        async with rt.uow() as uow:
            partners = await uow.roaming.listed()
        table = Table("id", "party", "role", "name", "status", "versions URL")
        for p in partners:
            table.add_row(
                str(p.id), p.party, p.role.value, p.name, p.status.value, p.versions_url or ""
            )
        console.print(table)

    run_with_runtime(work)
