"""The test eMSP itself: py_ocpi's eMSP application, an in-memory Crud and Authenticator, and
loopback-only ``/control`` endpoints the tests drive it with.

Imported by ``emsp_app.py`` only after py_ocpi's settings are in the environment and two of its
validators are fixed; it runs under ``.venv-emsp`` (pydantic 1), never the project's venv.

What the library does and what this module adds (README.md has the list of deviations):

- py_ocpi's routers and pydantic 1 schemas validate everything a CPO sends to the OCPI
  endpoints; what passes reaches ``MemoryCrud`` and is recorded as received, with its raw body.
- ``OcpiEdge`` (ASGI middleware) keeps each OCPI request's raw body, method and path for the
  Crud, echoes ``X-Request-ID``/``X-Correlation-ID`` and repairs three responses of the
  library that do not follow OCPI 2.2.1 (the token list's ``Link``, the CDR ``Location`` header,
  the real-time authorisation's ``data``). Exception handlers give OCPI envelopes and the status
  codes of OCPI 2.2.1 (401 for a bad token, HTTP 200 + 2001 for an invalid object).
- Where the eMSP calls the CPO (registration it initiates, commands, pulls) this module is the
  client, and checks every response with the library's schemas plus the ``strict`` checks below.
"""

from __future__ import annotations

import base64
import binascii
import contextvars
import json
import logging
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import py_ocpi.modules.credentials.v_2_2_1.api.emsp as library_credentials_api
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from py_ocpi.core.authentication.authenticator import Authenticator
from py_ocpi.core.crud import Crud
from py_ocpi.core.data_types import (
    URL,
    CiStringBase,
    DateTime,
    DisplayText,
    Price,
    StringBase,
)
from py_ocpi.core.enums import Action, ModuleID, RoleEnum
from py_ocpi.core.exceptions import AuthorizationOCPIError, NotFoundOCPIError
from py_ocpi.core.schemas import OCPIResponse
from py_ocpi.main import get_application
from py_ocpi.modules.cdrs.v_2_2_1.schemas import Cdr, CdrLocation
from py_ocpi.modules.commands.v_2_2_1.schemas import (
    CancelReservation,
    CommandResponse,
    CommandResult,
    ReserveNow,
    StartSession,
    StopSession,
    UnlockConnector,
)
from py_ocpi.modules.credentials.v_2_2_1.schemas import Credentials
from py_ocpi.modules.locations.schemas import GeoLocation, RegularHours
from py_ocpi.modules.locations.v_2_2_1.schemas import (
    EVSE,
    Connector,
    ConnectorPartialUpdate,
    EVSEPartialUpdate,
    Location,
    LocationPartialUpdate,
)
from py_ocpi.modules.sessions.v_2_2_1.schemas import Session, SessionPartialUpdate
from py_ocpi.modules.tariffs.v_2_2_1.schemas import Tariff, TariffRestrictions
from py_ocpi.modules.tokens.v_2_2_1.enums import AllowedType, TokenType
from py_ocpi.modules.tokens.v_2_2_1.schemas import AuthorizationInfo, LocationReference, Token
from py_ocpi.modules.versions.enums import VersionNumber
from py_ocpi.modules.versions.schemas import Version
from py_ocpi.modules.versions.v_2_2_1.schemas import VersionDetail
from pydantic import BaseModel, ValidationError, parse_obj_as
from pydantic.fields import SHAPE_SINGLETON, ModelField
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("ocpi-emsp")

OCPI_PREFIX = "/ocpi"
EMSP_API = f"{OCPI_PREFIX}/emsp/2.2.1"
VERSION = VersionNumber.v_2_2_1.value
HTTP_TIMEOUT = 15.0

# ---------------------------------------------------------------------------------------------
# Validation: py_ocpi's schemas, and the strict checks it does not make
# ---------------------------------------------------------------------------------------------

KINDS: dict[str, Any] = {
    "version_list": list[Version],
    "version_details": VersionDetail,
    "credentials": Credentials,
    "location": Location,
    "location_patch": LocationPartialUpdate,
    "evse": EVSE,
    "evse_patch": EVSEPartialUpdate,
    "connector": Connector,
    "connector_patch": ConnectorPartialUpdate,
    "tariff": Tariff,
    "session": Session,
    "session_patch": SessionPartialUpdate,
    "cdr": Cdr,
    "token": Token,
    "authorization_info": AuthorizationInfo,
    "location_reference": LocationReference,
    "command_response": CommandResponse,
    "command_result": CommandResult,
    "start_session": StartSession,
    "stop_session": StopSession,
    "reserve_now": ReserveNow,
    "cancel_reservation": CancelReservation,
    "unlock_connector": UnlockConnector,
    "response": OCPIResponse,
}

COMMANDS: dict[str, str] = {
    "START_SESSION": "start_session",
    "STOP_SESSION": "stop_session",
    "RESERVE_NOW": "reserve_now",
    "CANCEL_RESERVATION": "cancel_reservation",
    "UNLOCK_CONNECTOR": "unlock_connector",
}

PULLABLE: dict[str, str] = {
    "locations": "location",
    "tariffs": "tariff",
    "sessions": "session",
    "cdrs": "cdr",
}

# OCPI 2.2.1 types.asciidoc: "other formats/patterns are not allowed"; "+00:00 is not UTC".
OCPI_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z?")

# Fields of OCPI 2.2.1 that py_ocpi's schemas lack: accepted (not "unknown"), checked here.
# CdrLocation.evse_uid is CiString(36), cardinality 1 (mod_cdrs.asciidoc, CdrLocation class).
LIBRARY_GAPS: dict[type[BaseModel], dict[str, int]] = {CdrLocation: {"evse_uid": 36}}
# Fields OCPI 2.2.1 requires that py_ocpi does not: the envelope's timestamp (cardinality 1 in
# transport_and_format, response format) has a default in py_ocpi's OCPIResponse.
SPEC_REQUIRED: dict[type[BaseModel], tuple[str, ...]] = {
    CdrLocation: ("evse_uid",),
    OCPIResponse: ("timestamp",),
}


