"""The test eMSP (extrawest-ocpi, its own venv) and its harness, tested before any CPO is: its
validator accepts the examples of OCPI 2.2.1 and names the field of a broken one, its OCPI
endpoints refuse a wrong token, and what a registered CPO pushes is kept as it was sent.

The samples are the spec's own examples (ocpi/ocpi, branch release-2.2.1-bugfixes, examples/).
"""

from __future__ import annotations

import base64
import copy
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.integration.localstripe_server import free_port
from tests.integration.ocpi_emsp import EmspError, EmspProcess, ocpi_authorization, running_emsp

TOKEN_A = "harness-token-a"
CPO_TOKEN = "harness-cpo-token-b"
TIMESTAMP = "2026-03-29T01:30:00Z"

# examples/location_example.json
LOCATION: dict[str, Any] = {
    "country_code": "BE",
    "party_id": "BEC",
    "id": "LOC1",
    "publish": True,
    "name": "Gent Zuid",
    "address": "F.Rooseveltlaan 3A",
    "city": "Gent",
    "postal_code": "9000",
    "country": "BEL",
    "coordinates": {"latitude": "51.047599", "longitude": "3.729944"},
    "parking_type": "ON_STREET",
    "evses": [
        {
            "uid": "3256",
            "evse_id": "BE*BEC*E041503001",
            "status": "AVAILABLE",
            "capabilities": ["RESERVABLE"],
            "connectors": [
                {
                    "id": "1",
                    "standard": "IEC_62196_T2",
                    "format": "CABLE",
                    "power_type": "AC_3_PHASE",
                    "max_voltage": 220,
                    "max_amperage": 16,
                    "tariff_ids": ["11"],
                    "last_updated": "2015-03-16T10:10:02Z",
                },
                {
                    "id": "2",
                    "standard": "IEC_62196_T2",
                    "format": "SOCKET",
                    "power_type": "AC_3_PHASE",
                    "max_voltage": 220,
                    "max_amperage": 16,
                    "tariff_ids": ["13"],
                    "last_updated": "2015-03-18T08:12:01Z",
                },
            ],
            "physical_reference": "1",
            "floor_level": "-1",
            "last_updated": "2015-06-28T08:12:01Z",
        }
    ],
    "operator": {"name": "BeCharged"},
    "time_zone": "Europe/Brussels",
    "last_updated": "2015-06-29T20:39:09Z",
}

# examples/tariff_4_complex.json (its first three elements)
TARIFF: dict[str, Any] = {
    "country_code": "DE",
    "party_id": "ALL",
    "id": "14",
    "currency": "EUR",
    "type": "REGULAR",
    "tariff_alt_url": "https://company.com/tariffs/14",
    "elements": [
        {"price_components": [{"type": "FLAT", "price": 2.50, "vat": 15.0, "step_size": 1}]},
        {
            "price_components": [{"type": "TIME", "price": 1.00, "vat": 20.0, "step_size": 900}],
            "restrictions": {"max_current": 32.00},
        },
        {
            "price_components": [{"type": "TIME", "price": 2.00, "vat": 20.0, "step_size": 600}],
            "restrictions": {
                "min_current": 32.00,
                "day_of_week": ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"],
            },
        },
    ],
    "last_updated": "2015-06-29T20:39:09Z",
}

