"""``chargeledger users ...`` and ``chargeledger api-keys ...``."""

from __future__ import annotations

import os
import uuid
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from chargeledger.cli.common import console, run_with_runtime
from chargeledger.domain.identity import Role, Scope
from chargeledger.services import identity
from chargeledger.services.transactions import in_transaction, reading

if TYPE_CHECKING:
    from chargeledger.bootstrap import Runtime

NEW_PASSWORD_VARIABLE = "CHARGELEDGER_NEW_USER_PASSWORD"
users_app = typer.Typer(help="People who log in to the API.", no_args_is_help=True)
api_keys_app = typer.Typer(help="Machine credentials for integrations.", no_args_is_help=True)


@users_app.command("create")
def create_user(
    email: Annotated[str, typer.Option(help="login e-mail")],
    role: Annotated[Role, typer.Option(help="one of the roles of DESIGN §6")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar=NEW_PASSWORD_VARIABLE,
            help="at least 12 characters",
        ),
    ],
    account_id: Annotated[
        uuid.UUID | None, typer.Option(help="customer account (drivers, fleet managers)")
    ] = None,
    name: Annotated[str | None, typer.Option(help="display name")] = None,
) -> None:
    """Create a user, e.g. the first admin: ``chargeledger users create --role admin``."""

    async def work(rt: Runtime) -> None:
        user = await in_transaction(
            rt.uow,
            identity.create_user,
            rt.clock,
            rt.hasher,
            email=email,
            password=password,
            role=role,
            account_id=account_id,
            name=name,
        )
        console.print(f"created {user.role.value} user {user.email} ({user.id})")

    run_with_runtime(work)


@users_app.command("update")
def update_user(
    user: Annotated[str, typer.Argument(help="the user's e-mail or id")],
    active: Annotated[
        bool | None, typer.Option("--active/--inactive", help="let the user log in or not")
    ] = None,
    role: Annotated[Role | None, typer.Option(help="a new role")] = None,
    name: Annotated[str | None, typer.Option(help="a new display name")] = None,
    new_password: Annotated[
        bool,
        typer.Option(
            "--new-password",
            help="set a new password (prompted, or CHARGELEDGER_NEW_USER_PASSWORD)",
        ),
    ] = False,
) -> None:
    """Deactivate, reactivate, rename, change the role of or reset the password of a user.

    The last active admin cannot be deactivated or demoted ([last_active_admin]).
    """
    changes: dict[str, object] = {
        key: value
        for key, value in (("active", active), ("role", role), ("name", name))
        if value is not None
    }
    password = _new_password() if new_password else None

    async def work(rt: Runtime) -> None:
        found = await reading(rt.uow, identity.find_user, user)
        updated = await in_transaction(
            rt.uow, identity.update_user, rt.clock, rt.hasher, found.id, changes, password=password
        )
        state = "active" if updated.active else "inactive"
        console.print(f"{updated.email}: {updated.role.value}, {state}")

    run_with_runtime(work)


def _new_password() -> str:
    from_env = os.environ.get(NEW_PASSWORD_VARIABLE)
    if from_env:
        return from_env
    prompted: str = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    return prompted


@users_app.command("list")
def list_users() -> None:
    """List users with their roles."""

    async def work(rt: Runtime) -> None:
        page = await reading(rt.uow, identity.list_users, limit=1000)
        table = Table("e-mail", "role", "account", "active")
        for user in page.items:
            table.add_row(
                user.email,
                user.role.value,
                str(user.account_id or ""),
                "yes" if user.active else "no",
            )
        console.print(table)

    run_with_runtime(work)


@api_keys_app.command("create")
def create_api_key(
    name: Annotated[str, typer.Option(help="what the key is for")],
    scope: Annotated[list[Scope], typer.Option(help="repeat for several scopes")],
) -> None:
    """Create an API key; the key is printed once and cannot be shown again."""

    async def work(rt: Runtime) -> None:
        key, secret = await in_transaction(
            rt.uow, identity.create_api_key, rt.clock, name=name, scopes=scope
        )
        console.print(f"API key {key.name} ({key.id}), scopes {', '.join(sorted(key.scopes))}")
        console.print(secret, highlight=False)

    run_with_runtime(work)


@api_keys_app.command("list")
def list_api_keys() -> None:
    """List API keys (never their secrets)."""

    async def work(rt: Runtime) -> None:
        page = await reading(rt.uow, identity.list_api_keys, limit=1000)
        table = Table("id", "name", "prefix", "scopes", "revoked")
        for key in page.items:
            table.add_row(
                str(key.id),
                key.name,
                key.prefix,
                " ".join(sorted(key.scopes)),
                key.revoked_at.isoformat() if key.revoked_at else "",
            )
        console.print(table)

    run_with_runtime(work)


@api_keys_app.command("revoke")
def revoke_api_key(key_id: uuid.UUID) -> None:
    """Revoke an API key at once."""

    async def work(rt: Runtime) -> None:
        key = await in_transaction(rt.uow, identity.revoke_api_key, rt.clock, key_id)
        console.print(f"revoked {key.name} ({key.id})")

    run_with_runtime(work)
