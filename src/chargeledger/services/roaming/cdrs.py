"""The CDRs a roaming partner pulls from us as a CPO (OCPI 2.2.1 §10.2.1, the sender interface).

Whose: a partner's drivers charge with tokens of the billing account the partner was given
(``RoamingPartner.account_id``); their sessions are billed to it, on the partner's periodic
invoice. So a partner sees the CDRs of that account, and nothing when it has no account:
never another partner's, never our own drivers'.

Which: one per charged session, from the moment its charge is booked (an open, quarantined or
not yet charged session has no CDR); and for each re-pricing of one, the credit CDR of the CDR
it stood at and the new CDR (§10.1.1, ``credit_cdrs``), from the moment of the re-pricing.
``last_updated`` is that moment and never changes (charges and re-pricings are append-only), so
``date_from``/``date_to`` (§10.2.1, inclusive/exclusive) select by it and a partner's
incremental pull sees each CDR once. The order is that of issue, then the record's id: stable
from one page to the next. A page is read from storage (an account's CDRs grow without end).
Each is the document that was (or will be) pushed. Query only: nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chargeledger.domain.billing import VatRates
from chargeledger.domain.ocpi_cdrs import OcpiParty, cdr_document
from chargeledger.domain.roaming import RoamingPartner
from chargeledger.services.billing.cdr_exports import charged_sessions
from chargeledger.services.ports import UnitOfWork
from chargeledger.services.roaming.credit_cdrs import repriced_cdrs


@dataclass(frozen=True, slots=True)
class CdrPage:
    """One page of a partner's CDR documents and how many there are in all (§4.1.5
    ``X-Total-Count``)."""

    items: list[dict[str, Any]]
    total: int


async def partner_cdrs(
    uow: UnitOfWork,
    partner: RoamingPartner,
    rates: VatRates,
    cpo: OcpiParty,
    *,
    date_from: datetime | None,
    date_to: datetime | None,
    offset: int,
    limit: int,
) -> CdrPage:
    """The page of ``partner``'s CDRs at ``offset`` (module docstring); ``cpo`` is us."""
    issuer = OcpiParty(partner.country_code, partner.party_id)
    if partner.account_id is None:
        return CdrPage([], 0)
    entries, total = await uow.billing.cdrs_of_account(
        partner.account_id, date_from, date_to, limit=limit, offset=offset
    )
    items = []
    for entry in entries:
        if entry.version == 0:
            charge = await uow.billing.charge_for_session(entry.session_id)
            if charge is None:  # a listed charge is there: never
                continue
            (charged,) = await charged_sessions(uow, [charge], rates)
            items.append(cdr_document(charged, cpo=cpo, issuer=issuer))
            continue
        credit, current = await repriced_cdrs(
            uow, rates, entry.session_id, entry.version, cpo=cpo, issuer=issuer
        )
        items.append(credit if entry.credit else current)
    return CdrPage(items, total)