# examples/cdr_example.json
CDR: dict[str, Any] = {
    "country_code": "BE",
    "party_id": "BEC",
    "id": "12345",
    "start_date_time": "2015-06-29T21:39:09Z",
    "end_date_time": "2015-06-29T23:37:32Z",
    "cdr_token": {
        "country_code": "DE",
        "party_id": "TNM",
        "uid": "012345678",
        "type": "RFID",
        "contract_id": "DE8ACC12E46L89",
    },
    "auth_method": "WHITELIST",
    "cdr_location": {
        "id": "LOC1",
        "name": "Gent Zuid",
        "address": "F.Rooseveltlaan 3A",
        "city": "Gent",
        "postal_code": "9000",
        "country": "BEL",
        "coordinates": {"latitude": "3.729944", "longitude": "51.047599"},
        "evse_uid": "3256",
        "evse_id": "BE*BEC*E041503003",
        "connector_id": "1",
        "connector_standard": "IEC_62196_T2",
        "connector_format": "SOCKET",
        "connector_power_type": "AC_1_PHASE",
    },
    "currency": "EUR",
    "tariffs": [
        {
            "country_code": "BE",
            "party_id": "BEC",
            "id": "12",
            "currency": "EUR",
            "elements": [
                {
                    "price_components": [
                        {"type": "TIME", "price": 2.00, "vat": 10.0, "step_size": 300}
                    ]
                }
            ],
            "last_updated": "2015-02-02T14:15:01Z",
        }
    ],
    "charging_periods": [
        {
            "start_date_time": "2015-06-29T21:39:09Z",
            "dimensions": [{"type": "TIME", "volume": 1.973}],
            "tariff_id": "12",
        }
    ],
    "total_cost": {"excl_vat": 4.00, "incl_vat": 4.40},
    "total_energy": 15.342,
    "total_time": 1.973,
    "total_time_cost": {"excl_vat": 4.00, "incl_vat": 4.40},
    "last_updated": "2015-06-29T22:01:13Z",
}

# examples/session_example_2_short_finished.json
SESSION: dict[str, Any] = {
    "country_code": "BE",
    "party_id": "BEC",
    "id": "101",
    "start_date_time": "2015-06-29T22:39:09Z",
    "end_date_time": "2015-06-29T23:50:16Z",
    "kwh": 41.12,
    "cdr_token": {
        "country_code": "NL",
        "party_id": "TST",
        "uid": "123abc",
        "type": "RFID",
        "contract_id": "NL-TST-C12345678-S",
    },
    "auth_method": "WHITELIST",
    "location_id": "LOC1",
    "evse_uid": "3256",
    "connector_id": "1",
    "currency": "EUR",
    "charging_periods": [
        {
            "start_date_time": "2015-06-29T22:39:09Z",
            "dimensions": [
                {"type": "ENERGY", "volume": 120},
                {"type": "MAX_CURRENT", "volume": 30},
            ],
        },
        {
            "start_date_time": "2015-06-29T23:07:09Z",
            "dimensions": [{"type": "PARKING_TIME", "volume": 0.718}],
            "tariff_id": "12",
        },
    ],
    "total_cost": {"excl_vat": 8.50, "incl_vat": 9.35},
    "status": "COMPLETED",
    "last_updated": "2015-06-29T23:50:17Z",
}

# examples/token_example_2_full_rfid.json
TOKEN: dict[str, Any] = {
    "country_code": "DE",
    "party_id": "TNM",
    "uid": "12345678905880",
    "type": "RFID",
    "contract_id": "DE8ACC12E46L89",
    "visual_number": "DF000-2001-8999-1",
    "issuer": "TheNewMotion",
    "group_id": "DF000-2001-8999",
    "valid": True,
    "whitelist": "ALLOWED",
    "language": "it",
    "default_profile_type": "GREEN",
    "energy_contract": {"supplier_name": "Greenpeace Energy eG", "contract_id": "0123456789"},
    "last_updated": "2018-12-10T17:25:10Z",
}

# examples/credentials_example.json
CREDENTIALS: dict[str, Any] = {
    "token": "ebf3b399-779f-4497-9b9d-ac6ad3cc44d2",
    "url": "https://example.com/ocpi/versions",
    "roles": [
        {
            "role": "CPO",
            "party_id": "EXA",
            "country_code": "NL",
            "business_details": {"name": "Example Operator"},
        }
    ],
}

