"""``chargeledger demo``: a fresh database with a realistic small operator, and its summary."""

from __future__ import annotations

import asyncio
import shutil
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from chargeledger.bootstrap import Runtime, build_runtime, configure_logging
from chargeledger.cli.common import console, fail
from chargeledger.cli.demo_audit import AuditDemo, audit_at_close, print_audit
from chargeledger.cli.demo_bank import BankReport, bank_days, print_bank
from chargeledger.cli.demo_contracts import (
    ContractsDemo,
    contract_effects,
    print_contracts,
    set_up_contracts,
)
from chargeledger.cli.demo_day import DayReport, run_day
from chargeledger.cli.demo_disputes import (
    DisputesDemo,
    disputes_after,
    print_disputes,
    register_demo_meters,
)
from chargeledger.cli.demo_dunning import (
    DEMO_DATEV_ACCOUNTS,
    DunningDemo,
    print_dunning,
    weeks_after,
)
from chargeledger.cli.demo_month import (
    DEMO_OPERATOR,
    MonthReport,
    month_end,
    print_month,
    refresh_ledger,
)
from chargeledger.cli.demo_payments import (
    PaymentReport,
    after_month,
    prepare_payments,
    print_payments,
)
from chargeledger.cli.demo_report import print_day
from chargeledger.config import Settings
from chargeledger.domain.accounts import AccountKind, TokenStatus
from chargeledger.domain.identity import Role
from chargeledger.domain.text import plain_number
from chargeledger.errors import ChargeledgerError
from chargeledger.services import catalog
from chargeledger.services.demo_seed import (
    DEMO_PASSWORD,
    MODELS,
    SITES,
    SeedReport,
    seed_demo_operator,
)
from chargeledger.services.demo_tariffs import seed_demo_tariffs
from chargeledger.services.transactions import in_transaction

STEPS = sum(len(s.models) for s in SITES) + 50


def run_demo(output_dir: Path, seed: int, day_seconds: int) -> None:
    """What ``chargeledger demo`` does (the command, in ``cli/demo_command.py``, imports this
    module when it runs: it loads the whole server)."""
    if output_dir.exists():
        shutil.rmtree(output_dir)
    output_dir.mkdir(parents=True, mode=0o700)  # the data directory's mode (adapters/files)
    datev_accounts = output_dir / "datev-accounts.toml"
    datev_accounts.write_text(DEMO_DATEV_ACCOUNTS, encoding="utf-8")
    settings = Settings.from_env(
        {
            "CHARGELEDGER_DATA_DIR": str(output_dir),
            "CHARGELEDGER_LOG_LEVEL": "WARNING",
            "CHARGELEDGER_DATEV_ACCOUNTS_FILE": str(datev_accounts),
            # Every simulated station connects from this machine at once, as from behind
            # one NAT: room for all their handshakes, so none is asked to retry later.
            "CHARGELEDGER_STATION_CONCURRENCY_PER_ADDRESS": "64",
            **DEMO_OPERATOR,
        }
    )
    try:
        (
            report,
            stations_per_site,
            day,
            month,
            payments,
            bank_report,
            later,
            contracts,
            disputes,
            audit,
        ) = asyncio.run(_run(settings, seed, day_seconds, output_dir))
    except ChargeledgerError as exc:
        raise fail(exc.message, exc.code) from None
    _print_summary(report, stations_per_site)
    print_day(day)
    print_payments(payments)
    print_bank(bank_report)
    print_disputes(disputes)
    print_dunning(later)
    print_month(month, output_dir)
    print_contracts(contracts)
    print_audit(audit)
    office = ", ".join(
        email for role, email in report.users.items() if role in (Role.FINANCE, Role.OPERATOR)
    )
    driver = report.users.get(Role.DRIVER, "a driver")
    console.print(
        f"\nDatabase: {output_dir / 'chargeledger.sqlite3'}\n"
        f"Explore it: [bold]CHARGELEDGER_DATA_DIR={output_dir} .venv/bin/chargeledger serve[/], "
        "then open\n"
        f"  the back office  http://127.0.0.1:8000/office  (log in as {office})\n"
        f"  the driver app   http://127.0.0.1:8000/app     (log in as {driver})\n"
        "  the REST API     http://127.0.0.1:8000/docs\n"
        f"Every demo user ({', '.join(report.users.values())}) has the demo password "
        f"[bold]{DEMO_PASSWORD}[/]"
    )


