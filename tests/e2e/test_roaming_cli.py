"""``chargeledger roaming`` as an operator runs it (issue 18): inviting a partner prints its
token A once and the partner then shows as invited; refusals are a message with the error's
code and a non-zero exit, nothing written. Both databases."""

from __future__ import annotations

import re
import subprocess
import uuid
from pathlib import Path

from tests.e2e.cli_runner import chargeledger_on
from tests.e2e.test_invoice_run_cli import database_url

__all__ = ["database_url"]  # the fixture this module's tests use

OCPI = {
    "CHARGELEDGER_OCPI_COUNTRY_CODE": "DE",
    "CHARGELEDGER_OCPI_PARTY_ID": "CLG",
    "CHARGELEDGER_OCPI_URL": "https://cpo.example.com/ocpi",
}


def roaming(
    url: str, data_dir: Path, *arguments: str, **settings: str
) -> subprocess.CompletedProcess[str]:
    return chargeledger_on(url, data_dir, "roaming", *arguments, **settings)


def test_inviting_listing_and_refusals(database_url: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    invited = roaming(
        database_url,
        data_dir,
        "invite",
        "--name",
        "Example eMSP",
        "--country-code",
        "nl",
        "--party-id",
        "ems",
        **OCPI,
    )
    assert invited.returncode == 0, invited.stderr
    assert "(NL*EMS, EMSP) invited" in invited.stdout
    assert "versions URL: https://cpo.example.com/ocpi/versions" in invited.stdout
    token = re.search(r"token A: (\S+)", invited.stdout)
    assert token is not None
    assert len(token.group(1)) == 43  # 256 random bits, base64url

    listed = roaming(database_url, data_dir, "list", **OCPI)
    assert listed.returncode == 0, listed.stderr
    assert "NL*EMS" in listed.stdout
    assert "invited" in listed.stdout
    assert token.group(1) not in listed.stdout  # shown once, kept as a digest

    twice = roaming(
        database_url,
        data_dir,
        "invite",
        "--name",
        "Again",
        "--country-code",
        "NL",
        "--party-id",
        "EMS",
        **OCPI,
    )
    assert twice.returncode == 0, twice.stderr  # an invited party may get a new token A

    bad_party = roaming(
        database_url,
        data_dir,
        "invite",
        "--name",
        "X",
        "--country-code",
        "NLD",
        "--party-id",
        "EMS",
        **OCPI,
    )
    assert bad_party.returncode != 0
    assert "invalid_party" in bad_party.stderr

    no_party = roaming(
        database_url, data_dir, "invite", "--name", "X", "--country-code", "NL", "--party-id", "X1Y"
    )
    assert no_party.returncode != 0
    assert "ocpi_not_configured" in no_party.stderr

    unknown = roaming(database_url, data_dir, "pull-tokens", str(uuid.uuid4()), **OCPI)
    assert unknown.returncode != 0
    assert "roaming_partner_not_found" in unknown.stderr