_HOUR_MINUTE = (re.compile(r"([0-1][0-9]|2[0-3]):[0-5][0-9]"), "HH:MM, 24h")
_DATE = (re.compile(r"([12][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"), "YYYY-MM-DD")
_ISO_4217 = (re.compile(r"[A-Z]{3}"), "an ISO 4217 currency code")
_ISO_3166_ALPHA_3 = (re.compile(r"[A-Z]{3}"), "an ISO 3166-1 alpha-3 code")
# The formats OCPI 2.2.1 gives for string fields, which py_ocpi checks only for length.
PATTERNS: dict[tuple[type[BaseModel], str], tuple[re.Pattern[str], str]] = {
    (GeoLocation, "latitude"): (re.compile(r"-?[0-9]{1,2}\.[0-9]{5,7}"), "-?[0-9]{1,2}.[0-9]{5,7}"),
    (GeoLocation, "longitude"): (
        re.compile(r"-?[0-9]{1,3}\.[0-9]{5,7}"),
        "-?[0-9]{1,3}.[0-9]{5,7}",
    ),
    (RegularHours, "period_begin"): _HOUR_MINUTE,
    (RegularHours, "period_end"): _HOUR_MINUTE,
    (TariffRestrictions, "start_time"): _HOUR_MINUTE,
    (TariffRestrictions, "end_time"): _HOUR_MINUTE,
    (TariffRestrictions, "start_date"): _DATE,
    (TariffRestrictions, "end_date"): _DATE,
    (Tariff, "currency"): _ISO_4217,
    (Session, "currency"): _ISO_4217,
    (Cdr, "currency"): _ISO_4217,
    (Location, "country"): _ISO_3166_ALPHA_3,
    (CdrLocation, "country"): _ISO_3166_ALPHA_3,
}


def _pattern(model: type[BaseModel], key: str) -> tuple[re.Pattern[str], str] | None:
    for cls in model.__mro__:  # AdditionalGeoLocation is a GeoLocation
        if (cls, key) in PATTERNS:
            return PATTERNS[(cls, key)]
    return None


def _finding(loc: tuple[Any, ...], msg: str, kind: str) -> dict[str, Any]:
    return {"loc": list(loc), "msg": msg, "type": f"strict.{kind}"}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _walk(
    model: type[BaseModel], value: Any, loc: tuple[Any, ...], out: list[dict[str, Any]]
) -> None:
    if not isinstance(value, dict):
        return  # pydantic reports the wrong type
    fields: dict[str, ModelField] = model.__fields__
    gaps = LIBRARY_GAPS.get(model, {})
    for key, item in value.items():
        here = (*loc, key)
        model_field = fields.get(key)
        if model_field is None:
            if key in gaps:
                _check_cistring(item, gaps[key], here, out)
            else:
                out.append(
                    _finding(here, "unknown field (py_ocpi ignores and drops it)", "unknown")
                )
            continue
        if item is None:
            continue
        pattern = _pattern(model, key)
        if pattern is not None and isinstance(item, str) and not pattern[0].fullmatch(item):
            out.append(_finding(here, f"{item!r} does not match {pattern[1]}", "format"))
        if model_field.shape == SHAPE_SINGLETON:
            _check(model_field.type_, item, here, out)
        elif isinstance(item, list):
            for index, element in enumerate(item):
                _check(model_field.type_, element, (*here, index), out)
    for key in SPEC_REQUIRED.get(model, ()):
        if key not in value:
            out.append(
                _finding((*loc, key), "field required by OCPI 2.2.1 (not by py_ocpi)", "missing")
            )


def _check_cistring(
    item: Any, max_length: int, loc: tuple[Any, ...], out: list[dict[str, Any]]
) -> None:
    if not isinstance(item, str) or not item.isascii() or not item.isprintable():
        out.append(_finding(loc, "expected a CiString (printable ASCII)", "type"))
    elif len(item) > max_length:
        out.append(_finding(loc, f"longer than {max_length} characters", "length"))


def _check(tp: Any, item: Any, loc: tuple[Any, ...], out: list[dict[str, Any]]) -> None:
    if not isinstance(tp, type):
        return
    if issubclass(tp, BaseModel):
        _walk(tp, item, loc, out)
    elif issubclass(tp, Enum):
        return  # pydantic checks the value against the enumeration
    elif issubclass(tp, bool):
        if not isinstance(item, bool):
            out.append(_finding(loc, "expected a JSON boolean", "type"))
    elif issubclass(tp, int):
        if isinstance(item, bool) or not isinstance(item, int):
            out.append(_finding(loc, "expected a JSON integer", "type"))
    elif issubclass(tp, DateTime):
        if isinstance(item, str) and (len(item) > 25 or not OCPI_DATETIME.fullmatch(item)):
            out.append(
                _finding(
                    loc, f"{item!r} is not an OCPI DateTime (UTC, 'Z' or no offset)", "datetime"
                )
            )
    elif issubclass(tp, StringBase | CiStringBase | URL):
        if isinstance(item, str) and not item.isprintable():
            out.append(_finding(loc, "non-printable characters are not allowed", "printable"))
    elif issubclass(tp, Price) and isinstance(item, dict):
        for key, amount in item.items():
            if key not in ("excl_vat", "incl_vat"):
                out.append(_finding((*loc, key), "unknown field of Price", "unknown"))
            elif not _is_number(amount):
                out.append(_finding((*loc, key), "expected a JSON number", "type"))
    elif issubclass(tp, DisplayText) and isinstance(item, dict):
        for key in item:
            if key not in ("language", "text"):
                out.append(_finding((*loc, key), "unknown field of DisplayText", "unknown"))
        language = item.get("language")
        if not isinstance(language, str) or len(language) != 2:
            out.append(
                _finding((*loc, "language"), "expected an ISO 639-1 code, string(2)", "type")
            )
        if not isinstance(item.get("text"), str):
            out.append(_finding((*loc, "text"), "expected a string", "type"))


def strict_findings(kind: str, document: Any) -> list[dict[str, Any]]:
    """What OCPI 2.2.1 forbids and py_ocpi lets through (README: "strict checks")."""
    target = KINDS[kind]
    out: list[dict[str, Any]] = []
    if kind == "version_list":
        if isinstance(document, list):
            for index, item in enumerate(document):
                _walk(Version, item, (index,), out)
    else:
        _walk(target, document, (), out)
    return out


def validate_document(kind: str, document: Any) -> dict[str, Any]:
    """``{"valid", "errors", "strict"}``: py_ocpi's verdict (pydantic's errors) and the extras."""
    target = KINDS[kind]
    errors: list[dict[str, Any]] = []
    try:
        if isinstance(target, type) and issubclass(target, BaseModel):
            target.parse_obj(document)
        else:
            parse_obj_as(target, document)
    except ValidationError as exc:
        errors = jsonable_encoder(exc.errors())
        for error in errors:  # parse_obj_as wraps a list in a model with a "__root__" field
            error["loc"] = [part for part in error["loc"] if part != "__root__"]
    except Exception as exc:  # a validator of the library that crashes instead of failing
        log.exception("py_ocpi's validator crashed on a %s", kind)
        errors = [{"loc": [], "msg": f"py_ocpi's validator crashed: {exc!r}", "type": "crash"}]
    failed = {tuple(error["loc"]) for error in errors}  # one complaint per field
    strict = [f for f in strict_findings(kind, document) if tuple(f["loc"]) not in failed]
    return {"valid": not errors, "errors": errors, "strict": strict}


def described(result: dict[str, Any]) -> list[str]:
    """The errors and strict findings of ``validate_document`` as ``field.path: message``."""

    def line(error: dict[str, Any], prefix: str = "") -> str:
        where = ".".join(str(part) for part in error["loc"]) or "(document)"
        return f"{prefix}{where}: {error['msg']}"

    return [line(e) for e in result["errors"]] + [line(f, "strict: ") for f in result["strict"]]


