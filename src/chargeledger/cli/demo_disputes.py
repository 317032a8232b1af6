"""The demo's disputes (issue 15): signed meter data answers a driver, and a chargeback is lost.

Before the day every station's meter key and serial are registered, as an operator takes them
from the type plate at commissioning (the simulator's meters sign every transaction with them,
``sim/ocmf_meter.py``). After the month:

1. a driver disputes a session whose signed record verifies: the evidence answers them and
   the case is rejected with its reason;
2. a driver disputes a session whose record does not verify with the meter's key: nothing
   proves the energy, so finance refunds it;
3. a card holder's bank charges a payment back: the case is answered with its evidence pack
   and lost at the PSP, booked to ``Expenses:Chargebacks`` with the dispute fee.

Each case's evidence pack (PDF and ZIP) is written to ``demo-output/disputes/``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from rich.table import Table

from chargeledger.bootstrap import Runtime
from chargeledger.cli.common import console
from chargeledger.domain.disputes import DisputeReason, Resolution, Subject
from chargeledger.domain.identity import Principal, Role
from chargeledger.domain.ocmf import SignatureVerdict
from chargeledger.domain.payments import Payment, PaymentMethodKind, PaymentPurpose, PaymentStatus
from chargeledger.services import catalog
from chargeledger.services.charging.meter_keys import register_meter_key
from chargeledger.services.charging.signed_data import signed_readings_of
from chargeledger.services.disputes import case_evidence, cases
from chargeledger.services.disputes.resolution import ResolutionRequest, resolve_dispute
from chargeledger.services.payments import views as payment_views
from chargeledger.services.transactions import in_transaction, reading
from chargeledger.sim import meter_identity

COMMISSIONED = datetime(2020, 1, 1, tzinfo=UTC)  # long before any demo session
FINANCE = Principal(subject="demo finance", role=Role.FINANCE)
OPERATOR = Principal(subject="demo operator", role=Role.OPERATOR)


@dataclass(slots=True)
class DisputesDemo:
    meters: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)
    cases: list[tuple[str, str, str, str]] = field(default_factory=list)  # number, story, ...
    packs: list[Path] = field(default_factory=list)


async def register_demo_meters(runtime: Runtime, seed: int) -> int:
    """Every station's meter serial and public key, as at commissioning."""
    async with runtime.uow() as uow:
        stations = (await catalog.list_stations(uow, limit=1000)).items
    for station in stations:
        identity = meter_identity(seed, station.charge_point_id)
        async with runtime.uow() as uow:
            changes = {"meter_serial": identity.serial}
            await catalog.update_station(
                uow, runtime.clock, runtime.station_secrets, station.id, changes
            )
            await register_meter_key(
                uow,
                runtime.clock,
                station.id,
                meter_serial=identity.serial,
                public_key=identity.public_key_hex,
                valid_from=COMMISSIONED,
                note="type plate, at commissioning (demo)",
            )
            await uow.commit()
    return len(stations)


async def _card_sessions(runtime: Runtime) -> list[tuple[Payment, str]]:
    """Captured app-card session payments with the verdict of their signed record."""
    details = await reading(runtime.uow, payment_views.all_payments)
    found = []
    async with runtime.uow() as uow:
        for detail in details:
            payment = detail.payment
            if (
                payment.purpose is not PaymentPurpose.SESSION
                or payment.method is not PaymentMethodKind.APP
                or detail.state.status is not PaymentStatus.CAPTURED
                or payment.session_id is None
            ):
                continue
            signed = await signed_readings_of(uow, runtime.meter_signatures, payment.session_id)
            if signed.readings:
                found.append((payment, signed.readings[0].check.verdict.value))
    return found


async def disputes_after(runtime: Runtime, output_dir: Path) -> DisputesDemo:
    report = DisputesDemo()
    candidates = await _card_sessions(runtime)
    report.verdicts.update(verdict for _, verdict in candidates)
    valid = [p for p, v in candidates if v == SignatureVerdict.VALID.value]
    invalid = [p for p, v in candidates if v == SignatureVerdict.INVALID_SIGNATURE.value]
    if valid:
        await _energy_dispute(runtime, report, valid.pop(0), Resolution.REJECTED)
    if invalid:
        await _energy_dispute(runtime, report, invalid.pop(0), Resolution.REFUND)
    if valid:
        await _chargeback(runtime, report, valid.pop(0))
    folder = output_dir / "disputes"
    folder.mkdir(parents=True, exist_ok=True)
    for number, *_ in report.cases:
        report.packs += await _write_pack(runtime, folder, number)
    return report