VALID: list[tuple[str, Any]] = [
    ("location", LOCATION),
    ("evse", LOCATION["evses"][0]),
    ("connector", LOCATION["evses"][0]["connectors"][0]),
    ("tariff", TARIFF),
    ("cdr", CDR),
    ("session", SESSION),
    ("token", TOKEN),
    ("credentials", CREDENTIALS),
    ("version_list", [{"version": "2.2.1", "url": "https://www.server.com/ocpi/2.2.1"}]),
    (
        "version_details",
        {
            "version": "2.2.1",
            "endpoints": [
                {
                    "identifier": "locations",
                    "role": "SENDER",
                    "url": "https://example.com/ocpi/cpo/2.2.1/locations",
                }
            ],
        },
    ),
    ("command_response", {"result": "ACCEPTED", "timeout": 30}),
    ("command_result", {"result": "ACCEPTED"}),
    (
        "authorization_info",
        {"allowed": "ALLOWED", "token": TOKEN, "authorization_reference": "AUTH-1"},
    ),
    ("response", {"data": [], "status_code": 1000, "timestamp": TIMESTAMP}),
]


@pytest.fixture(scope="module")
def emsp() -> Iterator[EmspProcess]:
    with running_emsp(TOKEN_A) as process:
        yield process


@pytest.mark.parametrize(("kind", "document"), VALID, ids=[kind for kind, _ in VALID])
def test_the_spec_examples_are_valid(emsp: EmspProcess, kind: str, document: Any) -> None:
    assert emsp.validate(kind, document) == []


def _without(path: tuple[Any, ...]) -> Callable[[Any], None]:
    def edit(document: Any) -> None:
        for part in path[:-1]:
            document = document[part]
        del document[path[-1]]

    return edit


def _set(path: tuple[Any, ...], value: Any) -> Callable[[Any], None]:
    def edit(document: Any) -> None:
        for part in path[:-1]:
            document = document[part]
        document[path[-1]] = value

    return edit


BROKEN: list[tuple[str, str, Any, Callable[[Any], None], str, str]] = [
    ("location-no-address", "location", LOCATION, _without(("address",)), "address", "required"),
    (
        "location-connector-standard",
        "location",
        LOCATION,
        _set(("evses", 0, "connectors", 0, "standard"), "IEC_62196_T9"),
        "evses.0.connectors.0.standard",
        "enumeration",
    ),
    (
        "location-country-code-too-long",
        "location",
        LOCATION,
        _set(("country_code",), "BEL"),
        "country_code",
        "length must be lower or equal to 2",
    ),
    (
        "tariff-no-step-size",
        "tariff",
        TARIFF,
        _without(("elements", 0, "price_components", 0, "step_size")),
        "elements.0.price_components.0.step_size",
        "required",
    ),
    (
        "tariff-dimension",
        "tariff",
        TARIFF,
        _set(("elements", 1, "price_components", 0, "type"), "MINUTES"),
        "elements.1.price_components.0.type",
        "enumeration",
    ),
    ("cdr-id-too-long", "cdr", CDR, _set(("id",), "C" * 40), "id", "lower or equal to 39"),
    ("cdr-no-total-cost", "cdr", CDR, _without(("total_cost",)), "total_cost", "required"),
    (
        "cdr-auth-method",
        "cdr",
        CDR,
        _set(("auth_method",), "RFID"),
        "auth_method",
        "enumeration",
    ),
    ("session-status", "session", SESSION, _set(("status",), "FINISHED"), "status", "enumeration"),
    # a JSON string where OCPI wants a number: what pydantic 2 makes of a Decimal
    ("session-kwh-string", "session", SESSION, _set(("kwh",), "41.12"), "kwh", "JSON number"),
    (
        "session-timestamp-number",
        "session",
        SESSION,
        _set(("last_updated",), 1435617017),
        "last_updated",
        "DateTime string",
    ),
]


@pytest.mark.parametrize(
    ("kind", "document", "edit", "field", "fragment"),
    [case[1:] for case in BROKEN],
    ids=[case[0] for case in BROKEN],
)
def test_a_broken_document_is_rejected_naming_the_field(
    emsp: EmspProcess,
    kind: str,
    document: Any,
    edit: Callable[[Any], None],
    field: str,
    fragment: str,
) -> None:
    broken = copy.deepcopy(document)
    edit(broken)

    errors = emsp.validate(kind, broken, strict=False)

    assert emsp.check(kind, broken)["valid"] is False
    assert any(e.startswith(f"{field}: ") and fragment in e for e in errors), errors


