"""``chargeledger disputes ...``: cases from customers, staff and the PSP (issue 15), taken up
and resolved from the shell (the shell acts as an admin, like the other finance commands)."""

from __future__ import annotations

import getpass
import uuid
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from chargeledger.cli.common import console, run_with_runtime
from chargeledger.domain.disputes import Dispute, DisputeReason, DisputeState, Resolution, Subject
from chargeledger.domain.identity import Principal, Role
from chargeledger.services.disputes import case_evidence, cases
from chargeledger.services.disputes.case_ports import DisputeFilter
from chargeledger.services.disputes.resolution import ResolutionRequest, resolve_dispute
from chargeledger.services.transactions import in_transaction, reading

if TYPE_CHECKING:
    from chargeledger.bootstrap import Runtime

disputes_app = typer.Typer(
    help="Dispute cases: customers', the operator's and chargebacks.", no_args_is_help=True
)
_MEDIA = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".txt": "text/plain",
}


def _shell() -> Principal:
    return Principal(subject=f"cli:{getpass.getuser()}", role=Role.ADMIN)


def _table(found: list[Dispute]) -> Table:
    table = Table(title="Disputes", title_justify="left")
    for column in (
        "number",
        "state",
        "origin",
        "reason",
        "amount",
        "opened",
        "answer by",
        "outcome",
    ):
        table.add_column(column)
    for case in found:
        amount = "" if case.amount is None else f"{case.amount:.2f} {case.currency.code}"
        table.add_row(
            case.number,
            case.state.value,
            case.origin.value,
            case.reason.value,
            amount,
            case.opened_at.strftime("%Y-%m-%d %H:%M"),
            case.respond_by.strftime("%Y-%m-%d"),
            case.outcome_ref or (case.resolution.value if case.resolution else ""),
        )
    return table


def _print_file(found: cases.CaseFile) -> None:
    case = found.dispute
    console.print(_table([case]))
    console.print(f"[bold]{case.number}[/] {case.description}", highlight=False)
    subject = case.subject
    for name, value in (
        ("session", subject.session_id),
        ("invoice", subject.invoice_id),
        ("line", subject.line),
        ("payment", subject.payment_id),
    ):
        if value is not None:
            console.print(f"  {name}: {value}")
    if case.chargeback is not None:
        cb = case.chargeback
        console.print(
            f"  PSP dispute {cb.psp_dispute_id} ({cb.gateway}): {cb.status}, fee {cb.fee}"
        )
    history = Table(title="History", title_justify="left")
    for column in ("at", "event", "by", "note"):
        history.add_column(column)
    for event in found.events:
        history.add_row(
            event.at.strftime("%Y-%m-%d %H:%M:%S"), event.kind.value, event.by, event.note or ""
        )
    console.print(history)


@disputes_app.command("list")
def list_command(
    state: Annotated[DisputeState | None, typer.Option(help="only cases in this state")] = None,
    open_only: Annotated[bool, typer.Option("--open", help="only cases still open")] = False,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 100,
) -> None:
    """Cases, newest first."""

    async def work(rt: Runtime) -> list[Dispute]:
        criteria = DisputeFilter(state=state, open_only=open_only)
        page = await reading(rt.uow, cases.list_cases, _shell(), criteria, limit, 0)
        return list(page.items)

    console.print(_table(run_with_runtime(work)))


@disputes_app.command("show")
def show_command(dispute: Annotated[str, typer.Argument(help="case number or id")]) -> None:
    """A case with its history."""

    async def work(rt: Runtime) -> cases.CaseFile:
        case = await reading(rt.uow, cases.find_case, _shell(), dispute)
        return await reading(rt.uow, cases.case_file, _shell(), case.id)

    _print_file(run_with_runtime(work))


