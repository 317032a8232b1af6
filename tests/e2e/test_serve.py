"""``chargeledger serve`` as a real process on a real TCP port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_cli import CHARGELEDGER, run_cli

ADMIN_PASSWORD = "serve test password"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    created = run_cli(
        "users",
        "create",
        "--email",
        "ops@example.com",
        "--role",
        "admin",
        data_dir=tmp_path,
        CHARGELEDGER_NEW_USER_PASSWORD=ADMIN_PASSWORD,
    )
    assert created.returncode == 0, created.stderr
    port = free_port()
    env = {**os.environ, "CHARGELEDGER_DATA_DIR": str(tmp_path)}
    env.pop("CHARGELEDGER_DATABASE_URL", None)
    process = subprocess.Popen(
        [CHARGELEDGER, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(3000):  # bounded wait for start-up (migrations first), on a busy machine too
        if process.poll() is not None:
            pytest.fail(f"server exited early: {process.stderr.read() if process.stderr else ''}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("server did not answer /healthz")
    try:
        yield base, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def test_serve_answers_health_docs_and_the_api(
    server: tuple[str, subprocess.Popen[str]],
) -> None:
    base, process = server
    health = httpx.get(f"{base}/healthz").json()
    assert health == {"status": "ok", "database": "sqlite", "version": health["version"]}
    assert "swagger-ui" in httpx.get(f"{base}/docs").text
    assert "/api/v1/sites" in httpx.get(f"{base}/openapi.json").json()["paths"]

    login = httpx.post(
        f"{base}/api/v1/auth/token",
        data={"username": "ops@example.com", "password": ADMIN_PASSWORD},
    )
    assert login.status_code == 200, login.text
    auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
    site = {
        "name": "Depot Nord",
        "address": {
            "street": "Nordring 1",
            "postal_code": "20095",
            "city": "Hamburg",
            "country": "DE",
        },
        "latitude": "53.55",
        "longitude": "10.0",
        "time_zone": "Europe/Berlin",
    }
    created = httpx.post(f"{base}/api/v1/sites", json=site, headers=auth)
    assert created.status_code == 201, created.text
    assert httpx.get(f"{base}/api/v1/sites", headers=auth).json()["items"][0]["name"] == (
        "Depot Nord"
    )
    refused = httpx.get(f"{base}/api/v1/sites")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "not_authenticated"

    process.send_signal(signal.SIGINT)
    process.wait(timeout=20)
    assert process.stderr is not None
    records = [
        json.loads(line) for line in process.stderr.read().splitlines() if line.startswith("{")
    ]
    requests = [r for r in records if r.get("message") == "request"]
    assert any(r["path"] == "/api/v1/sites" and r["status"] == 201 for r in requests)
    assert all({"time", "level", "request_id", "duration_ms"} <= r.keys() for r in requests)


def access_records(process: subprocess.Popen[str]) -> list[dict[str, object]]:
    """Stop the server and read the access log lines it wrote (JSON on stderr)."""
    process.send_signal(signal.SIGINT)
    process.wait(timeout=60)
    assert process.stderr is not None
    lines = process.stderr.read().splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    return [r for r in records if r.get("message") == "request"]


def test_serve_refuses_an_oversized_body_unread_and_logs_it(
    server: tuple[str, subprocess.Popen[str]],
) -> None:
    """Issue 11 item 3 on a real socket: the headers announce 400 MB and no byte of the body
    is sent, yet the answer comes at once (the server does not wait for the body), and the
    connection is closed rather than read to the end."""
    base, process = server
    host, port = base.removeprefix("http://").split(":")
    request = (
        "POST /api/v1/sites HTTP/1.1\r\n"
        f"Host: {host}\r\n"
        "Content-Type: application/json\r\n"
        "Content-Length: 400000000\r\n"
        "X-Request-ID: big-post-1\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=60) as conn:
        conn.sendall(request.encode())
        reply = b""
        while chunk := conn.recv(65536):  # the server closes the connection after the 413
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), head
    assert b"connection: close" in head.lower()
    assert b"x-request-id: big-post-1" in head.lower()
    assert json.loads(body)["error"]["code"] == "payload_too_large"
    logged = [r for r in access_records(process) if r["request_id"] == "big-post-1"]
    assert [(r["method"], r["path"], r["status"]) for r in logged] == [
        ("POST", "/api/v1/sites", 413)
    ]


def test_serve_exits_when_the_port_is_taken(tmp_path: Path) -> None:
    """Issue 11 item 20: a port in use ends ``serve`` at once with exit code 69
    (EX_UNAVAILABLE), before it migrates anything or starts its jobs."""
    env = {**os.environ, "CHARGELEDGER_DATA_DIR": str(tmp_path / "data")}
    env.pop("CHARGELEDGER_DATABASE_URL", None)
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        result = subprocess.run(
            [CHARGELEDGER, "serve", "--port", str(port)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,  # a safety net: the old server never exited
        )
    assert result.returncode == 69, result.stderr
    message = " ".join(result.stderr.split())
    assert "[port_unavailable]" in message
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in message
    assert not (tmp_path / "data").exists()  # no database was made: nothing ran


def test_a_second_server_on_one_sqlite_file_is_refused(
    server: tuple[str, subprocess.Popen[str]], tmp_path: Path
) -> None:
    """SQLite runs as one node (issue 18): a second ``serve`` on the same database ends
    before it starts, with a message naming the way to several nodes; the first goes on."""
    base, process = server
    env = {**os.environ, "CHARGELEDGER_DATA_DIR": str(tmp_path)}
    env.pop("CHARGELEDGER_DATABASE_URL", None)
    second = subprocess.run(
        [CHARGELEDGER, "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert second.returncode == 78, second.stderr
    assert "[one_node_database]" in second.stderr
    assert "PostgreSQL" in second.stderr
    assert process.poll() is None
    assert httpx.get(f"{base}/healthz").status_code == 200
