"""Printing the simulated day: sessions captured, quarantined with reasons, energy against
the simulator's truth."""

from __future__ import annotations

from decimal import Decimal

from rich.table import Table

from chargeledger.cli.common import console
from chargeledger.cli.demo_day import DayReport
from chargeledger.domain.text import money_figure, plain_number


def _kwh(wh: Decimal) -> str:
    return plain_number(wh / 1000, 3)


def print_day(day: DayReport) -> None:
    sessions = Table(title="Simulated day: sessions captured over OCPP", title_justify="left")
    sessions.add_column("what")
    sessions.add_column("count", justify="right")
    sim = day.sim_report
    rows = [
        ("sessions the stations ran", str(len(day.truth))),
        ("  refused by the server", str(sim.get("sessions_failed", "?"))),
        ("captured", str(sum(day.by_status.values()))),
        ("  completed", str(day.by_status.get("completed", 0))),
        ("  quarantined", str(day.by_status.get("quarantined", 0))),
        ("  still open", str(day.by_status.get("active", 0))),
        ("not captured", str(len(day.missing))),
    ]
    rows += [
        ("OCPP messages sent by the stations", str(sim.get("messages_sent", "?"))),
        ("CALLERRORs the stations received", str(sim.get("call_errors", "?"))),
        ("station reconnects", str(sim.get("reconnects", "?"))),
        (
            "round trip p50 / p99 (ms)",
            f"{sim.get('latency_p50_ms', '?')} / {sim.get('latency_p99_ms', '?')}",
        ),
    ]
    for fault, times in sorted(day.transport_faults.items()):
        rows.append((f"sessions with fault {fault} (still billable)", str(times)))
    for what, count in rows:
        sessions.add_row(what, count)
    console.print(sessions)

    held = Table(title="Quarantined, with reasons", title_justify="left")
    for column in ("reason", "faults injected", "quarantined with that reason"):
        held.add_column(column, justify="left" if column == "reason" else "right")
    for reason in sorted(day.expected_quarantine):
        held.add_row(
            reason, str(day.expected_quarantine[reason]), str(day.caught_quarantine.get(reason, 0))
        )
    console.print(held)

    energy = Table(title="Captured energy against the simulator's truth", title_justify="left")
    energy.add_column("what")
    energy.add_column("value", justify="right")
    energy.add_row("billable sessions", str(day.billable))
    energy.add_row("  equal to the truth to the Wh", str(day.billable_exact))
    energy.add_row("truth (kWh)", _kwh(day.truth_wh))
    energy.add_row("captured (kWh)", _kwh(day.captured_wh))
    energy.add_row("difference (Wh)", plain_number(day.captured_wh - day.truth_wh, 3))
    console.print(energy)
    revenue = Table(
        title="Revenue of the completed sessions by component (EUR)", title_justify="left"
    )
    for column in ("component", "excl. VAT", "incl. VAT"):
        revenue.add_column(column, justify="left" if column == "component" else "right")
    for name, label in (
        ("energy", "energy (per kWh)"),
        ("time", "charging time"),
        ("parking", "idle fee"),
        ("fixed", "session fees"),
        ("total", "total"),
    ):
        amount = day.revenue.get(name)
        if amount is not None:
            revenue.add_row(
                label, money_figure(amount.excl_vat, "EUR"), money_figure(amount.incl_vat, "EUR")
            )
    console.print(revenue)
    if day.sessions_by_tariff:
        console.print(
            "sessions per tariff: "
            + ", ".join(
                f"{tariff} {count}" for tariff, count in sorted(day.sessions_by_tariff.items())
            )
        )
    for line in (day.missing + day.mismatches + day.unexpected_quarantine)[:20]:
        console.print(f"[yellow]![/] {line}", highlight=False)
