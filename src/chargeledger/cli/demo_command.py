"""``chargeledger demo``: its options and help, apart from the demo itself (``cli/demo.py``),
which loads the whole server and is imported only when the command runs (issue 17)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def demo(
    output_dir: Annotated[Path, typer.Option(help="where the demo database goes")] = Path(
        "demo-output"
    ),
    seed: Annotated[int, typer.Option(help="random seed; same seed, same operator")] = 2026,
    day_seconds: Annotated[
        int, typer.Option(help="real seconds for the simulated day of charging")
    ] = 60,
) -> None:
    """Build a demo operator, run a simulated day of charging against the real server over
    real OCPP websockets, and show what was captured next to the simulator's truth."""
    from chargeledger.cli.demo import run_demo

    run_demo(output_dir, seed, day_seconds)
