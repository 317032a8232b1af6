"""``chargeledger contracts ...`` (issue 14): partners, contracts and their versions of terms,
signature, amendment, termination, coverage, signed PDFs, milestones and the reminder run.

The same use cases and rules as ``/api/v1/partners`` and ``/api/v1/contracts``
(``api/routers/contracts.py``): days are the operator's (``CHARGELEDGER_OPERATOR_TIME_ZONE``),
a contract is named by its number or its id, the shell acts as an admin and records the
shell's user as who made a change. ``serve`` sends the reminders by itself (every
``CHARGELEDGER_DUNNING_INTERVAL_SECONDS``); ``contracts remind`` runs a day by hand.
"""

from __future__ import annotations

import getpass
import json
import uuid
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from chargeledger.cli import contract_views as views
from chargeledger.cli.common import console, run_with_runtime
from chargeledger.cli.contract_partners import partners_app
from chargeledger.cli.contract_performance import performance_command
from chargeledger.domain.contract_milestones import CustomMilestone, Milestone, MilestoneKind
from chargeledger.domain.contract_records import (
    MAX_DOCUMENT_BYTES,
    ContractDocument,
    ContractRecord,
)
from chargeledger.domain.contracts import Contract, ContractStatus, ContractType, Renewal
from chargeledger.domain.identity import Principal, Role
from chargeledger.errors import InvalidInputError
from chargeledger.money import Currency
from chargeledger.services.common import operator_today
from chargeledger.services.contracts import milestones, records
from chargeledger.services.contracts.milestones import ReminderRun
from chargeledger.services.contracts.records import ContractView
from chargeledger.services.transactions import in_transaction, reading

if TYPE_CHECKING:
    from chargeledger.bootstrap import Runtime

contracts_app = typer.Typer(
    help="Contracts: terms, signature, amendments, termination, milestones.",
    no_args_is_help=True,
)
contracts_app.add_typer(partners_app, name="partners")
contracts_app.command("performance")(performance_command)

# The shell is the operator's own machine: it reads with the admin's view of the data.
SHELL = Principal(subject="cli", role=Role.ADMIN)
DAY = ["%Y-%m-%d"]
Reference = Annotated[str, typer.Argument(help="contract number or id")]


def _by() -> str:
    return f"cli:{getpass.getuser()}"


def _day(value: datetime | None) -> date | None:
    return None if value is None else value.date()


def _today(rt: Runtime) -> date:
    return operator_today(rt.clock, rt.settings.operator_time_zone)


def _terms(path: Path | None) -> dict[str, Any]:
    """The terms document of a JSON file (its shape and bounds are checked by the use case,
    ``domain.contract_terms_json``); no file: no terms."""
    if path is None:
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidInputError(
            f"{path}: not a JSON document ({exc})", code="invalid_contract_terms", field="terms"
        ) from exc
    if not isinstance(document, dict):
        raise InvalidInputError(
            f"{path}: the terms are one JSON object", code="invalid_contract_terms", field="terms"
        )
    return document


async def _contract_id(rt: Runtime, reference: str) -> uuid.UUID:
    return (await reading(rt.uow, records.find_contract, reference)).id


@contracts_app.command("create")
def create(
    number: Annotated[str, typer.Option(help="the contract number, unique")],
    kind: Annotated[ContractType, typer.Option()],
    start: Annotated[datetime, typer.Option(formats=DAY, help="its first day")],
    account: Annotated[
        uuid.UUID | None, typer.Option(help="the customer account (fleet, employer, OEM, utility)")
    ] = None,
    partner: Annotated[uuid.UUID | None, typer.Option(help="the partner organisation")] = None,
    currency: Annotated[str, typer.Option()] = "EUR",
    end: Annotated[
        datetime | None, typer.Option(formats=DAY, help="last day of the first term; none: open")
    ] = None,
    renew_months: Annotated[int | None, typer.Option(help="renews by this many months")] = None,
    notice_days: Annotated[int | None, typer.Option(help="notice before a term's end")] = None,
    terms: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="terms as a JSON file")
    ] = None,
    title: Annotated[str, typer.Option()] = "",
    summary: Annotated[str, typer.Option(help="what version 1 says")] = "Initial terms",
    reminder_days: Annotated[int, typer.Option(help="milestone reminders this early")] = 30,
    cover_account: Annotated[
        list[uuid.UUID] | None, typer.Option(help="an account it covers (repeatable)")
    ] = None,
    cover_site: Annotated[
        list[uuid.UUID] | None, typer.Option(help="a site it covers (repeatable)")
    ] = None,
) -> None:
    """Create a contract (a draft, unsigned) with version 1 of its terms from its start."""

    async def work(rt: Runtime) -> ContractView:
        if (renew_months is None) != (notice_days is None):
            raise InvalidInputError(
                "a renewing contract needs --renew-months and --notice-days",
                code="invalid_renewal",
                field="renewal",
            )
        renewal = None if renew_months is None else Renewal(renew_months, notice_days or 0)
        record = ContractRecord(
            contract=Contract(number, kind, start.date(), _day(end), renewal),
            currency=Currency.of(currency.upper()),
            account_id=account,
            partner_id=partner,
            title=title,
            reminder_days=reminder_days,
        )
        draft = records.ContractDraft(
            record, _terms(terms), summary, cover_account or (), cover_site or ()
        )
        return await in_transaction(
            rt.uow, records.create_contract, rt.clock, _by(), draft, _today(rt)
        )

    view = run_with_runtime(work)
    console.print(f"created contract {escape(view.record.number)} ({view.record.id})")
    views.print_contract(view)


