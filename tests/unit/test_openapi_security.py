"""The API document declares how to authenticate (issue 17): authentication reads its headers
itself instead of running FastAPI's security dependencies, so the OpenAPI document's schemes
and each secured operation's ``security`` are written by ``auth.document_security``. The docs'
Authorize button and generated clients depend on them."""

from __future__ import annotations

from chargeledger.api.app import API_ROUTERS
from chargeledger.api.auth import PUBLIC_PATHS, api_routes, declared_access
from chargeledger.asgi import create_app

BOTH = [{"OAuth2PasswordBearer": []}, {"APIKeyHeader": []}]


def test_every_route_with_roles_declares_both_ways_to_authenticate() -> None:
    document = create_app().openapi()
    schemes = document["components"]["securitySchemes"]
    assert schemes["APIKeyHeader"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert schemes["OAuth2PasswordBearer"]["flows"]["password"]["tokenUrl"] == next(
        iter(PUBLIC_PATHS)
    )
    routes = api_routes(API_ROUTERS)
    assert len(routes) > 100
    for route in routes:
        for method in route.methods or ():
            operation = document["paths"][route.path][method.lower()]
            expected = BOTH if declared_access(route) is not None else None
            assert operation.get("security") == expected, (method, route.path)


def test_the_public_routes_declare_no_security() -> None:
    document = create_app().openapi()
    for path, operations in document["paths"].items():
        if path in PUBLIC_PATHS or not path.startswith("/api/v1"):
            assert all("security" not in op for op in operations.values()), path
