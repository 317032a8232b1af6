"""``chargeledger contracts ...`` as finance runs it (issue 14), on a SQLite file and on
PostgreSQL: partners, a contract created from a terms file, signed, shown, amended, covered,
its signed PDF attached, its milestones listed and reminded once however often the reminder
run goes, terminated; every refusal exits 1 with its code.

The commands run against the real clock, so every day here is either long past (2021) or far
ahead (2090): the rules that compare with today (no amendment in the past, no signature or
reminder run in the future) answer the same on any day between.

The fleet contract: 1 January to 31 December 2021, renewing by 12 months unless terminated
90 days before a term's end, reminders 30 days ahead.
- notice deadlines: 31 Dec 2021 - 90 days = 2 Oct 2021; 31 Dec 2022 - 90 days = 2 Oct 2022;
- renewals: 1 Jan 2022, 1 Jan 2023;
- a reminder run on 20 Sep 2021 covers 20 Sep to 20 Oct (20 Sep + 30 days): the notice
  deadline of 2 Oct and the price review added for 1 Oct, 2 reminders;
- terminated on 1 Sep 2021, before the 2 Oct deadline: its last day is 31 Dec 2021.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from chargeledger.domain.accounts import AccountKind
from chargeledger.domain.contract_milestones import TOPIC
from chargeledger.domain.outbox import Channel
from tests.conftest import make_account
from tests.e2e.cli_runner import chargeledger_on
from tests.e2e.test_invoice_run_cli import database_url, open_runtime
from tests.integration.billing_world import utc

__all__ = ["database_url"]  # the fixture this module's tests use

OPERATOR_EMAIL = "contracts@operator.example"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
TERMS = {
    "price_book": {"discount": {"kind": "percent", "value": "10"}},
    "monthly_commitment": "500.00",
    "purchase_order": "PO-4711",
}


def chargeledger(url: str, data_dir: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return chargeledger_on(
        url,
        data_dir,
        *arguments,
        CHARGELEDGER_OPERATOR_TIME_ZONE="Europe/Berlin",
        CHARGELEDGER_OPERATOR_EMAIL=OPERATOR_EMAIL,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def refused(result: subprocess.CompletedProcess[str], code: str) -> None:
    assert result.returncode == 1, result.stdout
    assert f"[{code}]" in result.stderr, result.stderr


async def test_a_contract_from_creation_to_termination(database_url: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    runtime = open_runtime(database_url, data_dir)
    try:
        await runtime.migrate()
        fleet = await make_account(runtime, "Fleet GmbH", AccountKind.BUSINESS)
        driver = await make_account(runtime, "Dora Driver")
    finally:
        await runtime.aclose()
    terms = tmp_path / "terms.json"
    terms.write_text(json.dumps(TERMS), encoding="utf-8")
    signed_pdf = tmp_path / "signed.pdf"
    signed_pdf.write_bytes(PDF)

    def run(*arguments: str) -> subprocess.CompletedProcess[str]:
        return chargeledger(database_url, data_dir, *arguments)

    # A partner and an open-ended site host contract with it.
    added = ok(
        run(
            "contracts", "partners", "add", "--kind", "site_host", "--name", "Host AG",
            "--email", "host@host.example", "--street", "Marienplatz 1",
            "--postal-code", "80331", "--city", "München", "--country", "DE",
        )
    )  # fmt: skip
    assert "added partner Host AG" in added
    partner_id = added.rsplit("(", 1)[1].rstrip(")\n")
    assert partner_id in ok(run("contracts", "partners", "list"))
    host = ok(
        run(
            "contracts", "create", "--number", "SH-2021-001", "--kind", "site_host",
            "--partner", partner_id, "--start", "2021-03-01",
        )
    )  # fmt: skip
    assert "created contract SH-2021-001" in host
    assert "signed on 2021-03-01" in ok(
        run("contracts", "sign", "SH-2021-001", "--on", "2021-03-01")
    )

    # The fleet contract, from its terms file, covering the fleet and a driver's account.
    create = (
        "contracts", "create", "--number", "FL-2021-001", "--kind", "fleet",
        "--account", str(fleet.id), "--start", "2021-01-01", "--end", "2021-12-31",
        "--renew-months", "12", "--notice-days", "90", "--terms", str(terms),
        "--title", "Fleet charging", "--cover-account", str(driver.id),
    )  # fmt: skip
    created = ok(run(*create))
    assert "created contract FL-2021-001" in created
    assert "draft" in created
    assert "covers 2 account(s), 0 site(s)" in created  # its own account and the driver's
    contract_id = created.split("(", 1)[1].split(")", 1)[0]
    refused(run(*create), "duplicate")  # the number is taken
    refused(run("contracts", "sign", "FL-2021-001", "--on", "2999-01-01"), "signed_in_future")
    assert "signed on 2021-01-05" in ok(
        run("contracts", "sign", "FL-2021-001", "--on", "2021-01-05")
    )
    refused(run("contracts", "sign", "FL-2021-001"), "contract_signed")

    # Found by number and by id; the terms of version 1 as stored.
    listed = ok(run("contracts", "list", "--kind", "fleet"))
    assert "FL-2021-001" in listed
    assert "SH-2021-001" not in listed
    shown = ok(run("contracts", "show", contract_id))
    assert "contract FL-2021-001 (fleet) — Fleet charging" in shown
    assert '"purchase_order": "PO-4711"' in shown
    assert "1 (current)" in shown
    refused(run("contracts", "show", "NO-SUCH-CONTRACT"), "contract_not_found")

    # Amendments: never in the past, terms checked like the API's.
    past = ("contracts", "amend", "FL-2021-001", "--from", "2021-06-01", "--summary", "x")
    refused(run(*past, "--terms", str(terms)), "amendment_in_past")
    floats = tmp_path / "floats.json"
    floats.write_text('{"monthly_commitment": 500.5}', encoding="utf-8")
    later = ("contracts", "amend", "FL-2021-001", "--from", "2090-01-01", "--summary", "2090")
    refused(run(*later, "--terms", str(floats)), "invalid_contract_terms")
    floats.write_text("[1, 2]", encoding="utf-8")
    refused(run(*later, "--terms", str(floats)), "invalid_contract_terms")
    assert "version 2 valid from 2090-01-01" in ok(run(*later, "--terms", str(terms)))

    # The signed PDF, kept once by its bytes; anything else refused.
    attach = ("contracts", "attach", "FL-2021-001", "--version", "1")
    first = ok(run(*attach, str(signed_pdf)))
    assert "kept signed.pdf for version 1" in first
    assert ok(run(*attach, str(signed_pdf))) == first  # the same record
    refused(run(*attach, str(terms)), "unsupported_document_type")
    refused(run("contracts", "attach", "FL-2021-001", "--version", "9", str(signed_pdf)),
            "contract_version_not_found")  # fmt: skip

    # Milestones and their reminders.
    review = ("--kind", "price_review", "--title", "Review prices", "--due", "2021-10-01")
    assert "price_review on 2021-10-01" in ok(
        run("contracts", "milestone-add", "FL-2021-001", *review)
    )
    refused(run("contracts", "milestone-add", "FL-2021-001", "--kind", "renewal", "--title", "x",
                "--due", "2021-10-01"), "invalid_milestone")  # fmt: skip
    listed = ok(run("contracts", "milestones", "FL-2021-001", "--through", "2023-01-31"))
    cells = [line.split() for line in listed.splitlines() if line.startswith("│ 20")]
    assert [(c[1], c[3]) for c in cells] == [
        ("2021-10-01", "price_review"),
        ("2021-10-02", "notice_deadline"),
        ("2022-01-01", "renewal"),
        ("2022-10-02", "notice_deadline"),
        ("2023-01-01", "renewal"),
    ], listed
    assert "2 reminder(s) announced, 0 already" in ok(
        run("contracts", "remind", "--date", "2021-09-20")
    )
    assert "0 reminder(s) announced, 2 already" in ok(
        run("contracts", "remind", "--date", "2021-09-20")
    )
    refused(run("contracts", "remind", "--date", "2999-01-01"), "reminder_date_in_future")

    # Coverage: an account under this contract cannot join another over the same days.
    refused(run("contracts", "cover", "SH-2021-001", "--account", str(driver.id)),
            "account_under_contract")  # fmt: skip

    # Terminated before the 2 October deadline: it ends with its first term.
    terminate = ("contracts", "terminate", "FL-2021-001", "--reason", "Fleet moves away")
    ended = ok(run(*terminate, "--given-on", "2021-09-01"))
    assert "terminated: last day 2021-12-31" in ended
    refused(run(*terminate), "contract_terminated")
    terminated = ok(run("contracts", "list", "--status", "terminated"))
    assert "FL-2021-001" in terminated
    assert "SH-2021-001" not in terminated
    assert "SH-2021-001" in ok(run("contracts", "list", "--status", "active"))

    # The reminders wait in the outbox, one per milestone, to the operator's address.
    runtime = open_runtime(database_url, data_dir)
    try:
        async with runtime.uow() as uow:
            events = await uow.outbox.due([Channel.EVENT], utc("2100-01-01T00:00"), 100)
    finally:
        await runtime.aclose()
    reminders = [e for e in events if e.notice.topic == TOPIC]
    assert sorted(str(e.notice.data["due_on"]) for e in reminders) == ["2021-10-01", "2021-10-02"]
    assert {e.notice.recipient for e in reminders} == {OPERATOR_EMAIL}