async def _energy_dispute(
    runtime: Runtime, report: DisputesDemo, payment: Payment, resolution: Resolution
) -> None:
    """A driver: "I was charged for more energy than my car got"."""
    assert payment.session_id is not None
    driver = Principal(subject="demo driver", role=Role.DRIVER, account_id=payment.account_id)
    request = cases.CaseRequest(
        subject=Subject(session_id=payment.session_id),
        reason=DisputeReason.ENERGY,
        description="My car says it got about half the energy I was charged for.",
    )
    zone = runtime.settings.operator_time_zone
    opened = await in_transaction(
        runtime.uow, cases.open_dispute, runtime.clock, zone, driver, request
    )
    case = opened.dispute
    await in_transaction(runtime.uow, cases.review_case, runtime.clock, OPERATOR, case.id)
    if resolution is Resolution.REJECTED:
        note = (
            "The meter's signed record (OCMF) verifies with the key registered for it and "
            "shows the energy billed; see the evidence pack."
        )
        story = "driver, signed record valid"
    else:
        note = (
            "The meter's signed record does not verify with its registered key: the energy "
            "cannot be proven, so the session is refunded."
        )
        story = "driver, signature invalid"
    wanted = ResolutionRequest(resolution, note)
    closed = (await resolve_dispute(runtime.payments, FINANCE, case.id, wanted)).dispute
    if resolution is Resolution.REFUND:
        async with runtime.uow() as uow:
            detail = await payment_views.visible_payment(uow, FINANCE, payment.id)
        outcome = f"{detail.state.refunded:.2f} {closed.currency.code} back, credit note"
    else:
        outcome = "evidence pack sent: the record proves the energy"
    report.cases.append((case.number, story, f"resolved: {resolution.value}", outcome))


async def _chargeback(runtime: Runtime, report: DisputesDemo, payment: Payment) -> None:
    """The card holder's bank pulls a payment back; the operator answers, and loses."""
    sandbox = runtime.sandbox
    assert sandbox is not None
    async with runtime.uow() as uow:
        state = await payment_views.visible_payment(uow, FINANCE, payment.id)
    provider_ref = state.state.provider_ref
    assert provider_ref is not None
    dispute_id = await sandbox.open_dispute(provider_ref, "fraudulent")
    await runtime.quiesce()
    async with runtime.uow() as uow:
        case = await uow.disputes.by_psp_dispute(dispute_id)
    assert case is not None, "the chargeback's webhooks opened no case"
    await case_evidence.submit_chargeback_evidence(
        runtime.payments,
        FINANCE,
        case.id,
        rates=runtime.settings.vat_rates,
        verifier=runtime.meter_signatures,
    )
    await sandbox.close_dispute(dispute_id, won=False)
    await runtime.quiesce()
    async with runtime.uow() as uow:
        closed = await uow.disputes.get(case.id)
    assert closed is not None
    fee = Decimal(0) if closed.chargeback is None else closed.chargeback.fee
    amount = f"{closed.amount or 0:.2f} + fee {fee:.2f} {closed.currency.code} booked"
    report.cases.append((closed.number, "chargeback (fraudulent)", closed.state.value, amount))


async def _write_pack(runtime: Runtime, folder: Path, number: str) -> list[Path]:
    async with runtime.uow() as uow:
        case = await cases.find_case(uow, FINANCE, number)
        pack = await case_evidence.case_evidence(
            uow,
            runtime.clock,
            FINANCE,
            case.id,
            rates=runtime.settings.vat_rates,
            verifier=runtime.meter_signatures,
        )
    written = []
    for suffix, content in (
        ("pdf", runtime.evidence.pdf(pack)),
        ("zip", runtime.evidence.zip(pack)),
    ):
        path = folder / f"{number}-evidence.{suffix}"
        path.write_bytes(content)
        written.append(path)
    return written


def print_disputes(report: DisputesDemo) -> None:
    verdicts = ", ".join(f"{n} {v}" for v, n in sorted(report.verdicts.items()))
    console.print(
        f"\n[bold]Signed meter data[/]: {report.meters} meter keys registered; "
        f"card sessions' records: {verdicts or 'none'}"
    )
    table = Table(title="Disputes", title_justify="left")
    for column in ("case", "story", "state", "outcome"):
        table.add_column(column)
    for row in report.cases:
        table.add_row(*row)
    console.print(table)
    if report.packs:
        console.print(f"Evidence packs: {report.packs[0].parent} ({len(report.packs)} files)")
