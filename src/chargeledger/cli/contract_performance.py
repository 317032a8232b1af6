"""``chargeledger contracts performance ID --from 2026-01 --to 2026-03 [--csv FILE | --xlsx
FILE]`` (issue 14): a contract's performance per month, printed as a table or written as a
file. The CLI runs on the server for the operator's staff: it reads every contract.

Registered by the contracts group (``cli/contracts.py``):
``contracts_app.command("performance")(performance_command)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from chargeledger.cli.common import console, fail, run_with_runtime
from chargeledger.cli.reports import SHELL, print_table
from chargeledger.domain.contract_performance import months_asked, performance_table
from chargeledger.domain.report_tables import ReportFormat, ReportTable
from chargeledger.services.billing.contract_performance import contract_performance
from chargeledger.services.billing.invoicing import today
from chargeledger.services.contracts import records
from chargeledger.services.transactions import reading

if TYPE_CHECKING:
    from chargeledger.bootstrap import Runtime


def performance_command(
    contract_id: Annotated[str, typer.Argument(help="the contract's number or id")],
    first: Annotated[
        str | None, typer.Option("--from", help="first month, 2026-01; the current one")
    ] = None,
    last: Annotated[str | None, typer.Option("--to", help="last month; --from")] = None,
    csv_file: Annotated[Path | None, typer.Option("--csv", help="write CSV here")] = None,
    xlsx_file: Annotated[Path | None, typer.Option("--xlsx", help="write XLSX here")] = None,
) -> None:
    """Sessions, kWh, revenue, discount given, commitment attainment, shortfall billed,
    revenue share paid per month, and energy cost and margin when
    CHARGELEDGER_ENERGY_COST_PER_KWH is set."""
    if csv_file is not None and xlsx_file is not None:
        raise fail("write either --csv or --xlsx", "invalid_format")

    async def work(rt: Runtime) -> tuple[ReportTable, bytes | None]:
        start, end = months_asked(first, last, today(rt.clock, rt.settings.operator_time_zone))
        found = await reading(rt.uow, records.find_contract, contract_id)
        report = await reading(
            rt.uow,
            contract_performance,
            SHELL,
            found.id,
            start,
            end,
            rt.settings.vat_rates,
            rt.settings.energy_price,
        )
        table = performance_table(report)
        if csv_file is None and xlsx_file is None:
            return table, None
        file_format = ReportFormat.CSV if csv_file is not None else ReportFormat.XLSX
        return table, rt.reports.write(table, file_format).content

    table, content = run_with_runtime(work)
    target = csv_file or xlsx_file
    if content is None or target is None:
        print_table(table)
        return
    target.write_bytes(content)
    number = table.parameters[0][1]
    console.print(
        escape(f"wrote the performance of contract {number} to {target}"), highlight=False
    )
