"""Signed webhooks out, over httpx: a 2xx answer is a delivery, anything else is tried again
with backoff (a receiver that is down or answers 5xx today may be back tomorrow)."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from chargeledger.services.notifications.ports import DeliveryFailedError


class HttpWebhookSender:
    def __init__(self, timeout_seconds: float = 30.0) -> None:
        self._timeout = timeout_seconds

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> None:
        try:
            async with httpx.AsyncClient(timeout=self._timeout, follow_redirects=False) as http:
                response = await http.post(url, content=body, headers=dict(headers))
        except httpx.HTTPError as exc:
            raise DeliveryFailedError(f"webhook: {type(exc).__name__}: {exc}") from exc
        if not response.is_success:
            raise DeliveryFailedError(f"webhook answered {response.status_code}")
