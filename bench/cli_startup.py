"""Command line start-up benchmark (issue 17: "CLI: ``chargeledger --help`` under 0.3 s"), next
to references measured in the same run: a one-command Typer hello-world app's ``--help`` (what
any Typer command line costs) and a bare ``python -c pass`` (the interpreter alone).

Each command is a fresh process, as a user's shell starts it; the commands take turns, round
after round, so a busy machine slows them alike. The figures are medians of ``--runs`` rounds.
The tree this file sits in is imported (its ``src`` goes first on ``PYTHONPATH``).

Usage: python bench/cli_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent / "src"
CHARGELEDGER = str(Path(sys.executable).with_name("chargeledger"))
TYPER_HELLO = """
import typer

app = typer.Typer()


@app.command()
def hello(name: str = "world") -> None:
    print(f"hello {name}")


app()
"""
COMMANDS = {
    "chargeledger --help": [CHARGELEDGER, "--help"],
    "chargeledger invoice --help": [CHARGELEDGER, "invoice", "--help"],
    "chargeledger invoice run --help": [CHARGELEDGER, "invoice", "run", "--help"],
    "typer hello-world --help": [sys.executable, "-c", TYPER_HELLO, "--help"],
    "python -c pass": [sys.executable, "-c", "pass"],
}
REFERENCE = "typer hello-world --help"


def environment() -> dict[str, str]:
    path = os.environ.get("PYTHONPATH")
    return {
        **os.environ,
        "PYTHONPATH": f"{SOURCE}{os.pathsep}{path}" if path else str(SOURCE),
        "COLUMNS": "100",
    }


def wall_time(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    env = environment()
    for command in COMMANDS.values():  # warm the file cache and the bytecode once
        wall_time(command, env)
    times: dict[str, list[float]] = {label: [] for label in COMMANDS}
    for _ in range(runs):
        for label, command in COMMANDS.items():
            times[label].append(wall_time(command, env))
    medians = {label: statistics.median(values) for label, values in times.items()}
    print(f"{runs} runs each, median wall time (load average {os.getloadavg()[0]:.1f})")
    for label, median in medians.items():
        ratio = median / medians[REFERENCE]
        print(f"  {label:<34} {median * 1000:7.0f} ms  {ratio:5.2f}x the Typer hello-world")


if __name__ == "__main__":
    main()
