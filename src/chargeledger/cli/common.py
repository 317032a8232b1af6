"""What every command shares: a runtime from the environment, errors as clean messages."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from chargeledger.errors import ChargeledgerError

if TYPE_CHECKING:
    from chargeledger.bootstrap import Runtime
    from chargeledger.config import Settings

console = Console()
err_console = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


def fail(message: str, code: str, exit_code: int = 1) -> typer.Exit:
    err_console.print(f"[bold red]error[/] {escape(f'[{code}] {message}')}", highlight=False)
    return typer.Exit(exit_code)


def run_with_runtime(
    work: Callable[[Runtime], Awaitable[R]],
    *,
    migrate: bool = True,
    settings: Settings | None = None,
) -> R:
    """Run ``work`` on a runtime built from the environment; project errors become a message
    on stderr and exit code 1 (DESIGN §2: nothing silent). The runtime (the database layer,
    the providers) is imported here, when a command runs, not when the command line starts
    (issue 17)."""
    from chargeledger.bootstrap import build_runtime
    from chargeledger.config import Settings
    from chargeledger.config.collector import collect_less_often

    collect_less_often()  # batch work: see config/collector.py

    async def main() -> R:
        runtime = build_runtime(settings or Settings.from_env())
        try:
            if migrate:
                await runtime.migrate()
            return await work(runtime)
        finally:
            await runtime.aclose()

    try:
        return asyncio.run(main())
    except ChargeledgerError as exc:
        field = f" ({exc.field})" if exc.field else ""
        raise fail(f"{exc.message}{field}", exc.code) from None


def handles_errors(command: Callable[P, R]) -> Callable[P, R]:
    """For commands that fail before reaching the runtime (e.g. parsing input)."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except ChargeledgerError as exc:
            raise fail(exc.message, exc.code) from None

    return wrapper