# ---------------------------------------------------------------------------------------------
# Per request: the raw request, for the Crud; response repairs, for the middleware
# ---------------------------------------------------------------------------------------------


@dataclass
class RequestInfo:
    method: str
    path: str
    query: dict[str, str]
    body: bytes
    host: str
    request_id: str | None
    correlation_id: str | None
    extras: dict[str, Any] = field(default_factory=dict)

    def json_body(self) -> Any:
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return self.body.decode("utf-8", errors="replace")

    def header_findings(self) -> list[str]:
        missing = [
            name
            for name, value in (
                ("X-Request-ID", self.request_id),
                ("X-Correlation-ID", self.correlation_id),
            )
            if not value
        ]
        return [f"strict: header {name} missing (transport_and_format 4.1.x)" for name in missing]


CURRENT: contextvars.ContextVar[RequestInfo | None] = contextvars.ContextVar(
    "ocpi_request", default=None
)


def current() -> RequestInfo:
    info = CURRENT.get()
    if info is None:
        raise RuntimeError("no OCPI request in this context")
    return info


class OcpiEdge:
    """Pure ASGI middleware, outermost: records each OCPI request and repairs responses."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(f"{OCPI_PREFIX}/"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        headers = {
            key.decode("latin-1").lower(): value.decode("latin-1")
            for key, value in scope["headers"]
        }
        info = RequestInfo(
            method=scope["method"],
            path=scope["path"],
            query=dict(parse_qsl(scope["query_string"].decode("latin-1"))),
            body=body,
            host=headers.get("host", ""),
            request_id=headers.get("x-request-id"),
            correlation_id=headers.get("x-correlation-id"),
        )
        token = CURRENT.set(info)
        try:
            await self.app(scope, replay, _Repairs(send, info))
        finally:
            CURRENT.reset(token)
            if "handshake" in info.extras:
                STATE.last_handshake = {
                    "method": info.method,
                    "path": info.path,
                    "exchanges": info.extras.get("handshake", []),
                    "errors": info.extras.get("handshake_errors", []),
                }


class _Repairs:
    """The ``send`` of one OCPI request: echo the request ids, fix the library's headers and,
    where asked (``info.extras["unwrap_data"]``), the body."""

    def __init__(self, send: Send, info: RequestInfo) -> None:
        self.send = send
        self.info = info
        self.start: Message | None = None
        self.chunks: list[bytes] = []

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            if self.info.request_id:
                headers["X-Request-ID"] = self.info.request_id
            if self.info.correlation_id:
                headers["X-Correlation-ID"] = self.info.correlation_id
            self._fix_headers(headers)
            if self.info.extras.get("unwrap_data"):
                self.start = message
                return
            await self.send(message)
            return
        if message["type"] == "http.response.body" and self.start is not None:
            self.chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = self._unwrap(b"".join(self.chunks))
            headers = MutableHeaders(scope=self.start)
            headers["content-length"] = str(len(body))
            await self.send(self.start)
            await self.send({"type": "http.response.body", "body": body, "more_body": False})
            return
        await self.send(message)

    def _fix_headers(self, headers: MutableHeaders) -> None:
        page = self.info.extras.get("pagination")
        if page is not None:
            # py_ocpi links every list to ``https://<host>/ocpi/cpo/<VersionNumber...>/<module>/``
            # with "date_from=None"; the next page of *this* endpoint, with its filters, instead.
            headers["X-Limit"] = str(page["limit"])
            headers["X-Total-Count"] = str(page["total"])
            if "link" in headers:
                del headers["link"]
            if page["next_offset"] is not None:
                query = {k: v for k, v in self.info.query.items() if k not in ("offset", "limit")}
                query.update(offset=str(page["next_offset"]), limit=str(page["limit"]))
                url = f"http://{self.info.host}{self.info.path}?{urlencode(query)}"
                headers["Link"] = f'<{url}>; rel="next"'
        location = self.info.extras.get("location_header")
        if location is not None:
            # py_ocpi: ``https://<host>/ocpi/emsp/VersionNumber.v_2_2_1/ModuleID.cdrs/<id>``.
            if "location" in headers:
                del headers["location"]
            headers["Location"] = location

    @staticmethod
    def _unwrap(body: bytes) -> bytes:
        # py_ocpi answers a real-time authorisation with ``data: [AuthorizationInfo]``; OCPI
        # 2.2.1 (mod_tokens, real-time authorization) returns the object itself.
        try:
            document = json.loads(body)
        except ValueError:
            return body
        data = document.get("data") if isinstance(document, dict) else None
        if isinstance(data, list) and len(data) == 1:
            document["data"] = data[0]
        return json.dumps(document).encode()


# ---------------------------------------------------------------------------------------------
# The eMSP's state: partner, tokens, what was received
# ---------------------------------------------------------------------------------------------

RECEIVED_MODULES = (
    "locations",
    "sessions",
    "cdrs",
    "tariffs",
    "command_results",
    "credentials",
    "authorizations",
    "rejected",
)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def fresh_token() -> str:
    return secrets.token_urlsafe(32)  # 43 characters: Credentials.token is string(64)


def authorization(token: str) -> str:
    """OCPI 2.2.1 §4.1.3 (and py_ocpi): ``Token <base64 of the token>``."""
    return "Token " + base64.b64encode(token.encode("utf-8")).decode("ascii")


def seed_tokens(country_code: str, party_id: str) -> list[dict[str, Any]]:
    def token(uid: str, kind: str, number: int, *, valid: bool, whitelist: str) -> dict[str, Any]:
        return {
            "country_code": country_code,
            "party_id": party_id,
            "uid": uid,
            "type": kind,
            "contract_id": f"{country_code}-{party_id}-C{number:08d}-X",
            "visual_number": f"{party_id}-{number:04d}",
            "issuer": "chargeledger test eMSP",
            "valid": valid,
            "whitelist": whitelist,
            "language": "en",
            "last_updated": "2026-01-01T00:00:00Z",
        }

    return [
        token("EMSP-RFID-0001", "RFID", 1, valid=True, whitelist="ALLOWED"),
        token("EMSP-RFID-0002", "RFID", 2, valid=False, whitelist="ALLOWED"),
        token("EMSP-RFID-0003", "RFID", 3, valid=True, whitelist="NEVER"),
        token("EMSP-APP-0001", "APP_USER", 4, valid=True, whitelist="ALLOWED"),
    ]


@dataclass
class State:
    token_a: str
    country_code: str
    party_id: str
    name: str
    base_url: str
    page_limit: int
    partner: dict[str, Any] | None = None
    pending_token: str | None = None  # token B offered while our own POST credentials runs
    last_handshake: dict[str, Any] = field(default_factory=dict)
    received: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {module: [] for module in RECEIVED_MODULES}
    )
    objects: dict[str, dict[tuple[str, ...], dict[str, Any]]] = field(
        default_factory=lambda: {"locations": {}, "sessions": {}, "cdrs": {}, "tariffs": {}}
    )
    tokens: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    allowed: dict[tuple[str, str], str] = field(default_factory=dict)
    commands: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def versions_url(self) -> str:
        return f"{self.base_url}{OCPI_PREFIX}/versions"

    def own_credentials(self, token: str) -> dict[str, Any]:
        return {
            "token": token,
            "url": self.versions_url,
            "roles": [
                {
                    "role": RoleEnum.emsp.value,
                    "business_details": {"name": self.name},
                    "party_id": self.party_id,
                    "country_code": self.country_code,
                }
            ],
        }

    def incoming_tokens(self) -> list[str]:
        tokens = [self.pending_token] if self.pending_token else []
        if self.partner is not None:
            tokens.append(self.partner["token_partner_uses"])
        return tokens

    def put_token(self, token: dict[str, Any], allowed: str | None = None) -> list[str]:
        problems = described(validate_document("token", token))
        if problems:
            return problems
        key = (str(token["uid"]).upper(), str(token["type"]))
        self.tokens[key] = token
        if allowed is None:
            self.allowed.pop(key, None)
        else:
            self.allowed[key] = AllowedType(allowed).value
        return []

    def find_token(self, uid: str, token_type: str) -> dict[str, Any] | None:
        return self.tokens.get((uid.upper(), token_type))

    def endpoint(self, module: str, role: str) -> str | None:
        if self.partner is None:
            return None
        for endpoint in self.partner["endpoints"]:
            if endpoint.get("identifier") == module and endpoint.get("role") == role:
                return str(endpoint["url"])
        return None

    def record(self, module: str, entry: dict[str, Any]) -> None:
        entry.setdefault("received_at", now())
        self.received[module].append(entry)
        log.info("received %s: %s %s", module, entry.get("method"), entry.get("path"))


STATE: State  # set by create_app


def _received_entry(info: RequestInfo, kind: str | None, stored: Any) -> dict[str, Any]:
    body = info.json_body()
    findings = info.header_findings()
    if kind is not None:
        findings += [
            line for line in described(validate_document(kind, body)) if line.startswith("strict: ")
        ]
        if info.method == "PATCH" and isinstance(body, dict) and "last_updated" not in body:
            findings.append("strict: a PATCH SHALL contain last_updated (transport_and_format)")
    findings += _path_mismatches(info, body)
    return {
        "method": info.method,
        "path": info.path,
        "query": info.query,
        "body": body,
        "stored": jsonable_encoder(stored),
        "strict": findings,
        "request_id": info.request_id,
        "correlation_id": info.correlation_id,
    }


def _path_mismatches(info: RequestInfo, body: Any) -> list[str]:
    """The ids in a PUT/PATCH URL against the object's own (mod_locations, mod_sessions…)."""
    if info.method not in ("PUT", "PATCH") or not isinstance(body, dict):
        return []
    parts = _path_parts(info)
    names: list[str] = []
    values: list[str] = []
    if len(parts) == 3:
        names = ["country_code", "party_id", "id"]
        values = parts
    elif len(parts) == 4:
        names, values = ["uid"], parts[3:]
    elif len(parts) == 5:
        names, values = ["id"], parts[4:]
    return [
        f"strict: {name} {body[name]!r} differs from the URL's {value!r}"
        for name, value in zip(names, values, strict=True)
        if name in body and str(body[name]).upper() != value.upper()
    ]


