"""A Typer group whose commands are imported only when they run (issue 17: "``chargeledger
--help`` under 0.3 s: import heavy modules only in the commands that use them").

Typer builds every command of a tree up front, reading each callback's signature, so one
``chargeledger --help`` used to import every command module and, through them, the API, the
database layer and the PDF libraries. Here the root group knows each command's name, where it
lives and the line its help shows, and imports the module when the command is asked for
(Click's "lazy loading subcommands" pattern). The root's help prints those lines without
importing anything; ``tests/unit/test_cli_startup.py`` holds them equal to the commands' own
help.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import typer
from typer.core import TyperCommand, TyperGroup
from typer.main import get_command_from_info, get_group_from_info
from typer.models import CommandInfo, TyperInfo

if TYPE_CHECKING:
    # Typer's own copy of Click, whose classes its groups and commands are.
    from typer import _click as click
    from typer._click.shell_completion import CompletionItem

# The root app's (Typer's default); it only shapes tracebacks, which the app leaves plain.
PRETTY_EXCEPTIONS_SHORT = True


@dataclass(frozen=True)
class Lazy:
    """A command or group of the root, by name: ``target`` is ``"module:attribute"`` (a
    ``typer.Typer`` becomes a group, a function a command, as ``add_typer``/``command`` make
    them) and ``summary`` is the first paragraph of its help, which the root's help shows."""

    name: str
    target: str
    summary: str

    def load(self, parent: TyperGroup) -> click.Command:
        module, _, attribute = self.target.partition(":")
        value = getattr(importlib.import_module(module), attribute)
        if isinstance(value, typer.Typer):
            return get_group_from_info(
                TyperInfo(value, name=self.name),
                pretty_exceptions_short=PRETTY_EXCEPTIONS_SHORT,
                rich_markup_mode=parent.rich_markup_mode,
                suggest_commands=parent.suggest_commands,
            )
        return get_command_from_info(
            CommandInfo(name=self.name, callback=value),
            pretty_exceptions_short=PRETTY_EXCEPTIONS_SHORT,
            rich_markup_mode=parent.rich_markup_mode,
        )


class Unloaded(TyperCommand):
    """Stands for a lazy command until it is asked for: enough to list it in a help page."""

    def __init__(self, lazy: Lazy) -> None:
        super().__init__(name=lazy.name, help=lazy.summary)
        self.lazy = lazy


class LazyGroup(TyperGroup):
    """The root group. Subclasses set ``lazy_commands`` and ``lazy_groups``, listed in the
    order Typer lists a group: its commands (these, then those registered on the app), then
    its sub-groups."""

    lazy_commands: ClassVar[tuple[Lazy, ...]] = ()
    lazy_groups: ClassVar[tuple[Lazy, ...]] = ()

    def __init__(self, *, commands: dict[str, click.Command] | None = None, **attrs: Any) -> None:
        listed: dict[str, click.Command] = {c.name: Unloaded(c) for c in self.lazy_commands}
        listed.update(commands or {})
        listed.update({group.name: Unloaded(group) for group in self.lazy_groups})
        super().__init__(commands=listed, **attrs)
        self.listing = False

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = self.commands.get(cmd_name)
        if isinstance(command, Unloaded) and not self.listing:
            command = self.commands[cmd_name] = command.lazy.load(self)
        return command

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with self.summaries_only():
            super().format_help(ctx, formatter)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        with self.summaries_only():
            return super().shell_complete(ctx, incomplete)

    @contextmanager
    def summaries_only(self) -> Iterator[None]:
        """While a help page or a completion lists the commands, unloaded ones stay so."""
        self.listing = True
        try:
            yield
        finally:
            self.listing = False