async def _run(
    settings: Settings, seed: int, day_seconds: int, output_dir: Path
) -> tuple[
    SeedReport,
    dict[str, int],
    DayReport,
    MonthReport,
    PaymentReport,
    BankReport,
    DunningDemo,
    ContractsDemo,
    DisputesDemo,
    AuditDemo,
]:
    configure_logging(settings)
    runtime: Runtime = build_runtime(settings)
    try:
        await runtime.migrate()
        with Progress(
            TextColumn("[bold]seeding the demo operator"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task("seed", total=STEPS)
            report = await seed_demo_operator(
                runtime.uow,
                runtime.clock,
                runtime.hasher,
                runtime.station_secrets,
                runtime.vat_ids,
                seed=seed,
                on_step=lambda _: progress.advance(task),
            )
        await in_transaction(
            runtime.uow,
            seed_demo_tariffs,
            runtime.clock,
            report.sites,
            seed,
            runtime.settings.vat_rates,
        )
        with console.status("[bold]contracts: a fleet, a site host, a car maker's bundle"):
            contracts = await set_up_contracts(runtime, report)
        per_site: dict[str, int] = {}
        async with runtime.uow() as uow:
            for site in report.sites:
                page = await catalog.list_stations(uow, site_id=site.id, limit=1000)
                per_site[site.name] = len(page.items)
        with console.status("[bold]payment methods: cards for app users, wallet top-ups"):
            await prepare_payments(runtime)
        with console.status("[bold]meters: signing keys from the type plates"):
            meters = await register_demo_meters(runtime, seed)
        with Progress(
            TextColumn("[bold]simulated day over OCPP"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("sessions"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task("day", total=None)
            day = await run_day(
                runtime,
                settings.data_dir,
                seed,
                day_seconds,
                lambda done, total: progress.update(task, completed=done, total=total),
            )
        with console.status("[bold]month end: invoicing, e-invoices, ledger"):
            month = await month_end(runtime, output_dir)
        with console.status("[bold]payments: janitor, refund, payout"):
            payments = await after_month(runtime, PaymentReport(checkouts=day.checkouts))
        with console.status("[bold]bank days: camt.053 statements in, invoices matched"):
            bank_report = await bank_days(runtime, output_dir)
        with console.status("[bold]disputes: signed meter data, evidence packs, a chargeback"):
            disputes = await disputes_after(runtime, output_dir)
            disputes.meters = meters
        with console.status("[bold]weeks after: dunning, DATEV batch for the accountant"):
            later = await weeks_after(runtime, output_dir)
        contracts = await contract_effects(runtime, contracts)
        with console.status("[bold]books: chained, checkpointed, verified; a copy tampered"):
            audit = await audit_at_close(runtime, output_dir)
            # Written once the day is closed, each document carries its checkpoint proof.
            month = await refresh_ledger(runtime, month, output_dir)
        return (
            report,
            per_site,
            day,
            month,
            payments,
            bank_report,
            later,
            contracts,
            disputes,
            audit,
        )
    finally:
        await runtime.aclose()


def _print_summary(report: SeedReport, stations_per_site: dict[str, int]) -> None:
    sites = Table(title="Sites", title_justify="left")
    for column in ("site", "city", "country", "time zone", "stations"):
        sites.add_column(column)
    for site in report.sites:
        sites.add_row(
            site.name,
            site.address.city,
            site.address.country,
            site.time_zone,
            str(stations_per_site[site.name]),
        )
    console.print(sites)

    power = sum((MODELS[m].max_power_kw * 2 for spec in SITES for m in spec.models), Decimal(0))
    kinds = Counter((a.kind, a.billing_address.country) for a in report.accounts)
    modes = Counter(a.billing_mode.value for a in report.accounts)
    now = datetime.now(UTC)
    token_status = Counter(t.status_at(now).value for t in report.tokens)
    totals = Table(title="Demo operator", title_justify="left")
    totals.add_column("what")
    totals.add_column("count", justify="right")
    rows = [
        ("sites (DE / PT)", f"{len(report.sites)}"),
        ("stations", str(report.station_count)),
        ("EVSEs", str(report.evse_count)),
        ("connectors", str(report.connector_count)),
        ("installed power (kW)", plain_number(power, 3)),
        ("accounts", str(len(report.accounts))),
    ]
    rows += [
        (f"  {kind.value} in {country}", str(n))
        for (kind, country), n in sorted(kinds.items(), key=lambda i: (i[0][0], i[0][1]))
    ]
    rows += [(f"  {mode}", str(n)) for mode, n in sorted(modes.items())]
    rows.append(
        (
            "business accounts with a VAT id",
            str(sum(1 for a in report.accounts if a.kind is AccountKind.BUSINESS and a.vat_id)),
        )
    )
    rows.append(("tokens", str(len(report.tokens))))
    rows += [
        (f"  {status}", str(token_status.get(status, 0)))
        for status in (s.value for s in TokenStatus)
    ]
    rows.append(("users (one per role)", str(len(report.users))))
    for what, count in rows:
        totals.add_row(what, count)
    console.print(totals)