def _path_parts(info: RequestInfo) -> list[str]:
    """The segments after ``/ocpi/emsp/2.2.1/<module>/``."""
    segments = [part for part in info.path[len(EMSP_API) + 1 :].split("/") if part]
    return segments[1:]


def _location_kind(info: RequestInfo) -> str:
    depth = len(_path_parts(info))
    kind = {3: "location", 4: "evse", 5: "connector"}.get(depth, "location")
    return f"{kind}_patch" if info.method == "PATCH" else kind


def _key(*parts: Any) -> tuple[str, ...]:
    return tuple(str(part).upper() for part in parts)


# ---------------------------------------------------------------------------------------------
# py_ocpi's Authenticator and Crud, in memory
# ---------------------------------------------------------------------------------------------


class EmspAuthenticator(Authenticator):
    """Token A (from the command line) is good for ``versions`` and POST ``credentials`` until a
    partner is registered; afterwards only the token the partner was given (C when the CPO
    registered, B when the eMSP did) opens any OCPI endpoint."""

    @classmethod
    async def get_valid_token_c(cls) -> list[str]:
        return STATE.incoming_tokens()

    @classmethod
    async def get_valid_token_a(cls) -> list[str]:
        return [STATE.token_a] if STATE.partner is None else []


class RegistrationRefusedError(Exception):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


class InvalidParameterError(Exception):
    """A request the library's own validation let through that OCPI 2.2.1 forbids."""


