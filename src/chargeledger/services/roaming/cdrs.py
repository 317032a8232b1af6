"""The CDRs a roaming partner pulls from us as a CPO (OCPI 2.2.1 §10.2.1, the sender interface).

Whose: a partner's drivers charge with tokens of the billing account the partner was given
(``RoamingPartner.account_id``); their sessions are billed to it, on the partner's periodic
invoice. So a partner sees the CDRs of the charged sessions of that account, and nothing when it
has no account: never another partner's, never our own drivers'.

Which: one per charged session, from the moment its charge is booked (an open, quarantined or
not yet charged session has no CDR). ``last_updated`` is that moment and never changes (charges
are append-only), so ``date_from``/``date_to`` (§10.2.1, inclusive/exclusive) select by it and a
partner's incremental pull sees each CDR once. The order is that of booking, then the charge's
id: stable from one page to the next. A page is read from storage (an account's CDRs grow
without end, unlike locations). Query only: nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chargeledger.domain.billing import VatRates
from chargeledger.domain.ocpi_cdrs import ChargedSession, OcpiParty
from chargeledger.domain.roaming import RoamingPartner
from chargeledger.services.billing.cdr_exports import charged_sessions
from chargeledger.services.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class CdrPage:
    """One page of a partner's CDRs, how many there are in all (§4.1.5 ``X-Total-Count``)
    and whose tokens they were started with (the partner's party: §10.4.5)."""

    items: list[ChargedSession]
    total: int
    issuer: OcpiParty


async def partner_cdrs(
    uow: UnitOfWork,
    partner: RoamingPartner,
    rates: VatRates,
    *,
    date_from: datetime | None,
    date_to: datetime | None,
    offset: int,
    limit: int,
) -> CdrPage:
    """The page of ``partner``'s CDRs at ``offset`` (module docstring)."""
    issuer = OcpiParty(partner.country_code, partner.party_id)
    if partner.account_id is None:
        return CdrPage([], 0, issuer)
    charges, total = await uow.billing.charges_of_account(
        partner.account_id, date_from, date_to, limit=limit, offset=offset
    )
    return CdrPage(await charged_sessions(uow, charges, rates), total, issuer)
