"""Every response is logged once with its status and request id, 500s included, and carries
``X-Request-ID`` (issue 11 item 18). Over the real app and database; the log records are the
ones the app emits (caplog)."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from chargeledger.api.app import create_app
from chargeledger.bootstrap import Runtime

LOGGER = "chargeledger.api"


class LedgerOnFireError(RuntimeError):
    pass


@pytest.fixture
async def app(runtime: Runtime) -> FastAPI:
    """The real app with one more route, which fails the way a bug would."""
    application = create_app(runtime, migrate=False, jobs=False)

    @application.get("/boom")
    async def boom() -> None:
        raise LedgerOnFireError("the ledger is on fire")

    return application


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def access_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.getMessage() == "request"]


def extra(record: logging.LogRecord, *names: str) -> tuple[object, ...]:
    """The ``extra`` fields a record was logged with."""
    return tuple(vars(record)[name] for name in names)


async def test_an_unhandled_error_is_a_logged_500_with_the_request_id(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    response = await http.get("/boom", headers={"X-Request-ID": "req-7f3a:9"})

    assert response.status_code == 500
    assert response.headers["x-request-id"] == "req-7f3a:9"
    assert response.json()["error"] == {
        "code": "internal_error",
        "message": "an unexpected error occurred; quote the request id when you report it",
        "details": {"request_id": "req-7f3a:9"},
    }
    tracebacks = [r for r in caplog.records if r.exc_info is not None]
    assert len(tracebacks) == 1  # once, by us; nothing is re-raised to be logged again
    (failure,) = tracebacks
    assert failure.levelno == logging.ERROR
    assert failure.exc_info is not None
    assert failure.exc_info[0] is LedgerOnFireError
    assert extra(failure, "request_id", "path") == ("req-7f3a:9", "/boom")
    (line,) = access_lines(caplog)
    fields = ("method", "path", "status", "request_id")
    assert extra(line, *fields) == ("GET", "/boom", 500, "req-7f3a:9")
    assert isinstance(vars(line)["duration_ms"], float)


@pytest.mark.parametrize(
    "sent",
    [None, "", "x" * 129, "two words", "line\nbreak", 'quote"d', "ünïcode"],
    ids=["absent", "empty", "too-long", "space", "newline", "quote", "non-ascii"],
)
async def test_a_missing_or_unsafe_request_id_is_replaced(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, sent: str | None
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    headers = {} if sent is None else {"X-Request-ID": sent.encode()}
    response = await http.get("/api/v1/sites", headers=headers)
    assert response.status_code == 401
    rid = response.headers["x-request-id"]
    assert rid != sent
    assert re.fullmatch(r"[0-9a-f]{32}", rid)
    (line,) = access_lines(caplog)
    assert extra(line, "status", "request_id") == (401, rid)


async def test_every_answer_is_logged_once_with_its_own_id(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    answers = [
        await http.get("/healthz"),
        await http.get("/nowhere"),
        await http.delete("/api/v1/sites"),
        await http.post("/api/v1/sites", content=b"x" * 2_000_000),
        await http.get("/boom"),
    ]
    assert [a.status_code for a in answers] == [200, 404, 405, 413, 500]
    lines = access_lines(caplog)
    assert [extra(r, "path", "status") for r in lines] == [
        ("/healthz", 200),
        ("/nowhere", 404),
        ("/api/v1/sites", 405),
        ("/api/v1/sites", 413),
        ("/boom", 500),
    ]
    ids = [a.headers["x-request-id"] for a in answers]
    assert [vars(r)["request_id"] for r in lines] == ids
    assert len(set(ids)) == len(ids)