@contracts_app.command("list")
def list_contracts(
    status: Annotated[ContractStatus | None, typer.Option(help="as of today")] = None,
    kind: Annotated[ContractType | None, typer.Option()] = None,
    account: Annotated[uuid.UUID | None, typer.Option(help="with or covering it")] = None,
    partner: Annotated[uuid.UUID | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    offset: Annotated[int, typer.Option(min=0)] = 0,
) -> None:
    """Contracts by number, with their status today."""

    async def work(rt: Runtime) -> tuple[list[ContractView], date]:
        today = _today(rt)
        found, _ = await reading(
            rt.uow,
            records.list_contracts,
            SHELL,
            today,
            account_id=account,
            partner_id=partner,
            kind=kind,
            status=status,
            limit=limit,
            offset=offset,
        )
        return found, today

    found, today = run_with_runtime(work)
    console.print(views.contracts_table(found, today))


@contracts_app.command("show")
def show(
    contract: Reference,
    upcoming: Annotated[int, typer.Option(min=0, max=100, help="next milestones shown")] = 5,
) -> None:
    """A contract: its record, the terms valid today, versions, documents, next milestones."""

    async def work(rt: Runtime) -> tuple[ContractView, list[Milestone]]:
        contract_id, today = await _contract_id(rt, contract), _today(rt)
        view = await reading(rt.uow, records.visible_contract, SHELL, contract_id, today)
        found = await reading(rt.uow, milestones.contract_milestones, SHELL, contract_id, today)
        return view, [m for m in found if m.due_on >= today][:upcoming]

    view, upcoming_milestones = run_with_runtime(work)
    views.print_contract(view)
    views.print_terms(view)
    if upcoming_milestones:
        console.print(views.milestones_table("Next milestones", upcoming_milestones))
    else:
        console.print("no milestones ahead")


@contracts_app.command("sign")
def sign(
    contract: Reference,
    on: Annotated[
        datetime | None, typer.Option("--on", formats=DAY, help="signed on (default: today)")
    ] = None,
) -> None:
    """Record the signature: from its start on, the contract prices and bills."""

    async def work(rt: Runtime) -> ContractView:
        contract_id, today = await _contract_id(rt, contract), _today(rt)
        signed_on = _day(on) or today
        return await in_transaction(
            rt.uow, records.sign_contract, rt.clock, contract_id, signed_on, today
        )

    view = run_with_runtime(work)
    console.print(
        f"contract {escape(view.record.number)} signed on {view.record.signed_on}: "
        f"{views.status_text(view.status)}"
    )


@contracts_app.command("amend")
def amend(
    contract: Reference,
    valid_from: Annotated[
        datetime, typer.Option("--from", formats=DAY, help="first day (today or later)")
    ],
    summary: Annotated[str, typer.Option(help="what the amendment changes")],
    terms: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="the new terms (JSON)")],
) -> None:
    """A new version of the terms from a day (a past version never changes)."""

    async def work(rt: Runtime) -> ContractView:
        document, contract_id = _terms(terms), await _contract_id(rt, contract)
        return await in_transaction(
            rt.uow,
            records.amend_contract,
            rt.clock,
            _by(),
            contract_id,
            valid_from.date(),
            summary,
            document,
            _today(rt),
        )

    view = run_with_runtime(work)
    latest = view.versions[-1].version
    console.print(
        f"contract {escape(view.record.number)}: version {latest.number} valid from "
        f"{latest.valid_from} ({escape(latest.summary)})"
    )


