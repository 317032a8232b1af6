"""Real receivers for the outbox tests: an aiosmtpd SMTP server on loopback that refuses the
first N mails (or every one) with a transient 451, and a webhook receiver (uvicorn) that
answers 500 to the first N requests; both keep what they accepted."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import uvicorn
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.integration.ocpp_server import free_port

START_DEADLINE_S = 120.0  # a safety bound, not a schedule


@dataclass
class FlakySmtpHandler:
    """Refuses the first ``failures`` DATA commands (``None``: all) with a 451."""

    failures: int | None = 0
    refused: int = 0
    accepted: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        if self.failures is None or self.refused < self.failures:
            self.refused += 1
            return "451 4.3.0 try again later"
        content = envelope.original_content or b""
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.accepted.append(parsed)
        return "250 OK"


@contextlib.asynccontextmanager
async def smtp_server(handler: FlakySmtpHandler) -> AsyncIterator[int]:
    """An aiosmtpd server on this test's event loop; yields its port."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="localhost"), host="127.0.0.1", port=0
    )
    port = int(server.sockets[0].getsockname()[1])
    try:
        yield port
    finally:
        server.close()
        await server.wait_closed()


@dataclass
class WebhookReceiver:
    """A raw ASGI app: answers 500 to the first ``failures`` requests, keeps every request."""

    failures: int = 0
    received: list[tuple[dict[str, str], bytes, int]] = field(default_factory=list)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        status = 500 if len(self.received) < self.failures else 200
        self.received.append((headers, body, status))
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@contextlib.asynccontextmanager
async def webhook_server(receiver: WebhookReceiver) -> AsyncIterator[str]:
    port = free_port()
    config = uvicorn.Config(receiver, host="127.0.0.1", port=port, log_config=None)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(START_DEADLINE_S):
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/hooks"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, START_DEADLINE_S)
