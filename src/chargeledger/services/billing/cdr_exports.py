"""OCPI 2.2.1 CDRs (§10.3.1) of charged sessions, for roaming partners (``export cdrs``).

Each CDR is priced again from the session's frozen tariff (DESIGN §2: one pricing function)
and carries the totals as booked. Read only: handed an open unit of work, commits nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chargeledger.domain.billing import VatRates, cdr_totals
from chargeledger.domain.tariffs.ocpi_json import cdr_to_json
from chargeledger.services.charging.session_pricing import price_captured_session
from chargeledger.services.ports import UnitOfWork


async def cdrs_between(
    uow: UnitOfWork, started_from: datetime, started_before: datetime, rates: VatRates
) -> list[dict[str, Any]]:
    """The CDRs, as OCPI JSON objects, of sessions charged that started in the window."""
    documents = []
    for charge in await uow.billing.charges_between(started_from, started_before):
        session = await uow.sessions.get(charge.session_id)
        if session is None:
            continue
        priced = await price_captured_session(uow, session, rates)
        totals = cdr_totals(priced.result, charge.billed)  # as booked
        documents.append(cdr_to_json(priced.cdr, totals, priced.country))
    return documents
