"""``chargeledger price [TARIFF.json] CDR.json``: price a CDR with the one pricing function."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from chargeledger.cli.common import console, fail, handles_errors
from chargeledger.domain.geo import time_zone as checked_time_zone
from chargeledger.domain.tariffs import Amount, parse_cdr, parse_tariff, price
from chargeledger.domain.text import (
    UNIT_PRICE_PLACES,
    exact_amount,
    percent_text,
    plain_number,
    quantity_text,
)

MONEY_FIELDS = (
    "total_cost",
    "total_energy_cost",
    "total_time_cost",
    "total_parking_cost",
    "total_fixed_cost",
    "total_reservation_cost",
)
QUANTITY_FIELDS = ("total_energy", "total_time", "total_parking_time")


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text(), parse_float=Decimal)
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror}", "file_not_readable") from None
    except ValueError as exc:
        raise fail(f"{path} is not JSON: {exc}", "invalid_json") from None


@handles_errors
def price_command(
    files: Annotated[list[Path], typer.Argument(help="[TARIFF.json] CDR.json", metavar="FILES")],
    time_zone: Annotated[
        str, typer.Option("--time-zone", help="IANA zone the restrictions are read in")
    ] = "UTC",
    as_json: Annotated[bool, typer.Option("--json", help="print the totals as JSON")] = False,
    places: Annotated[int, typer.Option(help="decimal places of the totals")] = 4,
) -> None:
    """Price a CDR (OCPI 2.2.1). Without a tariff file the CDR's own tariff is used."""
    if len(files) not in (1, 2):
        raise fail("give [TARIFF.json] CDR.json", "invalid_arguments")
    cdr = parse_cdr(_load(files[-1]))
    if len(files) == 2:
        tariff = parse_tariff(_load(files[0]))
    else:
        embedded = cdr.tariff_at_start()
        if embedded is None:
            raise fail(
                "the CDR embeds no tariff valid at its start; give TARIFF.json", "missing_tariff"
            )
        tariff = embedded
    result = price(cdr, tariff, checked_time_zone(time_zone))
    if as_json:
        # JSON numbers: the totals are already rounded to ``places``, and a float's shortest
        # repr of such a value is exactly that decimal, so nothing is lost on the way out.
        console.print_json(json.dumps(result.ocpi_totals(places), default=float))
        return
    table = Table(
        title=f"tariff {tariff.id} ({tariff.currency}), {time_zone}", title_justify="left"
    )
    for column in ("total", "excl. VAT", "incl. VAT"):
        table.add_column(column, justify="left" if column == "total" else "right")
    currency = result.currency
    for name in MONEY_FIELDS:
        amount: Amount = getattr(result, name)
        table.add_row(
            name,
            exact_amount(amount.excl_vat, currency, places),
            exact_amount(amount.incl_vat, currency, places),
        )
    for name in QUANTITY_FIELDS:
        table.add_row(name, plain_number(getattr(result, name), places), "")
    console.print(table)
    lines = Table("category", "volume", "unit price", "VAT %", "excl. VAT", "why")
    for line in result.lines:
        lines.add_row(
            line.category,
            quantity_text(line.volume, line.unit) if line.unit else "",
            exact_amount(line.unit_price, currency, UNIT_PRICE_PLACES),
            "" if line.vat is None else percent_text(line.vat),
            exact_amount(line.excl_vat, currency, places),
            line.explanation,
        )
    console.print(lines)
