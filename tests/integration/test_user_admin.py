"""Managing users (issue 11 item 6): the last active admin can be neither deactivated nor
demoted, also when two admins remove each other at the same moment (on SQLite and
PostgreSQL); admins change roles and reset passwords, users change their own password."""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Any, cast

import httpx
from sqlalchemy import text

from chargeledger.adapters.db.engine import create_engine
from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import Role, User
from chargeledger.errors import ConflictError
from chargeledger.services import identity
from chargeledger.services.ports import UnitOfWork
from tests.conftest import POSTGRES_URL_VARIABLE, TEST_PASSWORD, LoginAs
from tests.integration.ocpp_support import bounded

API = "/api/v1"
Json = dict[str, Any]
Headers = dict[str, str]
NEW_PASSWORD = "another long enough password"


async def me(client: httpx.AsyncClient, headers: Headers) -> uuid.UUID:
    response = await client.get(f"{API}/me", headers=headers)
    return uuid.UUID(response.json()["subject"].removeprefix("user:"))


async def patch_user(
    client: httpx.AsyncClient, headers: Headers, user_id: uuid.UUID, body: Json
) -> httpx.Response:
    return await client.patch(f"{API}/users/{user_id}", json=body, headers=headers)


def code(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, str(response.json()["error"]["code"])


async def active_admins(runtime: Runtime) -> set[uuid.UUID]:
    async with runtime.uow() as uow:
        page = await uow.users.list(limit=1000, offset=0)
    return {u.id for u in page.items if u.role is Role.ADMIN and u.active}


async def test_the_last_active_admin_can_be_neither_deactivated_nor_demoted(
    client: httpx.AsyncClient, login_as: LoginAs, runtime: Runtime
) -> None:
    ana_headers = await login_as(Role.ADMIN)
    ana = await me(client, ana_headers)
    for change in ({"active": False}, {"role": "finance"}):
        refused = await patch_user(client, ana_headers, ana, change)
        assert code(refused) == (409, "last_active_admin"), refused.text
    assert await active_admins(runtime) == {ana}

    created = await client.post(
        f"{API}/users",
        json={"email": "bo@example.org", "password": TEST_PASSWORD, "role": "admin"},
        headers=ana_headers,
    )
    bo = uuid.UUID(created.json()["id"])
    assert (await patch_user(client, ana_headers, bo, {"active": False})).status_code == 200
    # An inactive admin does not count: ana is the last active one again.
    assert code(await patch_user(client, ana_headers, ana, {"active": False})) == (
        409,
        "last_active_admin",
    )
    assert (await patch_user(client, ana_headers, bo, {"active": True})).status_code == 200
    demoted = await patch_user(client, ana_headers, ana, {"role": "finance"})
    assert (demoted.status_code, demoted.json()["role"]) == (200, "finance")
    assert await active_admins(runtime) == {bo}


async def test_admins_change_roles_and_reset_passwords(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as(Role.ADMIN)
    created = await client.post(
        f"{API}/users",
        json={"email": "cy@example.org", "password": TEST_PASSWORD, "role": "operator"},
        headers=admin,
    )
    cy = uuid.UUID(created.json()["id"])
    changed = await patch_user(
        client, admin, cy, {"role": "finance", "name": "Cy", "password": NEW_PASSWORD}
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["role"], changed.json()["name"]) == ("finance", "Cy")
    assert "password" not in changed.text
    form = {"username": "cy@example.org", "password": TEST_PASSWORD}
    assert (await client.post(f"{API}/auth/token", data=form)).status_code == 401
    form["password"] = NEW_PASSWORD
    assert (await client.post(f"{API}/auth/token", data=form)).status_code == 200
    weak = await patch_user(client, admin, cy, {"password": "short"})
    assert code(weak) == (422, "weak_password")
    unbound = await patch_user(client, admin, cy, {"role": "driver"})
    assert code(unbound) == (422, "missing_account")


async def test_a_user_changes_their_own_password(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    finance = await login_as(Role.FINANCE)
    wrong = await client.post(
        f"{API}/me/password",
        json={"current_password": "not my password", "new_password": NEW_PASSWORD},
        headers=finance,
    )
    assert code(wrong) == (422, "wrong_password")
    changed = await client.post(
        f"{API}/me/password",
        json={"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD},
        headers=finance,
    )
    assert changed.status_code == 204, changed.text
    users = (await client.get(f"{API}/users", headers=await login_as(Role.ADMIN))).json()
    my_id = str(await me(client, finance))
    mine = next(u["email"] for u in users["items"] if u["id"] == my_id)
    form = {"username": mine, "password": TEST_PASSWORD}
    assert (await client.post(f"{API}/auth/token", data=form)).status_code == 401
    form["password"] = NEW_PASSWORD
    assert (await client.post(f"{API}/auth/token", data=form)).status_code == 200


class CommitWhenReleased:
    """A real unit of work whose ``commit`` waits until the test releases it, so a second
    transaction can be made to run while the first one is open."""

    def __init__(self, inner: UnitOfWork) -> None:
        self._inner = inner
        self.reached = asyncio.Event()
        self.release = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def commit(self) -> None:
        self.reached.set()
        await self.release.wait()
        await self._inner.commit()


async def add_admin(runtime: Runtime, email: str) -> User:
    async with runtime.uow() as uow:
        user = await identity.create_user(
            uow, runtime.clock, runtime.hasher, email=email, password=TEST_PASSWORD, role=Role.ADMIN
        )
        await uow.commit()
    return user


async def backend_pid(uow: UnitOfWork) -> int:
    """The PostgreSQL backend of an open unit of work (to see who waits for its locks)."""
    connection: Any = cast(Any, uow).users._connection
    return int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def wait_until_blocked_by(pid: int, second: asyncio.Future[Any]) -> None:
    """Poll (bounded) until another backend waits for a lock ``pid`` holds, or until the
    second transaction is done anyway (it did not wait: the test then fails on its result)."""
    observer = create_engine(os.environ[POSTGRES_URL_VARIABLE])
    query = text("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))")
    try:

        async def blocked() -> None:
            while not second.done():
                async with observer.connect() as connection:
                    if (await connection.execute(query, {"pid": pid})).scalar_one():
                        return
                await asyncio.sleep(0.02)

        await bounded(blocked())
    finally:
        await observer.dispose()


async def test_two_admins_removing_each_other_at_once_leave_one_active(
    runtime: Runtime,
) -> None:
    """Ana deactivates Bo while Bo deactivates Ana. The first change is held open before its
    commit; the second starts meanwhile (on PostgreSQL it is seen waiting for the first's row
    locks; SQLite's transactions take turns anyway). When the first commits, the second sees
    Bo inactive and is refused: one active admin remains, never zero."""
    ana = await add_admin(runtime, "ana@example.org")
    bo = await add_admin(runtime, "bo@example.org")
    clock, hasher = runtime.clock, runtime.hasher

    async def deactivate(uow: UnitOfWork, user_id: uuid.UUID) -> User:
        """As an entry point does: the use case in the unit of work it opened, committed."""
        changed = await identity.update_user(uow, clock, hasher, user_id, {"active": False})
        await uow.commit()
        return changed

    async with runtime.uow() as first_uow, runtime.uow() as second_uow:
        first = CommitWhenReleased(first_uow)
        deactivate_bo = asyncio.ensure_future(deactivate(cast(UnitOfWork, first), bo.id))
        await bounded(first.reached.wait())
        deactivate_ana = asyncio.ensure_future(deactivate(second_uow, ana.id))
        if runtime.database_backend == "postgresql":
            await wait_until_blocked_by(await backend_pid(first_uow), deactivate_ana)
        first.release.set()
        assert not (await bounded(deactivate_bo)).active
        outcome = await bounded(asyncio.gather(deactivate_ana, return_exceptions=True))
    assert await active_admins(runtime) == {ana.id}
    assert isinstance(outcome[0], ConflictError), outcome
    assert outcome[0].code == "last_active_admin"
