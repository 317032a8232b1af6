"""What the OpenAPI fuzz found, pinned (issue 11 item 17): a 405 names every method the path
has (RFC 9110 §15.5.6), the checkout's paths do not shadow each other, and the document
declares the answers the API really gives (400, 413, JSON errors beside HTML and PDF)."""

from __future__ import annotations

import httpx
import pytest

# Fixed ids: test ids must be the same in every pytest-xdist worker.
PAY = "/pay/checkouts/4513cb55-f024-4610-abe2-67ec545d6d34"
SOME_ID = "db767a2f-e8d7-4cc4-b53d-b777cffe6248"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", f"/api/v1/accounts/{SOME_ID}/wallet", "GET, PUT"),
        ("OPTIONS", f"/api/v1/sites/{SOME_ID}", "GET, PATCH, DELETE"),
        ("PUT", "/api/v1/sites", "GET, POST"),
        ("POST", "/api/v1/sessions/live", "GET"),
        ("POST", PAY, "GET"),  # was 422: taken for station "checkouts", EVSE "<uuid>"
        ("DELETE", "/pay/EDGE-AC/1", "GET, POST"),
        ("TRACE", "/healthz", "GET"),
    ],
)
async def test_a_405_names_every_method_of_the_path(
    client: httpx.AsyncClient, method: str, path: str, allow: str
) -> None:
    response = await client.request(method, path)
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == allow
    assert response.json()["error"]["code"] == "method_not_allowed"


async def test_the_document_declares_the_answers_the_api_gives(
    client: httpx.AsyncClient,
) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            if path == "/healthz":
                continue
            responses = operation["responses"]
            for status in ("400", "413", "422"):
                content = responses[status]["content"]
                assert list(content) == ["application/json"], (method, path, status)
    page = paths["/pay/{station}/{evse}"]
    assert list(page["get"]["responses"]["200"]["content"]) == ["text/html"]
    assert "201" in page["post"]["responses"]
    assert "200" not in page["post"]["responses"]
    receipt = paths["/pay/checkouts/{payment_id}/receipt.pdf"]["get"]["responses"]["200"]
    assert list(receipt["content"]) == ["application/pdf"]
    webhook = paths["/api/v1/webhooks/{gateway}"]["post"]
    assert webhook["x-max-body-bytes"] == 256 * 1024
    assert "503" in paths["/healthz"]["get"]["responses"]
