"""The pure rules of issue 11 items 8-10: one VAT figure (``Billed``), a tariff's stated VAT
against the VAT due, one currency per invoice, never a negative price, one check for station
and corrected readings, and a CDR for a session that stopped the instant it started."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from chargeledger.domain.billing import (
    DEFAULT_VAT_RATES,
    Billed,
    Charge,
    VatCategory,
    VatTreatment,
    billed_amounts,
    supply_vat,
    vat_treatment,
)
from chargeledger.domain.cdrs import session_cdr
from chargeledger.domain.charge_documents import by_currency, charges_document
from chargeledger.domain.charging import QuarantineReason, Session, SessionStatus
from chargeledger.domain.invoicing import DocumentKind, Party, charge_line
from chargeledger.domain.meter_checks import reading_issues
from chargeledger.domain.payment_routes import PaymentRoute
from chargeledger.domain.tariff_vat import VatDue, check_tariff_vat
from chargeledger.domain.tariffs import DimensionType, parse_cdr, parse_tariff, price
from chargeledger.domain.tariffs.display import price_display
from chargeledger.errors import ChargeledgerError, InvalidInputError

D = Decimal
T = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
GERMANY = VatTreatment(VatCategory.STANDARD, D(19))


def tariff(price_: str = "0.45", vat: str | None = "19", currency: str = "GBP") -> Any:
    component: dict[str, Any] = {"type": "ENERGY", "price": price_, "step_size": 1}
    if vat is not None:
        component["vat"] = vat
    return {"id": "T", "currency": currency, "elements": [{"price_components": [component]}]}


def cdr(kwh: str, hours: str = "0.5") -> Any:
    return parse_cdr(
        {
            "start_date_time": "2026-03-10T09:00:00Z",
            "end_date_time": "2026-03-10T09:30:00Z",
            "currency": "GBP",
            "charging_periods": [
                {
                    "start_date_time": "2026-03-10T09:00:00Z",
                    "dimensions": [
                        {"type": "ENERGY", "volume": kwh},
                        {"type": "TIME", "volume": hours},
                    ],
                }
            ],
        }
    )


# --- one figure ----------------------------------------------------------------------------


def test_the_issue_figure_is_the_site_vat_on_the_rounded_net_whatever_the_tariff_states() -> None:
    """10 kWh at 0.45: 4.50 net. The tariff's 20 % said 5.40; the place of supply (Germany,
    19 %) says 4.50 + 0.86 = 5.36, and so do the components and the charge built from it."""
    result = price(cdr("10"), parse_tariff(tariff(vat="20")))
    assert result.total_cost.incl_vat == D("5.40")  # price() itself stays OCPI-exact
    billed = billed_amounts(result, GERMANY)
    assert (billed.net, billed.tax, billed.gross) == (D("4.50"), D("0.86"), D("5.36"))
    assert billed.component("Energy") == (D("4.50"), D("5.36"))
    charge = charge_of(billed, "GBP")
    assert (charge.net, charge.tax, charge.gross) == (billed.net, billed.tax, billed.gross)


def test_component_gross_shares_the_vat_to_the_cent() -> None:
    billed = Billed(
        "EUR",
        (("Energy", D("3.33")), ("Time", D("3.33")), ("Parking", D("3.34"))),
        GERMANY,
    )
    assert billed.tax == D("1.90")
    grosses = dict(billed.component_gross())
    assert sum(grosses.values()) == billed.gross == D("11.90")


def test_reverse_charge_and_the_date_of_supply() -> None:
    """The supply date is the local date at the site: DE was 16 % in the second half of 2020,
    and 23:30 UTC on 30 June 2020 is already 1 July in Berlin."""
    late_june = datetime(2020, 6, 30, 23, 30, tzinfo=UTC)
    assert supply_vat(DEFAULT_VAT_RATES, "DE", "Europe/Berlin", late_june, None).percent == 16
    assert supply_vat(DEFAULT_VAT_RATES, "DE", "UTC", late_june, None).percent == 19
    reverse = vat_treatment(DEFAULT_VAT_RATES, "DE", date(2026, 3, 10), "PT", "PT501964843")
    billed = billed_amounts(price(cdr("10"), parse_tariff(tariff())), reverse)
    assert (billed.gross, billed.vat.category) == (D("4.50"), VatCategory.REVERSE_CHARGE)


def test_the_price_display_states_the_vat_due() -> None:
    stated = parse_tariff(tariff(vat="20"))
    assert price_display(stated) == ["0.45 GBP per kWh (0.54 GBP incl. 20% VAT)"]
    assert price_display(stated, D(19), "incl. 19% VAT") == [
        "0.45 GBP per kWh (0.5355 GBP incl. 19% VAT)"
    ]
    assert price_display(stated, D(0), "no VAT: reverse charge") == [
        "0.45 GBP per kWh (no VAT: reverse charge)"
    ]


# --- a tariff's stated VAT ----------------------------------------------------------------


def test_a_tariff_stating_other_vat_than_is_due_is_refused() -> None:
    berlin, lisbon = (
        VatDue("Berlin", "DE", GERMANY),
        VatDue("Lisboa", "PT", VatTreatment(VatCategory.STANDARD, D(23))),
    )
    with pytest.raises(InvalidInputError) as refused:
        check_tariff_vat(parse_tariff(tariff(vat="20")), [berlin])
    assert refused.value.code == "tariff_vat_mismatch"
    assert refused.value.details["due"] == [{"site": "Berlin", "country": "DE", "percent": "19"}]
    check_tariff_vat(parse_tariff(tariff(vat="19.0")), [berlin])  # 19.0 % is 19 %
    check_tariff_vat(parse_tariff(tariff(vat=None)), [berlin, lisbon])  # net prices fit all
    with pytest.raises(InvalidInputError):  # one rate cannot be due in two countries
        check_tariff_vat(parse_tariff(tariff(vat="19")), [berlin, lisbon])


# --- one currency per invoice -------------------------------------------------------------


def charge_of(billed: Billed, currency: str) -> Charge:
    return Charge(
        session_id=uuid.uuid4(),
        account_id=uuid.uuid4(),
        ad_hoc=False,
        site_id=uuid.uuid4(),
        site_name="Depot",
        station_id=uuid.uuid4(),
        station_name="CP1",
        evse_id=1,
        country="DE",
        time_zone="Europe/Berlin",
        currency=currency,
        started_at=T,
        stopped_at=T + timedelta(minutes=30),
        energy_kwh=D(10),
        charging_hours=D("0.5"),
        idle_hours=D(0),
        components=billed.components,
        vat=billed.vat,
        tariff_id=None,
    )


SELLER = Party("Seller GmbH", "Ring 1", "10115", "Berlin", "DE")


def test_an_invoice_never_mixes_currencies() -> None:
    net = (("Energy", D("4.50")),)
    pounds = charge_of(Billed("GBP", net, GERMANY), "GBP")
    euros = charge_of(Billed("EUR", net, GERMANY), "EUR")
    with pytest.raises(InvalidInputError) as refused:
        charge_line(1, euros, "GBP")
    assert refused.value.code == "currency_mismatch"
    fields: dict[str, Any] = {
        "account_id": pounds.account_id,
        "seller": SELLER,
        "buyer": SELLER,
        "period": (date(2026, 3, 1), date(2026, 4, 1)),
        "run_key": "k",
    }
    with pytest.raises(InvalidInputError):
        charges_document(DocumentKind.INVOICE, [pounds, euros], **fields)
    groups = by_currency([pounds, euros, pounds])
    assert {c: len(g) for c, g in groups.items()} == {"GBP": 2, "EUR": 1}
    invoices = [charges_document(DocumentKind.INVOICE, g, **fields) for g in groups.values()]
    assert [(i.currency, len(i.lines)) for i in invoices] == [("GBP", 2), ("EUR", 1)]


# --- never negative -----------------------------------------------------------------------


def test_a_price_is_never_negative() -> None:
    with pytest.raises(InvalidInputError) as refused:
        price(cdr("-10"), parse_tariff(tariff()))
    assert refused.value.code == "invalid_cdr"
    for bad in (tariff(price_="-0.45"), tariff(vat="-19")):
        with pytest.raises(InvalidInputError) as refused:
            parse_tariff(bad)
        assert refused.value.code == "invalid_tariff"
    with pytest.raises(InvalidInputError) as refused:
        parse_tariff({**tariff(), "min_price": {"excl_vat": "-1"}})
    assert refused.value.code == "invalid_tariff"
    with pytest.raises(InvalidInputError) as refused:
        Billed("EUR", (("Energy", D("-1.29")),), GERMANY)
    assert refused.value.code == "negative_price"


def session(start_wh: str, stop_wh: str, minutes: int = 30) -> Session:
    return Session(
        station_id=uuid.uuid4(),
        evse_id=1,
        transaction_ref="1",
        ocpp_version="1.6",
        started_at=T,
        meter_start_wh=D(start_wh),
        stopped_at=T + timedelta(minutes=minutes),
        meter_stop_wh=D(stop_wh),
        status=SessionStatus.COMPLETED,
        payment_route=PaymentRoute.WALK_IN,
    )


def test_a_cdr_is_never_built_from_negative_energy() -> None:
    """The −1.29 € of the issue: a register that ran backwards priced as a negative amount."""
    with pytest.raises(ChargeledgerError) as refused:
        session_cdr(session("2000000", "1990000"), [], [], parse_tariff(tariff()), "UTC")
    assert refused.value.code == "negative_energy"


def test_a_session_that_stopped_as_it_started_has_one_period() -> None:
    """The sweep closes a session that never sent a sample at its start: released with the
    stop reading, it is one period of no time holding the energy (and a FLAT fee applies)."""
    flat = parse_tariff(
        {
            "id": "F",
            "currency": "EUR",
            "elements": [
                {
                    "price_components": [
                        {"type": "ENERGY", "price": "0.49", "step_size": 1},
                        {"type": "FLAT", "price": "0.35", "step_size": 1},
                    ]
                }
            ],
        }
    )
    built = session_cdr(session("5000000", "5000080", minutes=0), [], [], flat, "UTC")
    [period] = built.charging_periods
    assert period.volume(DimensionType.ENERGY) == D("0.08")
    assert period.volume(DimensionType.TIME) == 0
    assert price(built, flat).total_cost.excl_vat == D("0.3892")


# --- one check for readings ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "stop", "reasons"),
    [
        ("1000000", "1008000", ()),
        ("-5", "1008000", ("negative_meter_reading", "energy_above_max_power")),
        ("0", "1008000", ("zero_start_lifetime_stop",)),
        ("1000000", "999999999999", ("energy_above_max_power",)),
        ("1000000", "999000", ("negative_energy",)),
        ("1000000", "1011650", ()),  # 22 kW × 0.5 h × 1.05 + 100 Wh: the limit itself
        ("1000000", "1011651", ("energy_above_max_power",)),
    ],
)
def test_one_check_for_station_and_corrected_readings(
    start: str, stop: str, reasons: tuple[str, ...]
) -> None:
    found = reading_issues(
        meter_start_wh=D(start),
        meter_stop_wh=D(stop),
        started_at=T,
        stopped_at=T + timedelta(minutes=30),
        max_power_kw=D(22),
    )
    assert found == tuple(QuarantineReason(r) for r in reasons)
