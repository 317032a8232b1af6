"""Our OCPI 2.2.1 CPO interface as a partner's client meets it, on both databases: tokens and
what each opens (§4.1.3, §7.2.1), the envelope (§4.1.7), pagination with ``Link``,
``X-Total-Count`` and ``X-Limit`` (§4.1.5), date filters, the locations (§8) and tariffs (§11)
built from the catalog, and the status codes of every refusal."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from chargeledger.bootstrap import Runtime
from chargeledger.domain.roaming import PartnerStatus
from tests.integration.ocpi_world import OUR_COUNTRY, OUR_PARTY, registered_partner, seed_sites


def token_header(token: str) -> dict[str, str]:
    return {"Authorization": "Token " + base64.b64encode(token.encode()).decode()}


def ok(response: httpx.Response) -> Any:
    body = response.json()
    assert response.status_code == 200, body
    assert body["status_code"] == 1000, body
    assert set(body) == {"data", "status_code", "status_message", "timestamp"}
    return body["data"]


async def test_the_versions_and_modules_a_partner_sees(
    ocpi_runtime: Runtime, ocpi_client: httpx.AsyncClient
) -> None:
    _, token = await registered_partner(ocpi_runtime)
    versions = ok(await ocpi_client.get("/ocpi/versions", headers=token_header(token)))
    assert versions == [{"version": "2.2.1", "url": "http://testserver/ocpi/2.2.1"}]
    details = ok(await ocpi_client.get("/ocpi/2.2.1", headers=token_header(token)))
    assert details["version"] == "2.2.1"
    offered = {(e["identifier"], e["role"]) for e in details["endpoints"]}
    assert {("credentials", "SENDER"), ("locations", "SENDER"), ("tariffs", "SENDER")} <= offered
    ours = ok(await ocpi_client.get("/ocpi/2.2.1/credentials", headers=token_header(token)))
    assert ours["token"] == token
    assert ours["url"] == "http://testserver/ocpi/versions"
    assert ours["roles"] == [
        {
            "role": "CPO",
            "business_details": {"name": "Test Charging GmbH"},
            "party_id": OUR_PARTY,
            "country_code": OUR_COUNTRY,
        }
    ]


async def test_tokens_open_only_what_their_stage_allows(
    ocpi_runtime: Runtime, ocpi_client: httpx.AsyncClient
) -> None:
    _, invited = await registered_partner(ocpi_runtime, "INV", PartnerStatus.INVITED)
    _, registered = await registered_partner(ocpi_runtime, "REG")
    # Token A: the versions, but no module and not our credentials.
    ok(await ocpi_client.get("/ocpi/versions", headers=token_header(invited)))
    for path in ("/ocpi/2.2.1/locations", "/ocpi/2.2.1/tariffs", "/ocpi/2.2.1/credentials"):
        refused = await ocpi_client.get(path, headers=token_header(invited))
        assert refused.status_code == 401, path
        assert refused.json()["status_code"] == 2000
        assert refused.json()["data"] == []
    # No token, a token of nobody, a header of another scheme.
    for headers in ({}, token_header("nobody"), {"Authorization": f"Bearer {registered}"}):
        refused = await ocpi_client.get("/ocpi/2.2.1/locations", headers=headers)
        assert refused.status_code == 401
        assert refused.json()["status_code"] == 2000
    # The token as it is (OCPI 2.1.1 style) names the same partner as its Base64.
    ok(
        await ocpi_client.get(
            "/ocpi/2.2.1/tariffs", headers={"Authorization": f"Token {registered}"}
        )
    )
    # A registered partner registering again is told to use PUT (§7.2.1: 405).
    again = await ocpi_client.post(
        "/ocpi/2.2.1/credentials", headers=token_header(registered), json={"token": "x"}
    )
    assert again.status_code == 405
    assert "partner_already_registered" in again.json()["status_message"]


async def test_locations_are_the_catalog_paged_with_link_and_total(
    ocpi_runtime: Runtime, ocpi_client: httpx.AsyncClient
) -> None:
    await seed_sites(ocpi_runtime, extra=4)
    _, token = await registered_partner(ocpi_runtime)
    headers = {**token_header(token), "X-Request-ID": "req-1", "X-Correlation-ID": "corr-1"}
    url: str | None = "/ocpi/2.2.1/locations?limit=2"
    seen: list[dict[str, Any]] = []
    while url is not None:
        page = await ocpi_client.get(url, headers=headers)
        seen += ok(page)
        assert page.headers["X-Total-Count"] == "5"
        assert page.headers["X-Limit"] == "2"
        assert page.headers["X-Request-ID"] == "req-1"
        assert page.headers["X-Correlation-ID"] == "corr-1"
        link = page.headers.get("Link")
        url = None if link is None else link.split(">")[0].lstrip("<")
    assert len(seen) == 5
    assert len({location["id"] for location in seen}) == 5
    depot = next(location for location in seen if location["name"] == "Test depot")
    assert (depot["country_code"], depot["party_id"]) == (OUR_COUNTRY, OUR_PARTY)
    assert depot["country"] == "DEU"
    assert depot["coordinates"] == {"latitude": "52.500000", "longitude": "13.400000"}
    assert depot["time_zone"] == "Europe/Berlin"
    assert len(depot["evses"]) == 4
    for evse in depot["evses"]:
        assert evse["status"] == "UNKNOWN"  # no station is connected
        (connector,) = evse["connectors"]
        assert connector["tariff_ids"] == ["AC-STANDARD"]
        assert connector["standard"] == "IEC_62196_T2_COMBO"
    powers = sorted(
        (e["connectors"][0]["power_type"], e["connectors"][0]["max_electric_power"])
        for e in depot["evses"]
    )
    assert powers == [("AC_3_PHASE", 22000)] * 2 + [("DC", 150000)] * 2
    ac = next(
        e["connectors"][0] for e in depot["evses"] if e["connectors"][0]["power_type"] != "DC"
    )
    assert (ac["max_voltage"], ac["max_amperage"]) == (230, 32)  # 22 kW over 3 x 230 V
    south = next(location for location in seen if location["name"] == "Site 0")
    assert south["coordinates"]["longitude"] == "-13.123457"

    # One location, one EVSE, one connector.
    one = ok(await ocpi_client.get(f"/ocpi/2.2.1/locations/{depot['id']}", headers=headers))
    assert one["id"] == depot["id"]
    evse = depot["evses"][0]
    path = f"/ocpi/2.2.1/locations/{depot['id']}/{evse['uid']}"
    assert ok(await ocpi_client.get(path, headers=headers))["uid"] == evse["uid"]
    assert ok(await ocpi_client.get(f"{path}/1", headers=headers))["id"] == "1"
    for missing in (
        f"{path}/9",
        f"/ocpi/2.2.1/locations/{depot['id']}/nope",
        "/ocpi/2.2.1/locations/x",
    ):
        refused = await ocpi_client.get(missing, headers=headers)
        assert refused.status_code == 404, missing
        assert refused.json()["status_code"] == 2003


async def test_date_filters_and_bad_parameters(
    ocpi_runtime: Runtime, ocpi_client: httpx.AsyncClient
) -> None:
    await seed_sites(ocpi_runtime, extra=1)
    _, token = await registered_partner(ocpi_runtime)
    headers = token_header(token)
    everything = ok(await ocpi_client.get("/ocpi/2.2.1/locations", headers=headers))
    latest = max(location["last_updated"] for location in everything)
    later = await ocpi_client.get(
        "/ocpi/2.2.1/locations", headers=headers, params={"date_from": "2100-01-01T00:00:00Z"}
    )
    assert ok(later) == []
    assert later.headers["X-Total-Count"] == "0"
    upto = await ocpi_client.get(
        "/ocpi/2.2.1/locations", headers=headers, params={"date_to": "2000-01-01T00:00:00Z"}
    )
    assert ok(upto) == []
    within = await ocpi_client.get(
        "/ocpi/2.2.1/locations", headers=headers, params={"date_from": latest}
    )
    assert len(ok(within)) >= 1
    for params in (
        {"date_from": "yesterday"},
        {"date_from": "2024-01-01T00:00:00"},  # no zone
        {"offset": "-1"},
        {"limit": "0"},
    ):
        refused = await ocpi_client.get("/ocpi/2.2.1/locations", headers=headers, params=params)
        assert refused.status_code == 400, params
        assert refused.json()["status_code"] == 2001, params
    tariffs = await ocpi_client.get("/ocpi/2.2.1/tariffs", headers=headers)
    (tariff,) = ok(tariffs)
    assert tariffs.headers["X-Total-Count"] == "1"
    assert (tariff["country_code"], tariff["party_id"], tariff["id"]) == (
        OUR_COUNTRY,
        OUR_PARTY,
        "AC-STANDARD",
    )
    # The prices leave as the exact numbers imported, not as floats.
    assert '"price":0.395' in tariffs.text
    assert '"price":0.50' in tariffs.text
    assert tariff["last_updated"].endswith("Z")


async def test_a_partner_ending_the_roaming_loses_its_token(
    ocpi_runtime: Runtime, ocpi_client: httpx.AsyncClient
) -> None:
    partner, token = await registered_partner(ocpi_runtime)
    ended = await ocpi_client.delete("/ocpi/2.2.1/credentials", headers=token_header(token))
    assert ok(ended) == []
    refused = await ocpi_client.get("/ocpi/2.2.1/locations", headers=token_header(token))
    assert refused.status_code == 401
    async with ocpi_runtime.uow() as uow:
        stored = await uow.roaming.get(partner.id)
    assert stored is not None
    assert stored.status is PartnerStatus.UNREGISTERED
    assert stored.incoming_digest is None
    assert stored.outgoing_token is None


async def test_malformed_requests_get_an_ocpi_error_and_change_nothing(
    ocpi_runtime: Runtime, ocpi_client: httpx.AsyncClient
) -> None:
    invited, token_a = await registered_partner(ocpi_runtime, "INV", PartnerStatus.INVITED)
    _, token = await registered_partner(ocpi_runtime, "REG")
    bad_bodies: list[Any] = [
        None,
        [],
        "text",
        {"token": "t", "url": "https://x.example.com/versions"},  # no roles
        {"token": "t" * 65, "url": "https://x.example.com/versions", "roles": []},
        {
            "token": "t",
            "url": "javascript:alert(1)",
            "roles": [
                {
                    "role": "EMSP",
                    "business_details": {"name": "X"},
                    "party_id": "INV",
                    "country_code": "NL",
                }
            ],
        },
    ]
    for body in bad_bodies:
        refused = await ocpi_client.post(
            "/ocpi/2.2.1/credentials", headers=token_header(token_a), json=body
        )
        assert refused.status_code == 400, (body, refused.text)
        assert refused.json()["status_code"] == 2001
    not_json = await ocpi_client.post(
        "/ocpi/2.2.1/credentials",
        headers={**token_header(token_a), "Content-Type": "application/json"},
        content=b"{not json",
    )
    assert not_json.status_code == 400
    assert not_json.json()["status_code"] == 2001
    # Another party's credentials on this partner's token A: refused, the invitation stands.
    other = {
        "token": "t",
        "url": "https://x.example.com/versions",
        "roles": [
            {
                "role": "EMSP",
                "business_details": {"name": "X"},
                "party_id": "OTH",
                "country_code": "NL",
            }
        ],
    }
    mismatch = await ocpi_client.post(
        "/ocpi/2.2.1/credentials", headers=token_header(token_a), json=other
    )
    assert mismatch.status_code == 400
    assert "ocpi_party_mismatch" in mismatch.json()["status_message"]
    async with ocpi_runtime.uow() as uow:
        kept = await uow.roaming.get(invited.id)
    assert kept is not None
    assert kept.status is PartnerStatus.INVITED

    for command, body in (
        ("FLY_TO_MOON", {"response_url": "https://x.example.com/r"}),
        ("START_SESSION", []),
        ("START_SESSION", {"response_url": "https://elsewhere.example.org/r"}),
        ("UNLOCK_CONNECTOR", {"response_url": "https://x.example.com/r"}),
    ):
        refused = await ocpi_client.post(
            f"/ocpi/2.2.1/commands/{command}", headers=token_header(token), json=body
        )
        assert refused.status_code == 400, (command, refused.text)
        assert refused.json()["status_code"] == 2001