class MemoryCrud(Crud):
    @classmethod
    async def get(cls, module: ModuleID, role: RoleEnum, id: Any, *args: Any, **kwargs: Any) -> Any:
        if module == ModuleID.credentials_and_registration:
            if STATE.partner is None:
                return None
            return STATE.own_credentials(STATE.partner["token_partner_uses"])
        if module == ModuleID.tokens:
            return STATE.find_token(str(id), _token_type(kwargs))
        if module == ModuleID.cdrs:
            return next(
                (cdr for key, cdr in STATE.objects["cdrs"].items() if key[2] == str(id).upper()),
                None,
            )
        store = STATE.objects.get(module.value, {})
        return store.get(_key(kwargs.get("country_code"), kwargs.get("party_id"), id))

    @classmethod
    async def list(
        cls, module: ModuleID, role: RoleEnum, filters: dict[str, Any], *args: Any, **kwargs: Any
    ) -> tuple[list[Any], int, bool]:
        if module != ModuleID.tokens:
            return [], 0, True
        matching = [
            token
            for token in STATE.tokens.values()
            if _within(token["last_updated"], filters.get("date_from"), filters.get("date_to"))
        ]
        offset = max(int(filters.get("offset") or 0), 0)
        limit = max(min(int(filters.get("limit") or STATE.page_limit), STATE.page_limit), 1)
        page = matching[offset : offset + limit]
        last = offset + limit >= len(matching)
        current().extras["pagination"] = {
            "limit": limit,
            "total": len(matching),
            "next_offset": None if last else offset + limit,
        }
        return page, len(matching), last

    @classmethod
    async def create(
        cls, module: ModuleID, role: RoleEnum, data: dict[str, Any], *args: Any, **kwargs: Any
    ) -> Any:
        return await cls._store(module, data)

    @classmethod
    async def update(
        cls,
        module: ModuleID,
        role: RoleEnum,
        data: dict[str, Any],
        id: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        if module == ModuleID.commands:
            info = current()
            sent = STATE.commands.get(str(id))
            entry = _received_entry(info, "command_result", data)
            entry.update(
                uid=str(id),
                command=sent["command"] if sent else None,
                known_uid=sent is not None,
            )
            STATE.record("command_results", entry)
            return data
        return await cls._store(module, data)

    @classmethod
    async def delete(
        cls, module: ModuleID, role: RoleEnum, id: Any, *args: Any, **kwargs: Any
    ) -> None:
        info = current()
        if module == ModuleID.credentials_and_registration:
            STATE.record("credentials", _received_entry(info, None, STATE.partner))
            STATE.partner = None
            return
        key = _key(kwargs.get("country_code"), kwargs.get("party_id"), id)
        removed = STATE.objects.get(module.value, {}).pop(key, None)
        STATE.record(module.value, _received_entry(info, None, removed))

    @classmethod
    async def do(
        cls,
        module: ModuleID,
        role: RoleEnum | None,
        action: Action,
        *args: Any,
        data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        if module != ModuleID.tokens or action != Action.authorize_token or data is None:
            return None
        info = current()
        token_type = _token_type({"token_type": data.get("token_type")})
        token = STATE.find_token(str(data["token_uid"]), token_type)
        if token is None:
            raise NotFoundOCPIError
        key = (str(token["uid"]).upper(), token_type)
        allowed = STATE.allowed.get(key) or (
            AllowedType.allowed.value if token["valid"] else AllowedType.blocked.value
        )
        result: dict[str, Any] = {
            "allowed": allowed,
            "token": token,
            "authorization_reference": f"AUTH-{uuid.uuid4().hex[:24].upper()}",
        }
        if data.get("location_reference"):
            result["location"] = data["location_reference"]
        info.extras["unwrap_data"] = True
        entry = _received_entry(info, "location_reference" if info.body else None, result)
        entry["token_uid"] = str(data["token_uid"])
        entry["token_type"] = token_type
        STATE.record("authorizations", entry)
        return result

    @classmethod
    async def _store(cls, module: ModuleID, data: dict[str, Any]) -> Any:
        info = current()
        if module == ModuleID.credentials_and_registration:
            return _accept_registration(info, data)
        if module == ModuleID.cdrs:
            key = _key(data["country_code"], data["party_id"], data["id"])
            info.extras["location_header"] = f"http://{info.host}{EMSP_API}/cdrs/{data['id']}"
            kind = "cdr"
        else:
            # py_ocpi looks objects up by the ids of the URL (and passes no id to ``create``).
            key = _key(*_path_parts(info)[:3])
            kind = {
                ModuleID.locations: _location_kind(info),
                ModuleID.sessions: "session_patch" if info.method == "PATCH" else "session",
                ModuleID.tariffs: "tariff",
            }[module]
        STATE.objects[module.value][key] = jsonable_encoder(data)
        STATE.record(module.value, _received_entry(info, kind, data))
        return data


def _token_type(kwargs: dict[str, Any]) -> str:
    """OCPI names the query parameter ``type`` (mod_tokens, real-time authorization);
    py_ocpi reads ``token_type`` and defaults to RFID. Both are honoured, ``type`` first."""
    info = CURRENT.get()
    raw = info.query.get("type") if info is not None else None
    value = raw if raw is not None else kwargs.get("token_type") or TokenType.rfid
    try:
        return TokenType(value).value
    except ValueError:
        raise InvalidParameterError(f"type={value!r} is not a TokenType") from None


def _within(stamp: str, date_from: datetime | None, date_to: datetime | None) -> bool:
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)

    def aware(value: datetime) -> datetime:
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)

    # transport_and_format, pagination: date_from inclusive, date_to exclusive.
    if date_from is not None and moment < aware(date_from):
        return False
    return not (date_to is not None and moment >= aware(date_to))


def _accept_registration(info: RequestInfo, data: dict[str, Any]) -> dict[str, Any]:
    """A CPO registers (POST) or updates (PUT) its credentials with us (credentials §7).

    py_ocpi has already fetched the CPO's versions and version details with the CPO's token but
    does not validate them: that is done here, from the exchanges the patched client recorded.
    """
    credentials = data["credentials"]
    exchanges = info.extras.get("handshake", [])
    errors = _check_handshake(str(credentials["url"]), exchanges)
    roles = [role.get("role") for role in credentials.get("roles", [])]
    if RoleEnum.cpo.value not in roles:
        errors.append(f"credentials: roles {roles} hold no CPO role")
    if errors:
        info.extras["handshake_errors"] = errors
        raise RegistrationRefusedError(errors)
    details = next(e for e in exchanges if e["url"] != str(credentials["url"]))
    token_c = fresh_token()
    STATE.partner = {
        "initiated_by": "CPO",
        "credentials": info.json_body(),
        "versions_url": str(credentials["url"]),
        "version": VERSION,
        "version_url": details["url"],
        "endpoints": details["body"]["data"]["endpoints"],
        "token_we_use": str(credentials["token"]),
        "token_partner_uses": token_c,
        "registered_at": now(),
    }
    STATE.record("credentials", _received_entry(info, "credentials", STATE.partner))
    return STATE.own_credentials(token_c)


def _check_handshake(versions_url: str, exchanges: list[dict[str, Any]]) -> list[str]:
    versions = [e for e in exchanges if e["url"] == versions_url]
    details = [e for e in exchanges if e["url"] != versions_url]
    if not versions or not details:
        return [
            "credentials: the CPO's versions and version details were not both fetched:"
            f" {exchanges}"
        ]
    errors = _check_exchange(versions[-1], "version_list", "GET versions")
    errors += _check_exchange(details[-1], "version_details", "GET version details")
    data = details[-1]["body"].get("data") if isinstance(details[-1]["body"], dict) else None
    if isinstance(data, dict) and data.get("version") != VERSION:
        errors.append(f"GET version details: version {data.get('version')!r}, expected {VERSION!r}")
    return errors


def _check_exchange(exchange: dict[str, Any], kind: str | None, what: str) -> list[str]:
    errors: list[str] = []
    if exchange["status"] != 200:
        errors.append(f"{what}: HTTP {exchange['status']}, expected 200")
    document = exchange["body"]
    if not isinstance(document, dict):
        return [*errors, f"{what}: the body is not a JSON object: {str(document)[:300]!r}"]
    errors += [
        f"{what}: envelope {line}" for line in described(validate_document("response", document))
    ]
    if document.get("status_code") != 1000:
        errors.append(
            f"{what}: OCPI status_code {document.get('status_code')!r}"
            f" ({document.get('status_message')!r}), expected 1000"
        )
    if kind is not None:
        errors += [
            f"{what}: {line}" for line in described(validate_document(kind, document.get("data")))
        ]
    errors += [f"{what}: {finding}" for finding in exchange.get("header_findings", [])]
    return errors


