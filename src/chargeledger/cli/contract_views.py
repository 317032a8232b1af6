"""How ``chargeledger contracts ...`` shows partners, contracts, versions, documents and
milestones (rich tables); the commands are in ``cli/contracts.py``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date

from rich.markup import escape
from rich.table import Table

from chargeledger.cli.common import console
from chargeledger.domain.contract_milestones import Milestone
from chargeledger.domain.contract_records import ContractDocument, Partner
from chargeledger.domain.contracts import ContractStatus, end_of_term_on, notice_deadline
from chargeledger.services.contracts.milestones import ReminderRun
from chargeledger.services.contracts.records import ContractView

_COLOURS = {
    ContractStatus.DRAFT: "dim",
    ContractStatus.SIGNED: "cyan",
    ContractStatus.ACTIVE: "green",
    ContractStatus.EXPIRING: "yellow",
    ContractStatus.ENDED: "dim",
    ContractStatus.TERMINATED: "red",
}


def status_text(status: ContractStatus) -> str:
    return f"[{_COLOURS[status]}]{status.value}[/]"


def _day(value: date | None, none: str = "") -> str:
    return none if value is None else value.isoformat()


def _counterparty(view: ContractView) -> str:
    record = view.record
    if record.partner_id is not None:
        return f"partner {record.partner_id}"
    return f"account {record.account_id}"


def _renewal(view: ContractView, *, short: bool = False) -> str:
    renewal = view.record.contract.renewal
    if renewal is None:
        return ""
    if short:
        return f"{renewal.term_months}m/{renewal.notice_days}d"
    return f"{renewal.term_months} months, notice {renewal.notice_days} days"


def partners_table(partners: Sequence[Partner]) -> Table:
    table = Table(title="Partners", title_justify="left")
    for column in ("id", "kind", "name", "e-mail", "country", "VAT id", "IBAN"):
        table.add_column(column)
    for p in partners:
        table.add_row(
            str(p.id),
            p.kind.value,
            escape(p.name),
            escape(p.email),
            p.address.country,
            escape(p.vat_id or ""),
            escape(p.iban or ""),
        )
    return table


def contracts_table(views: Sequence[ContractView], today: date) -> Table:
    table = Table(title=f"Contracts on {today}", title_justify="left")
    for column in ("number", "kind", "status", "with", "start", "end", "renews", "version", "id"):
        table.add_column(column)
    for view in views:
        contract, current = view.record.contract, view.current
        table.add_row(
            escape(view.record.number),
            contract.kind.value,
            status_text(view.status),
            _counterparty(view),
            contract.start.isoformat(),
            _day(contract.end, "open"),
            _renewal(view, short=True),
            "" if current is None else str(current.version.number),
            str(view.record.id),
        )
    return table


def print_contract(view: ContractView) -> None:
    """The contract's record: dates, renewal, signature, termination, coverage, versions and
    documents (the running term's end and notice deadline as the API shows them)."""
    record, contract = view.record, view.record.contract
    title = f" — {escape(record.title)}" if record.title else ""
    console.print(
        f"contract [bold]{escape(record.number)}[/] ({contract.kind.value}){title}: "
        f"{status_text(view.status)}"
    )
    console.print(f"  id {record.id}, with {_counterparty(view)}, in {record.currency.code}")
    console.print(f"  runs {contract.start} to {_day(contract.end, 'open end')}")
    renewal, ended = contract.renewal, contract.termination
    term_end = end_of_term_on(contract, max(view.today or contract.start, contract.start))
    if renewal is not None and term_end is not None:
        line = f"  renews by {_renewal(view)}; the running term ends {term_end}"
        if ended is None:
            line += f", notice deadline {notice_deadline(term_end, renewal)}"
        console.print(line)
    console.print(f"  signed on {_day(record.signed_on, 'not signed')}")
    if ended is not None:
        how = "for cause, " if ended.immediate else ""
        console.print(
            f"  terminated ({how}given on {ended.given_on} by {escape(record.terminated_by or '')})"
            f": last day {ended.last_day}; {escape(ended.reason)}"
        )
    console.print(
        f"  covers {len(view.account_ids)} account(s), {len(view.site_ids)} site(s); "
        f"reminders {record.reminder_days} days ahead"
    )
    for account_id in view.account_ids:
        console.print(f"    account {account_id}")
    for site_id in view.site_ids:
        console.print(f"    site {site_id}")
    versions = Table(title="Versions", title_justify="left")
    for column in ("version", "valid from", "summary", "by", "made"):
        versions.add_column(column)
    current = view.current
    for v in view.versions:
        mark = " (current)" if current is not None and v.id == current.id else ""
        versions.add_row(
            f"{v.version.number}{mark}",
            v.version.valid_from.isoformat(),
            escape(v.version.summary),
            escape(v.created_by),
            "" if v.created_at is None else v.created_at.isoformat(timespec="seconds"),
        )
    console.print(versions)
    if view.documents:
        console.print(documents_table(view.documents))


def print_terms(view: ContractView) -> None:
    """The terms of the version valid today, as stored (``domain.contract_terms_json``)."""
    current = view.current
    if current is None:
        return
    console.print(f"Terms of version {current.version.number}:")
    console.print_json(json.dumps(dict(current.terms), sort_keys=True))


def documents_table(documents: Sequence[ContractDocument]) -> Table:
    table = Table(title="Documents", title_justify="left")
    for column in ("version", "file", "bytes", "sha256", "by", "uploaded", "id"):
        table.add_column(column, justify="right" if column == "bytes" else "left")
    for d in documents:
        table.add_row(
            str(d.version_number),
            escape(d.filename),
            str(d.size),
            d.sha256[:16],
            escape(d.uploaded_by),
            "" if d.uploaded_at is None else d.uploaded_at.isoformat(timespec="seconds"),
            str(d.id),
        )
    return table


def milestones_table(title: str, found: Sequence[Milestone]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("due", "kind", "title"):
        table.add_column(column)
    for m in found:
        table.add_row(m.due_on.isoformat(), m.kind.value, escape(m.title))
    return table


def reminder_line(run: ReminderRun) -> str:
    return (
        f"{run.day}: {run.announced} reminder(s) announced, {run.already_sent} already sent before"
    )
