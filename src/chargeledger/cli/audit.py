"""``chargeledger audit ...``: the tamper-evident chain of money records (issue 15): chain what
is queued, close a day with a signed checkpoint, and verify everything."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from chargeledger.cli.common import console, err_console, fail, run_with_runtime
from chargeledger.domain.audit import Checkpoint
from chargeledger.domain.audit_verification import AuditReport, Problem, ProblemKind
from chargeledger.services.audit.auditor import close_days, seal_all, verify

if TYPE_CHECKING:
    from chargeledger.bootstrap import Runtime

audit_app = typer.Typer(
    help="The tamper-evident chain of journal entries, documents, payment events and signed "
    "meter values.",
    no_args_is_help=True,
)


@audit_app.command("seal")
def seal_command() -> None:
    """Chain every record queued since the last seal (``serve`` does it every 30 s)."""

    async def work(rt: Runtime) -> int:
        return await seal_all(rt.auditor)

    console.print(f"[green]✓[/] {run_with_runtime(work)} records chained")


@audit_app.command("close-day")
def close_day_command(
    day: Annotated[
        str | None, typer.Option(help="the UTC day to close (default: yesterday)")
    ] = None,
) -> None:
    """Sign the day's checkpoint (Merkle root of its chain entries) and write its file."""
    chosen = None
    if day is not None:
        try:
            chosen = date.fromisoformat(day)
        except ValueError:
            raise fail("--day takes a date like 2026-10-31", "invalid_date") from None

    async def work(rt: Runtime) -> list[tuple[Checkpoint, Path]]:
        target = chosen or rt.clock.now().date() - timedelta(days=1)
        return await close_days(rt.auditor, target)

    for checkpoint, path in run_with_runtime(work):
        span = (
            f"#{checkpoint.first_seq}-#{checkpoint.last_seq}" if checkpoint.count else "no entries"
        )
        console.print(
            f"[green]✓[/] {checkpoint.day} closed: {checkpoint.count} entries ({span}), "
            f"root {checkpoint.merkle_root}"
        )
        console.print(f"  checkpoint file: {escape(str(path))}")


class _Bar:
    """The verification's progress on stderr (stdout stays clean for ``--json``)."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: TaskID | None = None

    def start(self, total: int) -> None:
        self._task = self._progress.add_task("verifying", total=total)

    def advance(self, rows: int) -> None:
        if self._task is not None:
            self._progress.advance(self._task, rows)


def _problem_json(problem: Problem) -> dict[str, Any]:
    return {
        "kind": problem.kind.value,
        "record_type": problem.record_type,
        "record_id": problem.record_id,
        "seq": problem.seq,
        "detail": problem.detail,
    }


def report_json(report: AuditReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "entries": report.entries,
        "pending": report.pending,
        "records": report.records,
        "checkpoints": report.checkpoints,
        "rechecked": report.rechecked,
        "counts": {kind.value: report.counts.get(kind, 0) for kind in ProblemKind},
        "first": None if report.first is None else _problem_json(report.first),
        "problems": [_problem_json(p) for p in report.problems],
    }


def _summary(report: AuditReport, seconds: float) -> None:
    table = Table(title="Audit chain", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("chain entries walked", f"{report.entries:,}")
    table.add_row("records rehashed", f"{report.records:,}")
    table.add_row("queued, not yet chained", f"{report.pending:,}")
    table.add_row("checkpoints held", f"{report.checkpoints:,}")
    if seconds > 0:
        table.add_row("records per second", f"{report.records / seconds:,.0f}")
    for kind in ProblemKind:
        if report.counts.get(kind):
            table.add_row(f"[red]{kind.value}[/]", f"[red]{report.counts[kind]:,}[/]")
    console.print(table)
    if report.first is None:
        console.print("[green]✓[/] every record, link and checkpoint holds")
        return
    console.print(f"[red]✗ first problem[/] {escape(report.first.describe())}")
    for problem in report.problems[1:10]:
        console.print(f"  [red]✗[/] {escape(problem.describe())}")


@audit_app.command("verify")
def verify_command(
    checkpoints: Annotated[
        Path | None,
        typer.Option(help="a directory of checkpoint files kept elsewhere, to hold the chain to"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Rehash every chained record, walk the chain and check every checkpoint; names the
    first record changed, deleted, inserted or reordered. Exits 0 only when all holds."""
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as progress:
        bar = _Bar(progress)

        async def work(rt: Runtime) -> tuple[AuditReport, float]:
            started = rt.clock.now()
            report = await verify(rt.auditor, checkpoints, bar)
            return report, (rt.clock.now() - started).total_seconds()

        report, seconds = run_with_runtime(work)
    if as_json:
        typer.echo(json.dumps(report_json(report), indent=2))
    else:
        _summary(report, seconds)
    if not report.ok:
        raise typer.Exit(1)