def test_strict_findings_are_what_py_ocpi_lets_through(emsp: EmspProcess) -> None:
    session = copy.deepcopy(SESSION)
    session["last_updated"] = "2015-06-29T23:50:17+02:00"  # not UTC
    session["cdr_token"]["contract"] = "typo"  # unknown field: py_ocpi drops it
    session["charging_periods"][0]["dimensions"][0]["volume"] = True
    cdr = copy.deepcopy(CDR)
    del cdr["cdr_location"]["evse_uid"]  # required by OCPI 2.2.1, absent from py_ocpi
    cdr["total_cost"]["incl_vat"] = "4.40"  # Price is a plain dict to py_ocpi

    assert emsp.validate("session", session, strict=False) == [
        "charging_periods.0.dimensions.0.volume: expected a JSON number but received bool"
    ]
    assert emsp.check("cdr", cdr)["valid"] is True
    assert emsp.validate("session", session) == [
        "charging_periods.0.dimensions.0.volume: expected a JSON number but received bool",
        "strict: cdr_token.contract: unknown field (py_ocpi ignores and drops it)",
        "strict: last_updated: '2015-06-29T23:50:17+02:00' is not an OCPI DateTime"
        " (UTC, 'Z' or no offset)",
    ]
    location = copy.deepcopy(LOCATION)
    location["coordinates"]["latitude"] = "51.05"  # the spec's regex wants 5 to 7 decimals
    location["evses"][0]["connectors"][0]["max_voltage"] = 220.0  # pydantic 1 takes it as 220
    assert emsp.check("location", location)["valid"] is True
    assert emsp.validate("location", location) == [
        "strict: coordinates.latitude: '51.05' does not match -?[0-9]{1,2}.[0-9]{5,7}",
        "strict: evses.0.connectors.0.max_voltage: expected a JSON integer",
    ]
    assert emsp.validate("cdr", cdr) == [
        "strict: cdr_location.evse_uid: field required by OCPI 2.2.1 (not by py_ocpi)",
        "strict: total_cost.incl_vat: expected a JSON number",
    ]


def test_the_response_envelope_is_checked(emsp: EmspProcess) -> None:
    # py_ocpi defaults the timestamp; OCPI 2.2.1 requires it
    assert emsp.validate("response", {"data": [], "status_code": 1000}) == [
        "strict: timestamp: field required by OCPI 2.2.1 (not by py_ocpi)"
    ]
    assert emsp.validate("response", {"status_code": "OK", "timestamp": TIMESTAMP}) == [
        "data: field required",
        "status_code: value is not a valid integer",
    ]
    assert emsp.validate("version_list", {"version": "2.2.1"}) == [
        "(document): value is not a valid list"
    ]


def test_control_endpoints_answer(emsp: EmspProcess) -> None:
    assert emsp.partner()["registered"] is False
    assert isinstance(emsp.received("locations"), list)
    assert isinstance(emsp.stored("cdrs"), list)
    tokens = {entry["token"]["uid"]: entry["token"] for entry in emsp.tokens()}
    assert tokens["EMSP-RFID-0001"]["valid"] is True
    assert tokens["EMSP-RFID-0002"]["valid"] is False
    assert emsp.command("START_SESSION", {"location_id": "LOC1", "token": "EMSP-RFID-0001"})[
        "errors"
    ] == ["no registered partner with a commands RECEIVER endpoint"]
    assert emsp.pull("locations")["errors"] == [
        "no registered partner with a locations SENDER endpoint"
    ]
    with pytest.raises(EmspError, match="unknown module"):
        emsp.received("bookings")
    with pytest.raises(EmspError, match="unknown kind"):
        emsp.validate("booking", {})


