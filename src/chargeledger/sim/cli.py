"""Command line: ``python -m chargeledger.sim run --url ws://127.0.0.1:8000/ocpp ...``.

``--progress json`` prints one JSON object per line on stdout (``{"event": "progress", "done":
n, "total": m}`` and a final ``{"event": "report", ...}``) so another process can draw its own
progress bar; otherwise a rich progress bar on stderr and a summary on stdout at the end.
Exit status: 0 when every session was delivered, 1 when some were not, 2 on bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress

from chargeledger.sim.model import (
    SimulationOptions,
    SimulationReport,
    load_stations,
    load_tokens,
    parse_faults,
)
from chargeledger.sim.runner import run_simulation, write_truth


def _sessions(text: str) -> tuple[int, int]:
    low, _, high = text.partition("-")
    try:
        return int(low), int(high or low)
    except ValueError as exc:
        raise argparse.ArgumentTypeError("sessions must look like 2-5 or 3") from exc


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m chargeledger.sim")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run stations against an OCPP server")
    run.add_argument("--url", required=True, help="ws://127.0.0.1:8000/ocpp (id is appended)")
    run.add_argument("--stations", required=True, type=Path, help="stations JSON list")
    run.add_argument("--tokens", required=True, type=Path, help="tokens JSON list")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--duration", type=float, default=60.0, help="real seconds (default 60)")
    run.add_argument("--hours", type=float, default=24.0, help="simulated hours (default 24)")
    run.add_argument("--sessions", type=_sessions, default=(2, 5), help="per EVSE, e.g. 2-5")
    run.add_argument("--faults", default="", help="name=fraction,... e.g. disconnect=0.1")
    run.add_argument("--start", type=_moment, default=None, help="simulated start (ISO 8601)")
    run.add_argument("--truth", type=Path, default=None, help="write truth JSON Lines here")
    run.add_argument("--progress", choices=("bar", "json", "none"), default="bar")
    run.add_argument(
        "--no-signed-data",
        dest="signed_data",
        action="store_false",
        help="stations send no signed OCMF meter data with their stops",
    )
    return parser


def _json_line(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


def _run(args: argparse.Namespace, progress: Callable[[int, int], None] | None) -> SimulationReport:
    options = SimulationOptions(
        seed=args.seed,
        duration_s=args.duration,
        hours=args.hours,
        sessions_per_evse=args.sessions,
        faults=parse_faults(args.faults),
        start_at=args.start,
        progress=progress,
        signed_meter_data=args.signed_data,
    )
    stations = load_stations(args.stations)
    tokens = load_tokens(args.tokens)
    return asyncio.run(run_simulation(args.url, stations, tokens, options))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console(stderr=True)
    try:
        if args.progress == "json":
            report = _run(
                args, lambda d, t: _json_line({"event": "progress", "done": d, "total": t})
            )
        elif args.progress == "bar":
            columns = (
                TextColumn("sessions"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
            )
            with RichProgress(*columns, console=console) as bar:
                task = bar.add_task("sessions", total=None)
                report = _run(args, lambda d, t: bar.update(task, completed=d, total=t))
        else:
            report = _run(args, None)
    except (OSError, ValueError, KeyError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        return 2
    if args.truth is not None:
        write_truth(args.truth, report.truth)
    summary = report.summary()
    if args.progress == "json":
        _json_line({"event": "report", **summary})
    else:
        out = Console()
        for name, value in summary.items():
            out.print(f"{name}: {value}", highlight=False)
    return 0 if report.sessions_failed == 0 and not report.stations_failed else 1
