"""What a re-pricing of a roaming partner's session sends the partner (OCPI 2.2.1 §10.1.1):
a CDR sent is never changed, so each re-pricing (``billing.repricing``, issue 15) credits the
CDR the session stood at (a credit CDR: its data, negative amounts) and sends a new CDR at the
new price, each under its own id (``domain.ocpi_cdrs.cdr_id``).

Both are built when sent from what is stored, as every CDR is: the session priced by the one
``price()`` under the re-pricing's tariff and readings (``charging.session_repricing``), with
the amounts the re-pricing recorded (the same the credit note or correction bills), dated
when the re-pricing was made.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from chargeledger.domain.billing import VatRates
from chargeledger.domain.exact_json import utc_text
from chargeledger.domain.ocpi_cdrs import (
    ChargedSession,
    OcpiParty,
    cdr_document,
    cdr_id,
    credit_cdr,
    credit_cdr_id,
)
from chargeledger.domain.repricing import Repricing
from chargeledger.errors import ChargeledgerError
from chargeledger.services.billing.cdr_exports import charged_sessions
from chargeledger.services.charging.session_repricing import price_corrected
from chargeledger.services.ports import UnitOfWork


class RepricedCdrUnavailableError(ChargeledgerError):
    default_code = "repriced_cdr_unavailable"
    http_status = 409


async def repriced_cdrs(
    uow: UnitOfWork,
    rates: VatRates,
    session_id: uuid.UUID,
    version: int,
    *,
    cpo: OcpiParty,
    issuer: OcpiParty,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The credit CDR of the CDR before the ``version``-th re-pricing, and the new CDR."""
    charge = await uow.billing.charge_for_session(session_id)
    history = await uow.repricings.of_session(session_id)
    if charge is None or not 0 < version <= len(history):
        raise RepricedCdrUnavailableError(f"session {session_id} has no re-pricing {version}")
    (charged,) = await charged_sessions(uow, [charge], rates)
    before = charged if version == 1 else await _repriced(uow, rates, charged, history[version - 2])
    after = await _repriced(uow, rates, charged, history[version - 1])
    made = history[version - 1].created_at
    previous = _document(before, version - 1, cpo, issuer)
    credit = credit_cdr(previous, credit_id=credit_cdr_id(session_id, version), issued_at=made)
    current = _document(after, version, cpo, issuer) | {"last_updated": utc_text(made)}
    return credit, current


def _document(
    charged: ChargedSession, version: int, cpo: OcpiParty, issuer: OcpiParty
) -> dict[str, Any]:
    doc = cdr_document(charged, cpo=cpo, issuer=issuer)
    doc["id"] = cdr_id(charged.session.id, version)
    return doc


async def _repriced(
    uow: UnitOfWork, rates: VatRates, charged: ChargedSession, repricing: Repricing
) -> ChargedSession:
    """``charged`` as ``repricing`` left it: priced under its tariff and readings, billed
    with its amounts (the charge's VAT treatment, as the re-pricing keeps it)."""
    after = repricing.after
    if after.tariff_id is None:
        raise RepricedCdrUnavailableError(f"re-pricing {repricing.id} names no tariff")
    priced = await price_corrected(
        uow,
        charged.session,
        rates,
        tariff_id=after.tariff_id,
        meter_start_wh=after.meter_start_wh,
        meter_stop_wh=after.meter_stop_wh,
        by=repricing.created_by,
        at=repricing.created_at,
    )
    stored = await uow.tariffs.get(after.tariff_id)
    charge = dataclasses.replace(
        charged.charge,
        components=after.billed.components,
        vat=after.billed.vat,
        energy_kwh=after.energy_kwh,
        tariff_id=after.tariff_id,
    )
    return dataclasses.replace(
        charged,
        charge=charge,
        cdr=priced.cdr,
        result=priced.result,
        tariff_recorded_at=charged.tariff_recorded_at if stored is None else stored.created_at,
    )
