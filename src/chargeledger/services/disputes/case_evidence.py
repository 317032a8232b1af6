"""A case's evidence pack, and a chargeback answered with it (issue 15).

The pack is the disputed session's (``evidence.collect_evidence``) with the case's summary on
its cover. For a chargeback the PSP wants text in named fields (Stripe's
``Dispute.evidence``): :func:`psp_evidence` writes them from the pack — what was sold, when,
the signed meter data's verdict, the price and how it was computed — and
:func:`submit_chargeback_evidence` sends them once per case (our idempotency key names the
case), recording what went out.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from chargeledger.domain.billing import VatRates
from chargeledger.domain.disputes import Dispute, DisputeEvent, EventKind
from chargeledger.domain.evidence import EvidencePack
from chargeledger.domain.identity import Principal
from chargeledger.domain.station_link import SignedMeterValue
from chargeledger.errors import ConflictError
from chargeledger.services.charging.signed_data import signed_readings_of
from chargeledger.services.disputes.cases import (
    CaseFile,
    case_file,
    disputed_session,
    visible_case,
)
from chargeledger.services.disputes.evidence import Judge, collect_evidence
from chargeledger.services.locking import exclusive
from chargeledger.services.payments.context import PaymentContext
from chargeledger.services.ports import Clock, MeterSignatureVerifier, UnitOfWork

MAX_TEXT = 20_000  # Stripe takes 150,000 characters over all fields; one field stays readable


def case_summary(case: Dispute) -> dict[str, Any]:
    """What the pack's cover says of the case."""
    return {
        "number": case.number,
        "state": case.state.value,
        "origin": case.origin.value,
        "reason": case.reason.value,
        "description": case.description,
        "amount": None if case.amount is None else str(case.amount),
        "currency": case.currency.code,
        "opened_at": case.opened_at.isoformat(),
        "respond_by": case.respond_by.isoformat(),
        "resolution": None if case.resolution is None else case.resolution.value,
        "resolution_note": case.resolution_note,
        "psp_dispute_id": None if case.chargeback is None else case.chargeback.psp_dispute_id,
    }


async def case_evidence(
    uow: UnitOfWork,
    clock: Clock,
    principal: Principal,
    dispute_id: uuid.UUID,
    *,
    rates: VatRates,
    verifier: MeterSignatureVerifier | None = None,
) -> EvidencePack:
    """The evidence pack of a case the principal may see (read-only); with a ``verifier``
    each signed value carries its verdict (the registry's key, else the station's)."""
    case = await visible_case(uow, principal, dispute_id)
    session_id = await disputed_session(uow, case)
    judge = None if verifier is None else await _judge(uow, verifier, session_id)
    return await collect_evidence(
        uow, clock, session_id, rates=rates, judge=judge, case=case_summary(case)
    )


async def _judge(uow: UnitOfWork, verifier: MeterSignatureVerifier, session_id: uuid.UUID) -> Judge:
    """Each stored signed value's verdict, with what the session's records say against the
    billed session (pagination, serial, times, energy) added to the detail."""
    signed = await signed_readings_of(uow, verifier, session_id)
    problems = "; ".join(issue.message for issue in signed.issues)
    verdicts = {}
    for reading in signed.readings:
        detail = "; ".join(x for x in (reading.check.detail, problems) if x) or None
        verdicts[reading.value.data_hash] = (reading.check.verdict.value, detail)

    def judge(value: SignedMeterValue) -> tuple[str, str | None]:
        return verdicts.get(value.data_hash, ("malformed", "not checked"))

    return judge


def psp_evidence(pack: EvidencePack) -> dict[str, str]:
    """Stripe ``Dispute.evidence`` text fields written from the pack."""
    s = pack.session
    energy = "" if s.billed_energy_wh is None else f"{s.billed_energy_wh / 1000:.3f} kWh"
    when = s.started_at.strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"Charging session {s.transaction_ref} at {s.site}, station {s.station}."]
    lines.append(f"Started {when}; stopped {s.stopped_at or 'not yet'}; energy {energy}.")
    for reading in pack.signed_readings:
        verdict = reading.verdict or "not checked"
        lines.append(
            f"Signed meter record ({reading.format}, {reading.context}): {verdict}"
            + (f" ({reading.detail})" if reading.detail else "")
            + ("" if reading.energy_kwh is None else f", {reading.energy_kwh} kWh")
        )
    if pack.price is not None:
        p = pack.price
        lines.append(f"Price {p.gross} {p.currency} incl. VAT ({p.net} net):")
        lines += [f"  {line.explanation}" for line in p.lines]
    if pack.tariff is not None:
        lines.append("Price shown before the start: " + " ".join(pack.tariff.display))
    for event in pack.payment_events:
        at = event.at.strftime("%Y-%m-%d %H:%M")
        lines.append(f"Payment {event.kind} {event.amount} {event.currency} at {at}")
    return {
        "product_description": f"EV charging: {energy} at {s.site} ({s.station})"[:MAX_TEXT],
        "service_date": s.started_at.date().isoformat(),
        "uncategorized_text": "\n".join(lines)[:MAX_TEXT],
    }


async def submit_chargeback_evidence(
    ctx: PaymentContext,
    principal: Principal,
    dispute_id: uuid.UUID,
    *,
    rates: VatRates,
    verifier: MeterSignatureVerifier | None = None,
) -> CaseFile:
    """Answer an open chargeback with its pack, once (``evidence_already_submitted``)."""
    async with exclusive(
        ctx.locks, f"dispute:{dispute_id}", ctx.lock_wait, code="dispute_busy", what="the case"
    ):
        async with ctx.uow() as uow:
            case = await visible_case(uow, principal, dispute_id)
            if case.chargeback is None or case.state.is_closed:
                raise ConflictError(
                    f"dispute {case.number} is no open chargeback", code="not_an_open_chargeback"
                )
            if any(
                e.kind is EventKind.EVIDENCE_SUBMITTED for e in await uow.disputes.events(case.id)
            ):
                raise ConflictError(
                    f"evidence for {case.number} was submitted already",
                    code="evidence_already_submitted",
                )
            pack = await case_evidence(
                uow, ctx.clock, principal, case.id, rates=rates, verifier=verifier
            )
        fields = psp_evidence(pack)
        gateway = ctx.gateway(case.chargeback.gateway)
        status = await gateway.submit_dispute_evidence(
            dispute_id=case.chargeback.psp_dispute_id,
            evidence=fields,
            idempotency_key=f"cl-{case.id}-evidence",
        )
        digest = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()
        async with ctx.uow() as uow:
            await uow.disputes.add_event(
                DisputeEvent(
                    dispute_id=case.id,
                    kind=EventKind.EVIDENCE_SUBMITTED,
                    at=ctx.clock.now(),
                    by=principal.subject,
                    note=f"submitted to {case.chargeback.gateway}: {status}",
                    data={"fields": sorted(fields), "sha256": digest, "psp_status": status},
                    key=f"evidence:{case.id}",
                )
            )
            found = await case_file(uow, principal, case.id)
            await uow.commit()
    return found
