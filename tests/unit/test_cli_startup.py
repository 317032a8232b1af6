"""Issue 17: ``chargeledger --help`` imports only the command line itself, never the runtime,
the API, the database layer, the PDF libraries or a command's module. Asserted on what a help
page imports (``sys.modules`` of a fresh process), never on how long it takes: the time is
measured in ``bench/cli_startup.py``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from typer import _click as click
from typer.core import TyperGroup
from typer.testing import CliRunner

import chargeledger
from chargeledger.cli import app
from chargeledger.cli.lazy_group import Unloaded

SOURCE = str(Path(chargeledger.__file__).resolve().parents[1])
# Runs the command line in a fresh interpreter, then prints the modules it imported.
IMPORTS_OF = """
import json, sys
from chargeledger.cli import app
try:
    app(sys.argv[1:], prog_name="chargeledger")
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""
# Asks every help page of the tree in one fresh interpreter, then prints the modules imported.
IMPORTS_OF_EVERY_HELP = """
import json, sys
import typer.main
from typer import _click as click
from chargeledger.cli import app

def pages(command, path):
    yield path
    if hasattr(command, "list_commands"):
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            yield from pages(command.get_command(ctx, name), [*path, name])

for path in list(pages(typer.main.get_command(app), [])):
    try:
        app([*path, "--help"], prog_name="chargeledger")
    except SystemExit:
        pass
print(json.dumps(sorted(sys.modules)))
"""
HEAVY = (
    "sqlalchemy",
    "alembic",
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
    "fpdf",
    "fontTools",
    "facturx",
    "openpyxl",
    "stripe",
    "chargeledger.bootstrap",
    "chargeledger.config",
    "chargeledger.adapters",
    "chargeledger.api",
    "chargeledger.asgi",
    "chargeledger.cli.demo",
)
# What the root's help may import of the project: the group, the shared console, the errors.
ROOT_MODULES = {
    "chargeledger",
    "chargeledger.cli",
    "chargeledger.cli.common",
    "chargeledger.cli.lazy_group",
    "chargeledger.errors",
}


def imports_of(*arguments: str, script: str = IMPORTS_OF) -> set[str]:
    path = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": f"{SOURCE}{os.pathsep}{path}" if path else SOURCE}
    run = subprocess.run(
        [sys.executable, "-c", script, *arguments],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return set(json.loads(run.stdout.splitlines()[-1]))


def heavy_among(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(f"{h}.") for h in HEAVY))


@pytest.mark.parametrize("arguments", [("--help",), ()], ids=["--help", "no arguments"])
def test_the_root_help_imports_no_command(arguments: tuple[str, ...]) -> None:
    modules = imports_of(*arguments)
    assert heavy_among(modules) == []
    assert {m for m in modules if m.startswith("chargeledger")} == ROOT_MODULES


def test_no_help_page_imports_the_runtime_or_a_heavy_library() -> None:
    """A group's or a command's ``--help`` imports its module, never the runtime: commands
    build it when they run (``cli/common.py::run_with_runtime``)."""
    modules = imports_of(script=IMPORTS_OF_EVERY_HELP)
    assert "chargeledger.cli.invoicing" in modules  # the walk did reach the groups
    assert heavy_among(modules) == []


def test_the_root_help_lists_what_the_commands_say_of_themselves(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each lazy command's summary is the first paragraph of its own help: the root's help
    reads the same before and after every command is imported."""
    group = typer.main.get_command(app)
    assert isinstance(group, TyperGroup)
    ctx = click.Context(group, info_name="chargeledger")
    group.get_help(ctx)  # Typer prints its help pages itself
    listed = capsys.readouterr().out
    names = group.list_commands(ctx)
    loaded = [group.get_command(ctx, name) for name in names]
    assert [command.name for command in loaded if command] == names
    assert not any(isinstance(command, Unloaded) for command in loaded)
    group.get_help(ctx)
    assert capsys.readouterr().out == listed
    assert "invoice" in listed


def test_a_command_is_imported_when_it_runs() -> None:
    result = CliRunner().invoke(app, ["invoice", "--help"])
    assert result.exit_code == 0, result.output
    assert "charge" in result.output
    assert "chargeledger.cli.invoicing" in sys.modules


def test_version_prints_the_package_version_and_imports_no_command() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output == f"chargeledger {chargeledger.__version__}\n"
    modules = imports_of("--version")
    assert {m for m in modules if m.startswith("chargeledger")} == ROOT_MODULES