# ---------------------------------------------------------------------------------------------
# HTTP clients: the library's (registration it answers) and ours (everything we initiate)
# ---------------------------------------------------------------------------------------------


async def _stamp_ids(request: httpx.Request) -> None:
    request.headers.setdefault("X-Request-ID", str(uuid.uuid4()))
    request.headers.setdefault("X-Correlation-ID", str(uuid.uuid4()))


async def _exchange_of(response: httpx.Response) -> dict[str, Any]:
    await response.aread()
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    request = response.request
    findings = [
        f"strict: response header {name} {response.headers.get(name)!r}"
        f" does not echo the request's {request.headers.get(name)!r}"
        for name in ("X-Request-ID", "X-Correlation-ID")
        if response.headers.get(name) != request.headers.get(name)
    ]
    return {
        "method": request.method,
        "url": str(request.url),
        "status": response.status_code,
        "headers": {
            k: v
            for k, v in response.headers.items()
            if k.lower().startswith(("x-", "link", "location"))
        },
        "body": body,
        "header_findings": findings,
    }


async def _record_for_library(response: httpx.Response) -> None:
    exchange = await _exchange_of(response)
    info = CURRENT.get()
    if info is not None:
        info.extras.setdefault("handshake", []).append(exchange)


class _LibraryClient(httpx.AsyncClient):
    """Replaces ``httpx.AsyncClient`` inside py_ocpi's eMSP credentials module: its requests get
    the request ids OCPI 2.2.1 requires, and its responses are kept for validation."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        super().__init__(
            event_hooks={"request": [_stamp_ids], "response": [_record_for_library]}, **kwargs
        )


library_credentials_api.httpx = SimpleNamespace(AsyncClient=_LibraryClient)


def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=HTTP_TIMEOUT, event_hooks={"request": [_stamp_ids]})


async def _call(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    token: str,
    steps: list[dict[str, Any]],
    **kwargs: Any,
) -> dict[str, Any]:
    try:
        response = await client.request(
            method, url, headers={"Authorization": authorization(token)}, **kwargs
        )
    except httpx.HTTPError as exc:
        exchange = {
            "method": method,
            "url": url,
            "status": None,
            "headers": {},
            "body": None,
            "header_findings": [],
            "transport_error": repr(exc),
        }
    else:
        exchange = await _exchange_of(response)
    steps.append(exchange)
    return exchange


def _failed(exchange: dict[str, Any], what: str) -> list[str]:
    if exchange.get("transport_error"):
        return [
            f"{what}: {exchange['method']} {exchange['url']} failed: {exchange['transport_error']}"
        ]
    return []


# ---------------------------------------------------------------------------------------------
# What the eMSP initiates: registration, commands, pulls
# ---------------------------------------------------------------------------------------------


async def register_with(versions_url: str, token_a: str) -> tuple[int, dict[str, Any]]:
    """The eMSP registers with a CPO (credentials §7, the initiating side)."""
    if STATE.partner is not None:
        return 409, {
            "registered": False,
            "errors": ["already registered with a partner"],
            "steps": [],
        }
    steps: list[dict[str, Any]] = []
    outcome: dict[str, Any] = {"registered": False, "partner": None, "errors": [], "steps": steps}
    token_b = fresh_token()
    async with _client() as client:
        exchange = await _call(client, "GET", versions_url, token_a, steps)
        errors = _failed(exchange, "GET versions") or _check_exchange(
            exchange, "version_list", "GET versions"
        )
        versions = exchange["body"].get("data") if isinstance(exchange["body"], dict) else None
        version_url = next(
            (
                v.get("url")
                for v in versions or []
                if isinstance(v, dict) and v.get("version") == VERSION
            ),
            None,
        )
        if errors or version_url is None:
            outcome["errors"] = errors or [f"GET versions: no version {VERSION} offered"]
            return 200, outcome
        exchange = await _call(client, "GET", version_url, token_a, steps)
        errors = _failed(exchange, "GET version details") or _check_exchange(
            exchange, "version_details", "GET version details"
        )
        if errors:
            outcome["errors"] = errors
            return 200, outcome
        endpoints = exchange["body"]["data"]["endpoints"]
        credentials_url = next(
            (e["url"] for e in endpoints if e.get("identifier") == "credentials"), None
        )
        if credentials_url is None:
            outcome["errors"] = ["GET version details: no credentials endpoint"]
            return 200, outcome
        STATE.pending_token = token_b  # the CPO calls our versions with it during the POST
        try:
            exchange = await _call(
                client, "POST", credentials_url, token_a, steps, json=STATE.own_credentials(token_b)
            )
        finally:
            STATE.pending_token = None
        errors = _failed(exchange, "POST credentials") or _check_exchange(
            exchange, "credentials", "POST credentials"
        )
        data = exchange["body"].get("data") if isinstance(exchange["body"], dict) else None
        if not errors and RoleEnum.cpo.value not in [r.get("role") for r in data.get("roles", [])]:
            errors.append("POST credentials: the returned roles hold no CPO role")
        if errors:
            outcome["errors"] = errors
            return 200, outcome
    STATE.partner = {
        "initiated_by": "EMSP",
        "credentials": data,
        "versions_url": versions_url,
        "version": VERSION,
        "version_url": version_url,
        "endpoints": endpoints,
        "token_we_use": data["token"],
        "token_partner_uses": token_b,
        "registered_at": now(),
    }
    STATE.last_handshake = {
        "method": "POST",
        "path": credentials_url,
        "exchanges": steps,
        "errors": [],
    }
    outcome.update(registered=True, partner=STATE.partner)
    return 200, outcome


async def send_command(command: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    name = command.upper()
    if name not in COMMANDS:
        return 404, {"errors": [f"unknown command {command!r}; one of {sorted(COMMANDS)}"]}
    url = STATE.endpoint("commands", "RECEIVER")
    if STATE.partner is None or url is None:
        return 409, {"errors": ["no registered partner with a commands RECEIVER endpoint"]}
    request = dict(body)
    if isinstance(request.get("token"), str):  # a uid of one of our tokens
        token = next(
            (t for (uid, _), t in STATE.tokens.items() if uid == request["token"].upper()), None
        )
        if token is None:
            return 400, {"errors": [f"token {request['token']!r} is not one of the eMSP's tokens"]}
        request["token"] = token
    uid = uuid.uuid4().hex
    request["response_url"] = f"{STATE.base_url}{EMSP_API}/commands/{uid}"
    problems = described(validate_document(COMMANDS[name], request))
    if problems:
        return 400, {
            "errors": [f"the {name} request: {line}" for line in problems],
            "request": request,
        }
    steps: list[dict[str, Any]] = []
    async with _client() as client:
        target = f"{url.rstrip('/')}/{name}"
        exchange = await _call(
            client, "POST", target, STATE.partner["token_we_use"], steps, json=request
        )
    errors = _failed(exchange, f"POST {name}") or _check_exchange(
        exchange, "command_response", f"POST {name}"
    )
    STATE.commands[uid] = {"command": name, "request": request, "response": exchange["body"]}
    document = exchange["body"]
    return 200, {
        "uid": uid,
        "response_url": request["response_url"],
        "request": request,
        "http_status": exchange["status"],
        "response": document,
        "command_response": document.get("data") if isinstance(document, dict) else None,
        "errors": errors,
    }


async def pull(module: str, params: dict[str, Any], max_pages: int) -> tuple[int, dict[str, Any]]:
    if module not in PULLABLE:
        return 404, {"errors": [f"cannot pull {module!r}; one of {sorted(PULLABLE)}"]}
    url: str | None = STATE.endpoint(module, "SENDER")
    if STATE.partner is None or url is None:
        return 409, {"errors": [f"no registered partner with a {module} SENDER endpoint"]}
    items: list[Any] = []
    pages: list[dict[str, Any]] = []
    errors: list[str] = []
    seen: set[str] = set()
    query: dict[str, Any] | None = params or None
    async with _client() as client:
        while url is not None:
            if len(pages) >= max_pages:
                errors.append(
                    f"stopped after {max_pages} pages; the Link header still had a next page"
                )
                break
            what = f"page {len(pages) + 1} ({url})"
            exchange = await _call(
                client, "GET", url, STATE.partner["token_we_use"], [], params=query
            )
            query = None  # a next Link carries the filters itself
            failure = _failed(exchange, what)
            if failure:
                errors += failure
                break
            errors += _check_exchange(exchange, None, what)
            headers = {k.lower(): v for k, v in exchange["headers"].items()}
            page = {
                "url": exchange["url"],
                "status": exchange["status"],
                "x_total_count": headers.get("x-total-count"),
                "x_limit": headers.get("x-limit"),
                "link": headers.get("link"),
                "count": None,
            }
            pages.append(page)
            for name in ("x-total-count", "x-limit"):
                value = headers.get(name)
                if value is None:
                    errors.append(
                        f"{what}: header {name} missing (transport_and_format, pagination)"
                    )
                elif not value.strip().isdigit():
                    errors.append(f"{what}: header {name} {value!r} is not an integer")
            data = exchange["body"].get("data") if isinstance(exchange["body"], dict) else None
            if not isinstance(data, list):
                errors.append(f"{what}: data is not a list")
                break
            page["count"] = len(data)
            limit = headers.get("x-limit", "")
            if limit.strip().isdigit() and len(data) > int(limit):
                errors.append(f"{what}: {len(data)} objects exceed X-Limit {limit}")
            for index, item in enumerate(data):
                ident = item.get("id") if isinstance(item, dict) else None
                errors += [
                    f"{what} item {index} (id {ident!r}): {line}"
                    for line in described(validate_document(PULLABLE[module], item))
                ]
            items.extend(data)
            url = _next_link(headers.get("link"))
            if url is not None and url in seen:
                errors.append(f"{what}: the next Link {url} was already fetched")
                break
            if url is not None:
                seen.add(url)
    total = pages[-1]["x_total_count"] if pages else None
    if total is not None and str(total).strip().isdigit() and int(total) != len(items):
        errors.append(f"pulled {len(items)} objects but the last X-Total-Count is {total}")
    return 200, {"module": module, "items": items, "pages": pages, "errors": errors}


def _next_link(header: str | None) -> str | None:
    """The ``rel="next"`` target of a ``Link`` header (RFC 8288), if any."""
    if not header:
        return None
    for part in header.split(","):
        match = re.match(r"\s*<([^>]*)>\s*;(.*)", part)
        if match and re.search(r'rel\s*=\s*"?next"?', match.group(2)):
            return match.group(1)
    return None


# ---------------------------------------------------------------------------------------------
# Error responses: OCPI envelopes and the status codes of OCPI 2.2.1
# ---------------------------------------------------------------------------------------------


def envelope(status_code: int, message: str, data: Any = None) -> dict[str, Any]:
    document: dict[str, Any] = {
        "status_code": status_code,
        "status_message": message,
        "timestamp": now(),
    }
    if data is not None:
        document["data"] = data
    return document


async def _unauthorized(request: Request, exc: Exception) -> JSONResponse:
    # transport_and_format 4.1.3: a missing or unknown token is HTTP 401 (py_ocpi says 403).
    return JSONResponse(envelope(2000, "Unauthorized: unknown or missing token"), status_code=401)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    if status == 403 and exc.detail == "Not authenticated":  # FastAPI's APIKeyHeader: no header
        status = 401
    return JSONResponse(
        envelope(2000 if status < 500 else 3000, str(exc.detail)),
        status_code=status,
        headers=getattr(exc, "headers", None),
    )


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = jsonable_encoder(exc.errors())
    info = CURRENT.get()
    if info is not None:
        entry = _received_entry(info, None, None)
        entry["errors"] = errors
        STATE.record("rejected", entry)
    log.warning("rejected %s %s: %s", request.method, request.url.path, errors)
    # FastAPI 0.101 reports a body that is not JSON as "json_invalid" (pydantic 1: jsondecode).
    not_json = any(e.get("type") in ("json_invalid", "value_error.jsondecode") for e in errors)
    summary = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
    # status_codes.asciidoc: invalid JSON is HTTP 400; valid JSON that reached the OCPI layer
    # gets no HTTP error status, but an OCPI 2001 (FastAPI would answer 422).
    return JSONResponse(
        envelope(2001, f"Invalid or missing parameters: {summary}", errors),
        status_code=400 if not_json else 200,
    )


async def _invalid_parameter(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(envelope(2001, f"Invalid or missing parameters: {exc}"), status_code=200)


async def _not_found(request: Request, exc: Exception) -> JSONResponse:
    path = request.url.path
    if "/tokens/" in path:
        code, message = 2004, "Unknown Token"  # mod_tokens: HTTP 404 and 2004, no data
    elif "/locations/" in path:
        code, message = 2003, "Unknown Location"
    else:
        code, message = 2000, "Object not found"
    return JSONResponse(envelope(code, message), status_code=404)


async def _refused_registration(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RegistrationRefusedError)
    log.warning("registration refused: %s", exc.errors)
    return JSONResponse(
        envelope(3001, "Unable to use the client's API: " + "; ".join(exc.errors), exc.errors)
    )


# ---------------------------------------------------------------------------------------------
# /control: loopback-only, no auth, not OCPI
# ---------------------------------------------------------------------------------------------

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def _refuse_remote(request: Request) -> JSONResponse | None:
    host = request.client.host if request.client else None
    if host not in LOOPBACK:
        return JSONResponse(
            {"errors": [f"/control is loopback-only, not for {host}"]}, status_code=403
        )
    return None


async def _json_body(request: Request) -> tuple[Any, JSONResponse | None]:
    raw = await request.body()
    if not raw:
        return None, None
    try:
        return json.loads(raw), None
    except ValueError as exc:
        return None, JSONResponse({"errors": [f"the body is not JSON: {exc}"]}, status_code=400)


def _answer(status: int, content: Any) -> JSONResponse:
    return JSONResponse(jsonable_encoder(content), status_code=status)


def add_control_routes(app: FastAPI) -> None:
    @app.get("/control/health", include_in_schema=False)
    async def health(request: Request) -> JSONResponse:
        return _refuse_remote(request) or _answer(
            200,
            {
                "ok": True,
                "versions_url": STATE.versions_url,
                "registered": STATE.partner is not None,
            },
        )

    @app.get("/control/received/{module}", include_in_schema=False)
    async def received(request: Request, module: str) -> JSONResponse:
        if (refused := _refuse_remote(request)) is not None:
            return refused
        if module not in STATE.received:
            return _answer(
                404, {"errors": [f"unknown module {module!r}; one of {list(STATE.received)}"]}
            )
        return _answer(200, STATE.received[module])

    @app.get("/control/stored/{module}", include_in_schema=False)
    async def stored(request: Request, module: str) -> JSONResponse:
        if (refused := _refuse_remote(request)) is not None:
            return refused
        if module not in STATE.objects:
            return _answer(
                404, {"errors": [f"unknown module {module!r}; one of {list(STATE.objects)}"]}
            )
        return _answer(200, list(STATE.objects[module].values()))

    @app.post("/control/reset", include_in_schema=False)
    async def reset(request: Request) -> JSONResponse:
        if (refused := _refuse_remote(request)) is not None:
            return refused
        for entries in STATE.received.values():
            entries.clear()
        for objects in STATE.objects.values():
            objects.clear()
        STATE.commands.clear()
        return _answer(200, {"ok": True})

    @app.post("/control/validate/{kind}", include_in_schema=False)
    async def validate(request: Request, kind: str) -> JSONResponse:
        if (refused := _refuse_remote(request)) is not None:
            return refused
        if kind not in KINDS:
            return _answer(404, {"errors": [f"unknown kind {kind!r}; one of {sorted(KINDS)}"]})
        document, bad = await _json_body(request)
        return bad or _answer(200, validate_document(kind, document))

    @app.post("/control/register", include_in_schema=False)
    async def register(request: Request) -> JSONResponse:
        if (refused := _refuse_remote(request)) is not None:
            return refused
        body, bad = await _json_body(request)
        if bad is not None:
            return bad
        if not isinstance(body, dict) or not {"versions_url", "token_a"} <= body.keys():
            return _answer(400, {"errors": ['expected {"versions_url": ..., "token_a": ...}']})
        status, outcome = await register_with(str(body["versions_url"]), str(body["token_a"]))
        return _answer(status, outcome)

    @app.get("/control/partner", include_in_schema=False)
    async def partner(request: Request) -> JSONResponse:
        if (refused := _refuse_remote(request)) is not None:
            return refused
        return _answer(
            200,
            {
                "registered": STATE.partner is not None,
                "partner": STATE.partner,
                "last_handshake": STATE.last_handshake,
            },
        )

    @app.post("/control/command/{command}", include_in_schema=False)
    async def command(request: Request, command: str) -> JSONResponse:
        if (refused := _refuse_remote(request)) is not None:
            return refused
        body, bad = await _json_body(request)
        if bad is not None:
            return bad
        if not isinstance(body, dict):
            return _answer(400, {"errors": ["expected the command object (without response_url)"]})
        status, outcome = await send_command(command, body)
        return _answer(status, outcome)

    @app.post("/control/pull/{module}", include_in_schema=False)
    async def pull_module(request: Request, module: str) -> JSONResponse:
        if (refused := _refuse_remote(request)) is not None:
            return refused
        body, bad = await _json_body(request)
        if bad is not None:
            return bad
        options = body if isinstance(body, dict) else {}
        status, outcome = await pull(
            module, dict(options.get("params") or {}), int(options.get("max_pages", 100))
        )
        return _answer(status, outcome)

    @app.get("/control/tokens", include_in_schema=False)
    async def tokens(request: Request) -> JSONResponse:
        if (refused := _refuse_remote(request)) is not None:
            return refused
        return _answer(
            200,
            [
                {"token": token, "allowed": STATE.allowed.get(key)}
                for key, token in STATE.tokens.items()
            ],
        )

    @app.post("/control/tokens", include_in_schema=False)
    async def put_token(request: Request) -> JSONResponse:
        if (refused := _refuse_remote(request)) is not None:
            return refused
        body, bad = await _json_body(request)
        if bad is not None:
            return bad
        if not isinstance(body, dict) or not isinstance(body.get("token"), dict):
            return _answer(400, {"errors": ['expected {"token": {...}, "allowed": optional}']})
        allowed = body.get("allowed")
        if allowed is not None and allowed not in {a.value for a in AllowedType}:
            return _answer(400, {"errors": [f"allowed {allowed!r} is not an AllowedType"]})
        problems = STATE.put_token(body["token"], allowed)
        return _answer(400 if problems else 200, {"errors": problems})


# ---------------------------------------------------------------------------------------------
# The application
# ---------------------------------------------------------------------------------------------


def create_app(
    *,
    token_a: str,
    country_code: str,
    party_id: str,
    name: str,
    base_url: str,
    tokens: list[dict[str, Any]] | None,
    page_limit: int,
) -> FastAPI:
    global STATE  # one eMSP per process
    logging.getLogger("OCPI-Logger").handlers.clear()  # py_ocpi's colour codes; root logs it
    STATE = State(
        token_a=token_a,
        country_code=country_code,
        party_id=party_id,
        name=name,
        base_url=base_url,
        page_limit=page_limit,
    )
    for token in tokens if tokens is not None else seed_tokens(country_code, party_id):
        problems = STATE.put_token(token)
        if problems:
            raise SystemExit(f"token {token.get('uid')!r} is not a valid OCPI Token: {problems}")

    app = get_application(
        version_numbers=[VersionNumber.v_2_2_1],
        roles=[RoleEnum.emsp],
        modules=[
            ModuleID.credentials_and_registration,
            ModuleID.locations,
            ModuleID.sessions,
            ModuleID.cdrs,
            ModuleID.tariffs,
            ModuleID.tokens,
            ModuleID.commands,
        ],
        crud=MemoryCrud,
        authenticator=EmspAuthenticator,
    )
    app.add_exception_handler(AuthorizationOCPIError, _unauthorized)
    app.add_exception_handler(binascii.Error, _unauthorized)  # a token that is not base64
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(InvalidParameterError, _invalid_parameter)
    app.add_exception_handler(NotFoundOCPIError, _not_found)
    app.add_exception_handler(RegistrationRefusedError, _refused_registration)
    add_control_routes(app)
    app.add_middleware(OcpiEdge)
    log.info("eMSP %s/%s at %s, versions %s", country_code, party_id, base_url, STATE.versions_url)
    return app
