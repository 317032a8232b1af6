"""``chargeledger outbox ...``: what the outbox delivers, its dead letters, and a pass of the
delivery worker by hand (``serve`` runs it every ``CHARGELEDGER_OUTBOX_INTERVAL_SECONDS``)."""

from __future__ import annotations

import getpass
import uuid
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from chargeledger.cli.common import console, run_with_runtime
from chargeledger.domain.outbox import MessageState, OutboxMessage
from chargeledger.services.notifications import outbox
from chargeledger.services.notifications.delivery import DeliveryReport
from chargeledger.services.transactions import in_transaction, reading

if TYPE_CHECKING:
    from chargeledger.bootstrap import Runtime

outbox_app = typer.Typer(help="The outbox: e-mails and webhooks.", no_args_is_help=True)


@outbox_app.command("list")
def list_command(
    state: Annotated[MessageState | None, typer.Option(help="e.g. dead")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
) -> None:
    """Deliveries with their state, attempts and last error."""

    async def work(rt: Runtime) -> list[OutboxMessage]:
        return list((await reading(rt.uow, outbox.list_messages, state, limit, 0)).items)

    table = Table(title="Outbox", title_justify="left")
    for column in ("id", "topic", "channel", "to", "state", "attempts", "last error"):
        table.add_column(column)
    for message in run_with_runtime(work):
        table.add_row(
            str(message.id),
            message.notice.topic,
            message.channel.value,
            message.destination,
            message.state.value,
            str(message.attempts),
            message.last_error or "",
        )
    console.print(table)


@outbox_app.command("retry")
def retry_command(message_id: Annotated[uuid.UUID, typer.Argument()]) -> None:
    """Send a dead message again (due at once, attempts counted anew)."""

    async def work(rt: Runtime) -> OutboxMessage:
        who = f"cli:{getpass.getuser()}"
        return await in_transaction(rt.uow, outbox.retry_message, rt.clock, message_id, who)

    message = run_with_runtime(work)
    console.print(f"message {message.id}: {message.state.value}")


@outbox_app.command("deliver")
def deliver_command() -> None:
    """One pass of the delivery worker: fan out new events, send what is due."""

    async def work(rt: Runtime) -> DeliveryReport:
        return await rt.deliver_outbox()

    report = run_with_runtime(work)
    console.print(
        f"{report.fanned_out} deliveries made, {report.delivered} delivered, "
        f"{report.retrying} to retry, {report.dead} dead"
    )