def test_versions_answer_token_a_with_valid_documents(emsp: EmspProcess) -> None:
    versions = httpx.get(emsp.versions_url, headers=ocpi_authorization(TOKEN_A))
    assert versions.status_code == 200, versions.text
    assert emsp.validate("response", versions.json()) == []
    assert emsp.validate("version_list", versions.json()["data"]) == []

    details = httpx.get(versions.json()["data"][0]["url"], headers=ocpi_authorization(TOKEN_A))
    assert emsp.validate("version_details", details.json()["data"]) == []
    modules = {(e["identifier"], e["role"]) for e in details.json()["data"]["endpoints"]}
    assert {("locations", "RECEIVER"), ("tokens", "SENDER"), ("commands", "SENDER")} <= modules


@pytest.mark.parametrize(
    "headers",
    [
        ocpi_authorization("not-a-known-token"),
        ocpi_authorization(TOKEN_A),  # token A opens only versions and credentials
        {"Authorization": "Token not base64!"},
        {"Authorization": f"Token {TOKEN_A}"},  # OCPI 2.2.1 wants it base64-encoded
        {},
    ],
    ids=["unknown", "token-a", "garbage", "not-encoded", "missing"],
)
def test_an_ocpi_request_with_a_wrong_token_is_refused(
    emsp: EmspProcess, headers: dict[str, str]
) -> None:
    response = httpx.get(f"{emsp.api_url}/tokens/", headers=headers)
    assert response.status_code == 401, response.text
    assert response.json()["status_code"] == 2000


def test_versions_refuse_an_unknown_token(emsp: EmspProcess) -> None:
    response = httpx.get(emsp.versions_url, headers=ocpi_authorization("not-a-known-token"))
    assert response.status_code == 401, response.text


# --- A CPO registers (credentials §7) and pushes: the receiving side the CPO tests rely on ---


class _TinyCpo(BaseHTTPRequestHandler):
    """Only what the eMSP fetches while a CPO registers: versions and version details."""

    base_url = ""

    def do_GET(self) -> None:
        if self.headers.get("Authorization") != ocpi_authorization(CPO_TOKEN)["Authorization"]:
            self._answer(401, {"status_code": 2000, "timestamp": TIMESTAMP})
        elif self.path == "/ocpi/versions":
            versions = [{"version": "2.2.1", "url": f"{self.base_url}/ocpi/2.2.1"}]
            self._answer(200, {"data": versions, "status_code": 1000, "timestamp": TIMESTAMP})
        elif self.path == "/ocpi/2.2.1":
            endpoints = [
                {"identifier": module, "role": role, "url": f"{self.base_url}/ocpi/cpo/{module}"}
                for module, role in (("credentials", "SENDER"), ("locations", "SENDER"))
            ]
            details = {"version": "2.2.1", "endpoints": endpoints}
            self._answer(200, {"data": details, "status_code": 1000, "timestamp": TIMESTAMP})
        else:
            self._answer(404, {"status_code": 2000, "timestamp": TIMESTAMP})

    def _answer(self, status: int, document: dict[str, Any]) -> None:
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name in ("X-Request-ID", "X-Correlation-ID"):
            if self.headers.get(name):
                self.send_header(name, self.headers[name])
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def tiny_cpo() -> Iterator[str]:
    port = free_port()
    handler = type("Handler", (_TinyCpo,), {"base_url": f"http://127.0.0.1:{port}"})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}/ocpi/versions"
    server.shutdown()
    server.server_close()


@pytest.fixture
def fresh_emsp() -> Iterator[EmspProcess]:
    """An eMSP of its own: a registration spends its token A."""
    with running_emsp(TOKEN_A, "--page-limit", "2") as process:
        yield process


def _ocpi(token: str) -> dict[str, str]:
    return {**ocpi_authorization(token), "X-Request-ID": "req-1", "X-Correlation-ID": "cor-1"}