@disputes_app.command("open")
def open_command(
    reason: Annotated[DisputeReason, typer.Option(help="what kind of wrong")],
    description: Annotated[str, typer.Option(help="what the customer says")],
    session: Annotated[uuid.UUID | None, typer.Option(help="the disputed session")] = None,
    invoice: Annotated[uuid.UUID | None, typer.Option(help="the disputed invoice")] = None,
    line: Annotated[int | None, typer.Option(min=1, help="a line of the invoice")] = None,
    payment: Annotated[uuid.UUID | None, typer.Option(help="the disputed payment")] = None,
    amount: Annotated[Decimal | None, typer.Option(help="the amount disputed")] = None,
    attach: Annotated[Path | None, typer.Option(exists=True, dir_okay=False)] = None,
) -> None:
    """Open a case for a customer (at the counter, on the phone)."""
    attachment = None
    if attach is not None:
        media = _MEDIA.get(attach.suffix.lower(), "application/octet-stream")
        attachment = cases.Attachment(attach.name, media, attach.read_bytes())

    async def work(rt: Runtime) -> cases.CaseFile:
        request = cases.CaseRequest(
            subject=Subject(session_id=session, invoice_id=invoice, line=line, payment_id=payment),
            reason=reason,
            description=description,
            amount=amount,
            attachment=attachment,
        )
        zone = rt.settings.operator_time_zone
        to = rt.settings.operator.get("email") or None
        return await in_transaction(
            rt.uow, cases.open_dispute, rt.clock, zone, _shell(), request, staff_email=to
        )

    _print_file(run_with_runtime(work))


@disputes_app.command("review")
def review_command(dispute: Annotated[str, typer.Argument(help="case number or id")]) -> None:
    """Take a case up: open → under review."""

    async def work(rt: Runtime) -> cases.CaseFile:
        case = await reading(rt.uow, cases.find_case, _shell(), dispute)
        return await in_transaction(rt.uow, cases.review_case, rt.clock, _shell(), case.id)

    _print_file(run_with_runtime(work))


@disputes_app.command("resolve")
def resolve_command(
    dispute: Annotated[str, typer.Argument(help="case number or id")],
    resolution: Annotated[Resolution, typer.Option(help="refund, credit_note, reprice, rejected")],
    note: Annotated[str | None, typer.Option(help="why (required to reject)")] = None,
    amount: Annotated[
        Decimal | None, typer.Option(help="refund: gross back; credit note: net credited")
    ] = None,
    tariff: Annotated[uuid.UUID | None, typer.Option(help="reprice: corrected tariff")] = None,
    meter_start: Annotated[Decimal | None, typer.Option(help="reprice: start Wh")] = None,
    meter_stop: Annotated[Decimal | None, typer.Option(help="reprice: stop Wh")] = None,
) -> None:
    """Resolve a customer's case (a chargeback is won or lost at the PSP)."""

    async def work(rt: Runtime) -> cases.CaseFile:
        case = await reading(rt.uow, cases.find_case, _shell(), dispute)
        wanted = ResolutionRequest(
            resolution,
            note,
            amount,
            tariff_id=tariff,
            meter_start_wh=meter_start,
            meter_stop_wh=meter_stop,
        )
        return await resolve_dispute(rt.payments, _shell(), case.id, wanted)

    _print_file(run_with_runtime(work))


@disputes_app.command("evidence")
def evidence_command(
    dispute: Annotated[str, typer.Argument(help="case number or id")],
    out: Annotated[Path, typer.Option(help="directory for the PDF and the ZIP")] = Path("."),
) -> None:
    """Write the case's evidence pack: <number>-evidence.pdf and <number>-evidence.zip."""

    async def work(rt: Runtime) -> tuple[str, bytes, bytes]:
        case = await reading(rt.uow, cases.find_case, _shell(), dispute)
        pack = await reading(
            rt.uow,
            case_evidence.case_evidence,
            rt.clock,
            _shell(),
            case.id,
            rates=rt.settings.vat_rates,
            verifier=rt.meter_signatures,
        )
        return case.number, rt.evidence.pdf(pack), rt.evidence.zip(pack)

    number, pdf, archive = run_with_runtime(work)
    out.mkdir(parents=True, exist_ok=True)
    for suffix, content in (("pdf", pdf), ("zip", archive)):
        path = out / f"{number}-evidence.{suffix}"
        path.write_bytes(content)
        console.print(f"{path} ({len(content):,} bytes)")


@disputes_app.command("submit-evidence")
def submit_evidence_command(
    dispute: Annotated[str, typer.Argument(help="case number or id of a chargeback")],
) -> None:
    """Answer a chargeback at the PSP with the case's evidence pack (once)."""

    async def work(rt: Runtime) -> cases.CaseFile:
        case = await reading(rt.uow, cases.find_case, _shell(), dispute)
        return await case_evidence.submit_chargeback_evidence(
            rt.payments,
            _shell(),
            case.id,
            rates=rt.settings.vat_rates,
            verifier=rt.meter_signatures,
        )

    _print_file(run_with_runtime(work))
