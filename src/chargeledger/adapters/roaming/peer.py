"""``OcpiPeer`` over httpx: calls to a partner's OCPI 2.2.1 platform (§4.1).

Every call sends ``Authorization: Token <base64(token)>`` (§4.1.3: 2.2.1 encodes the token in
Base64), a fresh ``X-Request-ID`` and ``X-Correlation-ID`` (§4.1.1), follows no redirect (a
token must not go to another host), writes Decimals as exact JSON numbers and reads at most
``MAX_ANSWER_BYTES``. An answer is used
only when it is HTTP 2xx with a JSON envelope whose ``status_code`` is 1xxx; anything else is a
``PartnerCallError`` naming what came back (OCPI status 3001 for our own caller).
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import httpx

from chargeledger.domain.exact_json import dumps
from chargeledger.errors import ChargeledgerError

MAX_ANSWER_BYTES = 4 * 1024 * 1024


class PartnerCallError(ChargeledgerError):
    """The partner's platform could not be used (unreachable, refused, or answered badly)."""

    default_code = "partner_unreachable"
    http_status = 502


def authorization(token: str) -> str:
    return "Token " + base64.b64encode(token.encode()).decode()


class HttpOcpiPeer:
    def __init__(self, timeout_seconds: float, transport: httpx.AsyncBaseTransport | None = None):
        self._timeout = timeout_seconds
        self._transport = transport

    async def get(self, url: str, token: str) -> Any:
        return await self.send("GET", url, token, None)

    async def get_all(self, url: str, token: str, max_pages: int) -> list[Any]:
        """Every page of a paginated list (§4.1.5), following ``Link: <...>; rel="next"``
        on the partner's own host only (a token never leaves for another host)."""
        items: list[Any] = []
        following: str | None = url
        for _ in range(max_pages):
            if following is None:
                return items
            data, link = await self._call("GET", following, token, None)
            if not isinstance(data, list):
                raise PartnerCallError(f"GET {following}: the page is not a list")
            items += data
            following = _next_link(link, url)
        if following is not None:
            raise PartnerCallError(f"GET {url}: more than {max_pages} pages")
        return items

    async def send(self, method: str, url: str, token: str, body: Any) -> Any:
        return (await self._call(method, url, token, body))[0]

    async def _call(self, method: str, url: str, token: str, body: Any) -> tuple[Any, str | None]:
        request_id = str(uuid.uuid4())
        headers = {
            "Authorization": authorization(token),
            "X-Request-ID": request_id,
            "X-Correlation-ID": request_id,
        }
        try:
            async with httpx.AsyncClient(
                timeout=self._timeout, follow_redirects=False, transport=self._transport
            ) as http:
                request = http.build_request(
                    method,
                    url,
                    headers=headers,
                    content=None if body is None else dumps(body),
                )
                if body is not None:
                    request.headers["Content-Type"] = "application/json"
                response = await http.send(request, stream=True)
                try:
                    raw = await _bounded(response)
                finally:
                    await response.aclose()
        except httpx.HTTPError as exc:
            raise PartnerCallError(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
        return _data(method, url, response.status_code, raw), response.headers.get("Link")


def _next_link(header: str | None, first: str) -> str | None:
    if not header:
        return None
    for part in header.split(","):
        target, _, params = part.partition(";")
        if 'rel="next"' in params.replace(" ", "") or "rel=next" in params.replace(" ", ""):
            following = target.strip().removeprefix("<").removesuffix(">")
            if httpx.URL(following).host != httpx.URL(first).host:
                raise PartnerCallError(f"the next page {following} is on another host")
            return following
    return None


async def _bounded(response: httpx.Response) -> bytes:
    chunks = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise PartnerCallError(f"the answer is over {MAX_ANSWER_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _data(method: str, url: str, status: int, raw: bytes) -> Any:
    where = f"{method} {url}: HTTP {status}"
    try:
        envelope = json.loads(raw)
    except ValueError:
        raise PartnerCallError(f"{where}, not JSON") from None
    code = envelope.get("status_code") if isinstance(envelope, dict) else None
    if not 200 <= status < 300 or not isinstance(code, int) or not 1000 <= code < 2000:
        message = envelope.get("status_message") if isinstance(envelope, dict) else None
        raise PartnerCallError(f"{where}, OCPI status {code}: {message or 'no message'}")
    return envelope.get("data")
