"""The back office over HTTP (issue 16): login and its cookie, CSRF, roles, logout, headers."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from chargeledger.api.security_headers import OFFICE_POLICY
from chargeledger.bootstrap import Runtime
from chargeledger.domain.identity import ACCOUNT_BOUND_ROLES, Role
from chargeledger.services import identity
from tests.conftest import TEST_PASSWORD, make_account

CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the storage is covered on both back ends by test_office_overview


async def add_user(runtime: Runtime, role: Role) -> str:
    account_id = None
    if role in ACCOUNT_BOUND_ROLES:
        account_id = (await make_account(runtime, f"{role.value} home")).id
    email = f"{role.value}.{uuid.uuid4().hex[:8]}@example.org"
    async with runtime.uow() as uow:
        await identity.create_user(
            uow,
            runtime.clock,
            runtime.hasher,
            email=email,
            password=TEST_PASSWORD,
            role=role,
            account_id=account_id,
        )
        await uow.commit()
    return email


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found is not None, page.text
    return found.group(1)


async def log_in(
    client: httpx.AsyncClient, email: str, password: str = TEST_PASSWORD
) -> httpx.Response:
    form = await client.get("/office/login")
    assert form.status_code == 200
    return await client.post(
        "/office/login",
        data={"username": email, "password": password, "csrf": csrf_of(form)},
    )


async def test_login_sets_the_session_cookie(runtime: Runtime, client: httpx.AsyncClient) -> None:
    email = await add_user(runtime, Role.FINANCE)
    response = await log_in(client, email)
    assert response.status_code == 303
    assert response.headers["location"] == "/office"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("office_session=")
    )
    attributes = {part.strip().split("=")[0].lower(): part for part in cookie.split(";")}
    assert "httponly" in attributes
    assert attributes["samesite"].strip().lower() == "samesite=strict"
    assert attributes["path"].strip() == "Path=/office"
    assert "secure" not in attributes  # plain HTTP here; over https see the next test
    assert f"Max-Age={runtime.settings.access_token_minutes * 60}" in cookie
    page = await client.get("/office")
    assert page.status_code == 200
    assert "<h1>Overview</h1>" in page.text
    assert page.headers["content-security-policy"] == OFFICE_POLICY
    assert page.headers["cache-control"] == "no-store"


async def test_over_https_the_cookie_is_secure_and_host_prefixed(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    email = await add_user(runtime, Role.OPERATOR)
    client.base_url = httpx.URL("https://testserver")
    response = await log_in(client, email)
    assert response.status_code == 303
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("__Host-office_session=")
    )
    lowered = cookie.lower()
    assert "; secure" in lowered
    assert "; httponly" in lowered
    assert "samesite=strict" in lowered
    assert "; path=/;" in lowered or lowered.endswith("; path=/")  # __Host- demands Path=/
    assert (await client.get("/office")).status_code == 200


async def test_a_wrong_password_is_a_generic_error(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    email = await add_user(runtime, Role.FINANCE)
    for user, password in ((email, "wrong password!"), ("nobody@example.org", TEST_PASSWORD)):
        response = await log_in(client, user, password)
        assert response.status_code == 401
        assert "Wrong user name or password." in response.text
        assert "office_session" not in response.headers.get("set-cookie", "")
    assert (await client.get("/office")).status_code == 303


async def test_a_throttled_login_is_a_429_page(runtime: Runtime, client: httpx.AsyncClient) -> None:
    email = await add_user(runtime, Role.FINANCE)
    statuses = [(await log_in(client, email, "wrong password!")).status_code for _ in range(12)]
    assert statuses[0] == 401
    assert 429 in statuses
    throttled = await log_in(client, email)  # even the right password waits
    assert throttled.status_code == 429
    assert throttled.headers["x-error-code"] == "too_many_attempts"
    assert int(throttled.headers["retry-after"]) > 0
    assert "Too many login attempts" in throttled.text


async def test_posts_without_the_right_csrf_token_are_refused(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    email = await add_user(runtime, Role.FINANCE)
    await client.get("/office/login")
    for data in ({}, {"csrf": "0" * 64}):
        refused = await client.post(
            "/office/login", data={"username": email, "password": TEST_PASSWORD, **data}
        )
        assert refused.status_code == 403
        assert refused.headers["x-error-code"] == "csrf_failed"
        assert "csrf_failed" in refused.text
    assert (await log_in(client, email)).status_code == 303
    page = await client.get("/office")
    for data in ({}, {"csrf": "0" * 64}, {"csrf": csrf_of(await client.get("/office/login"))}):
        refused = await client.post("/office/logout", data=data)
        assert refused.status_code == 403
        assert refused.headers["x-error-code"] == "csrf_failed"
    assert (await client.get("/office")).status_code == 200  # still logged in
    logout = await client.post("/office/logout", data={"csrf": csrf_of(page)})
    assert logout.status_code == 303
    assert logout.headers["location"] == "/office/login"
    cleared = logout.headers["set-cookie"]
    assert cleared.startswith('office_session=""')
    assert "Max-Age=0" in cleared
    after = await client.get("/office")
    assert after.status_code == 303
    assert after.headers["location"] == "/office/login"


async def test_roles(runtime: Runtime, client: httpx.AsyncClient) -> None:
    for role in (Role.ADMIN, Role.FINANCE, Role.OPERATOR):
        client.cookies.clear()
        assert (await log_in(client, await add_user(runtime, role))).status_code == 303
        assert (await client.get("/office")).status_code == 200
    for role in (Role.DRIVER, Role.FLEET_MANAGER):
        client.cookies.clear()
        assert (await log_in(client, await add_user(runtime, role))).status_code == 303
        refused = await client.get("/office")
        assert refused.status_code == 403
        assert refused.headers["x-error-code"] == "permission_denied"
        assert refused.headers["content-security-policy"] == OFFICE_POLICY


async def test_a_deactivated_user_is_logged_out(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    email = await add_user(runtime, Role.OPERATOR)
    assert (await log_in(client, email)).status_code == 303
    async with runtime.uow() as uow:
        user = await uow.users.get_by_email(email)
        assert user is not None
    async with runtime.uow() as uow:
        await identity.update_user(uow, runtime.clock, runtime.hasher, user.id, {"active": False})
        await uow.commit()
    response = await client.get("/office")
    assert response.status_code == 303
    assert response.headers["location"] == "/office/login"


async def test_the_office_files(client: httpx.AsyncClient) -> None:
    css = await client.get("/office/static/office.css")
    assert css.status_code == 200
    assert css.headers["content-type"] == "text/css; charset=utf-8"
    assert (await client.get("/office/static/nope.js")).status_code == 404
    login = await client.get("/office/login")
    assert login.headers["content-security-policy"] == OFFICE_POLICY
    assert "<script" not in login.text