def test_a_cpo_registers_then_pushes_and_authorises(fresh_emsp: EmspProcess, tiny_cpo: str) -> None:
    emsp = fresh_emsp
    credentials = {**CREDENTIALS, "token": CPO_TOKEN, "url": tiny_cpo}
    with httpx.Client(base_url=emsp.api_url, timeout=30.0) as cpo:
        registered = cpo.post("/credentials/", json=credentials, headers=_ocpi(TOKEN_A))
        assert registered.json()["status_code"] == 1000, f"{registered.text}\n{emsp.log()}"
        token_c = registered.json()["data"]["token"]
        assert emsp.validate("credentials", registered.json()["data"]) == []
        partner = emsp.partner()["partner"]
        assert (partner["initiated_by"], partner["token_we_use"]) == ("CPO", CPO_TOKEN)
        assert partner["token_partner_uses"] == token_c
        # token A is spent; token C is the CPO's from now on
        again = cpo.post("/credentials/", json=credentials, headers=_ocpi(TOKEN_A))
        assert again.status_code == 401

        pushed = cpo.put("/locations/BE/BEC/LOC1", json=LOCATION, headers=_ocpi(token_c))
        assert (pushed.status_code, pushed.json()["status_code"]) == (200, 1000)
        assert pushed.headers["X-Request-ID"] == "req-1"
        patched = cpo.patch(
            "/locations/BE/BEC/LOC1/3256",
            json={"status": "CHARGING", "last_updated": TIMESTAMP},
            headers=_ocpi(token_c),
        )
        assert patched.json()["status_code"] == 1000
        broken = {key: value for key, value in LOCATION.items() if key != "address"}
        refused = cpo.put("/locations/BE/BEC/LOC2", json=broken, headers=_ocpi(token_c))
        assert (refused.status_code, refused.json()["status_code"]) == (200, 2001)
        cdr = cpo.post("/cdrs/", json=CDR, headers=_ocpi(token_c))
        assert cdr.headers["Location"] == f"{emsp.api_url}/cdrs/12345"

        allowed = cpo.post("/tokens/EMSP-RFID-0001/authorize", headers=_ocpi(token_c))
        blocked = cpo.post(
            "/tokens/EMSP-RFID-0002/authorize?type=RFID",
            json={"location_id": "LOC1", "evse_uids": ["3256"]},
            headers=_ocpi(token_c),
        )
        unknown = cpo.post("/tokens/NOT-OURS/authorize", headers=_ocpi(token_c))
        first = cpo.get("/tokens/", headers=_ocpi(token_c))
        second = cpo.get(first.links["next"]["url"], headers=_ocpi(token_c))

    assert [(e["method"], e["path"], e["strict"]) for e in emsp.received("locations")] == [
        ("PUT", "/ocpi/emsp/2.2.1/locations/BE/BEC/LOC1", []),
        ("PATCH", "/ocpi/emsp/2.2.1/locations/BE/BEC/LOC1/3256", []),
    ]
    assert emsp.received("locations")[0]["body"] == LOCATION
    assert emsp.stored("locations")[0]["evses"][0]["status"] == "CHARGING"
    assert [e["errors"][0]["loc"] for e in emsp.received("rejected")] == [["body", "address"]]
    assert emsp.received("cdrs")[0]["body"] == CDR

    assert allowed.json()["data"]["allowed"] == "ALLOWED"
    assert emsp.validate("authorization_info", allowed.json()["data"]) == []
    assert blocked.json()["data"]["allowed"] == "BLOCKED"
    assert blocked.json()["data"]["location"] == {"location_id": "LOC1", "evse_uids": ["3256"]}
    assert (unknown.status_code, unknown.json()["status_code"]) == (404, 2004)
    assert (first.headers["X-Total-Count"], first.headers["X-Limit"]) == ("4", "2")
    assert "Link" not in second.headers
    uids = [token["uid"] for page in (first, second) for token in page.json()["data"]]
    assert uids == ["EMSP-RFID-0001", "EMSP-RFID-0002", "EMSP-RFID-0003", "EMSP-APP-0001"]
    for token in first.json()["data"]:
        assert emsp.validate("token", token) == []


def test_the_authorization_header_is_base64_of_the_token() -> None:
    """The header the harness builds is what py_ocpi decodes (base64 of the plain token)."""
    header = ocpi_authorization("token-c")["Authorization"]
    assert header.startswith("Token ")
    assert base64.b64decode(header.removeprefix("Token ")) == b"token-c"
