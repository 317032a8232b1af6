"""OCPI 2.2.1 credentials (§7.3.1) as a partner sends them: every field checked, with errors that
name it; version details and versions lists (§6) read the same way."""

from __future__ import annotations

from typing import Any

import pytest

from chargeledger.domain.roaming import (
    InterfaceRole,
    ModuleId,
    PartyRole,
    RoamingPartner,
    endpoints_from_json,
    parse_credentials,
    version_url_from_json,
)
from chargeledger.errors import InvalidInputError


def credentials(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "token": "ebf3b399-779f-4497-9b9d-ac6ad3cc44d2",
        "url": "https://emsp.example.com/ocpi/versions",
        "roles": [
            {
                "role": "EMSP",
                "business_details": {"name": "Example eMSP", "website": "https://example.com"},
                "party_id": "ems",
                "country_code": "nl",
            }
        ],
    }
    doc.update(changes)
    return doc


def test_credentials_are_read_with_party_codes_in_upper_case() -> None:
    read = parse_credentials(credentials())
    assert read.token == "ebf3b399-779f-4497-9b9d-ac6ad3cc44d2"
    assert read.url == "https://emsp.example.com/ocpi/versions"
    (role,) = read.roles
    assert (role.role, role.country_code, role.party_id) == (PartyRole.EMSP, "NL", "EMS")
    assert read.as_json()["roles"][0]["business_details"] == {
        "name": "Example eMSP",
        "website": "https://example.com",
    }


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"token": ""}, "token"),
        ({"token": "a b"}, "token"),
        ({"token": "x" * 65}, "token"),
        ({"url": "ftp://emsp.example.com"}, "url"),
        ({"url": "https://" + "a" * 250}, "url"),
        ({"roles": []}, "roles"),
        ({"roles": [{"role": "DRIVER"}]}, "roles[0].role"),
        (
            {
                "roles": [
                    {
                        "role": "EMSP",
                        "business_details": {"name": "X"},
                        "party_id": "EM",
                        "country_code": "NL",
                    }
                ]
            },
            "roles[0].party_id",
        ),
        (
            {
                "roles": [
                    {
                        "role": "EMSP",
                        "business_details": {"name": "X"},
                        "party_id": "EMS",
                        "country_code": "NLD",
                    }
                ]
            },
            "roles[0].country_code",
        ),
        ({"roles": [{"role": "CPO", "business_details": {}}]}, "roles[0].business_details.name"),
    ],
)
def test_bad_credentials_are_refused_naming_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        parse_credentials(credentials(**changes))
    assert refused.value.field == field


def test_the_221_version_is_found_and_its_endpoints_read() -> None:
    versions = [
        {"version": "2.1.1", "url": "https://p.example.com/ocpi/2.1.1"},
        {"version": "2.2.1", "url": "https://p.example.com/ocpi/2.2.1"},
    ]
    assert version_url_from_json(versions) == "https://p.example.com/ocpi/2.2.1"
    endpoints = endpoints_from_json(
        {
            "version": "2.2.1",
            "endpoints": [
                {"identifier": "cdrs", "role": "RECEIVER", "url": "https://p.example.com/cdrs"},
                {"identifier": "custom", "role": "SENDER", "url": "https://p.example.com/x"},
            ],
        }
    )
    partner = RoamingPartner(
        name="P", country_code="NL", party_id="EMS", role=PartyRole.EMSP, endpoints=endpoints
    )
    assert partner.endpoint(ModuleId.CDRS, InterfaceRole.RECEIVER) == "https://p.example.com/cdrs"
    assert partner.endpoint(ModuleId.CDRS, InterfaceRole.SENDER) is None


def test_a_partner_without_221_is_told_so() -> None:
    with pytest.raises(InvalidInputError) as refused:
        version_url_from_json([{"version": "2.1.1", "url": "https://p.example.com/ocpi/2.1.1"}])
    assert refused.value.code == "unsupported_ocpi_version"
    with pytest.raises(InvalidInputError):
        endpoints_from_json({"version": "2.1.1", "endpoints": []})