@contracts_app.command("terminate")
def terminate(
    contract: Reference,
    reason: Annotated[str, typer.Option(help="why it ends (kept with it)")],
    given_on: Annotated[
        datetime | None, typer.Option(formats=DAY, help="notice given on (default: today)")
    ] = None,
    immediate: Annotated[bool, typer.Option(help="for cause, from the day given")] = False,
) -> None:
    """Terminate: at the term's end by its notice deadline, else the next's; --immediate."""

    async def work(rt: Runtime) -> ContractView:
        contract_id, today = await _contract_id(rt, contract), _today(rt)
        return await in_transaction(
            rt.uow,
            records.terminate_contract,
            rt.clock,
            _by(),
            contract_id,
            _day(given_on) or today,
            reason,
            immediate,
            today,
        )

    view = run_with_runtime(work)
    ended = view.record.contract.termination
    assert ended is not None
    console.print(
        f"contract {escape(view.record.number)} terminated: last day {ended.last_day} "
        f"({views.status_text(view.status)})"
    )


@contracts_app.command("cover")
def cover(
    contract: Reference,
    account: Annotated[list[uuid.UUID] | None, typer.Option(help="repeatable")] = None,
    site: Annotated[list[uuid.UUID] | None, typer.Option(help="repeatable")] = None,
) -> None:
    """Add accounts (an OEM bundle's drivers) or sites (a site host's) to a contract."""

    async def work(rt: Runtime) -> ContractView:
        contract_id = await _contract_id(rt, contract)
        return await in_transaction(
            rt.uow, records.cover, rt.clock, contract_id, account or (), site or (), _today(rt)
        )

    view = run_with_runtime(work)
    console.print(
        f"contract {escape(view.record.number)} covers {len(view.account_ids)} account(s), "
        f"{len(view.site_ids)} site(s)"
    )


@contracts_app.command("attach")
def attach(
    contract: Reference,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="the signed PDF")],
    version: Annotated[int, typer.Option(min=1, max=100_000, help="the version it signs")],
) -> None:
    """Keep the signed PDF of a version (the same file twice is kept once)."""

    async def work(rt: Runtime) -> ContractDocument:
        with file.open("rb") as handle:  # one byte over the limit is enough to refuse it
            content = handle.read(MAX_DOCUMENT_BYTES + 1)
        contract_id = await _contract_id(rt, contract)
        return await in_transaction(
            rt.uow,
            records.add_document,
            rt.clock,
            _by(),
            contract_id,
            version,
            file.name,
            content,
        )

    document = run_with_runtime(work)
    console.print(
        f"kept {escape(document.filename)} for version {document.version_number} "
        f"({document.size} bytes, sha256 {document.sha256[:16]}…, id {document.id})"
    )


@contracts_app.command("milestones")
def list_milestones(
    contract: Reference,
    through: Annotated[
        datetime | None, typer.Option(formats=DAY, help="last day (default: 3 years ahead)")
    ] = None,
) -> None:
    """Renewals, notice deadlines, the end, reviews and custom milestones."""

    async def work(rt: Runtime) -> tuple[str, list[Milestone]]:
        found = await reading(rt.uow, records.find_contract, contract)
        listed = await reading(
            rt.uow, milestones.contract_milestones, SHELL, found.id, _today(rt), _day(through)
        )
        return found.number, listed

    number, found = run_with_runtime(work)
    console.print(views.milestones_table(f"Milestones of {escape(number)}", found))


@contracts_app.command("milestone-add")
def add_milestone(
    contract: Reference,
    title: Annotated[str, typer.Option()],
    due: Annotated[datetime, typer.Option(formats=DAY)],
    kind: Annotated[
        MilestoneKind, typer.Option(help="commitment_review, price_review or custom")
    ] = MilestoneKind.CUSTOM,
) -> None:
    """Add a review or custom milestone (reminded ahead like the others)."""

    async def work(rt: Runtime) -> CustomMilestone:
        custom = CustomMilestone(title, due.date(), kind)
        contract_id = await _contract_id(rt, contract)
        return await in_transaction(
            rt.uow, milestones.add_milestone, rt.clock, _by(), contract_id, custom
        )

    added = run_with_runtime(work)
    console.print(f"milestone {added.kind.value} on {added.due_on}: {escape(added.title)}")


@contracts_app.command("remind")
def remind(
    on: Annotated[
        datetime | None, typer.Option("--date", formats=DAY, help="the day (default: today)")
    ] = None,
) -> None:
    """Announce the milestone reminders due on a day (each once, whoever runs it)."""

    async def work(rt: Runtime) -> ReminderRun:
        return await rt.send_contract_reminders(_day(on))

    console.print(views.reminder_line(run_with_runtime(work)))
