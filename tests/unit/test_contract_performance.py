"""Contract performance per month (issue 14): figures computed by hand from the books' values,
the contract lines recognised by the descriptions ``domain.contract_lines`` writes, and the
table every file format is written from."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from chargeledger.config.finance import energy_price
from chargeledger.domain.billing import (
    COMPONENTS,
    Charge,
    ComponentAmount,
    VatCategory,
    VatTreatment,
)
from chargeledger.domain.contract_lines import PeriodUse, VatGroup, contract_lines
from chargeledger.domain.contract_performance import (
    MAX_MONTHS,
    EnergyPrice,
    MonthFigures,
    month_performance,
    months_between,
    parse_month,
    performance_report,
    performance_table,
)
from chargeledger.domain.contract_terms import Terms, TierBand, TierModel, VolumeTiers
from chargeledger.errors import ConfigurationError, InvalidInputError
from chargeledger.money import Currency, Money

EUR = Currency.of("EUR")
JANUARY = date(2026, 1, 1)


def figures(**changes: object) -> MonthFigures:
    """January: 2 sessions, 160 kWh, listed 40.00 and charged 36.00 (10 % off), a 64.00
    shortfall line on a 100.00 commitment."""
    values: dict[str, object] = {
        "month": JANUARY,
        "sessions": 2,
        "energy_kwh": Decimal("160"),
        "charged_net": Decimal("36.00"),
        "list_net": Decimal("40.00"),
        "contract_lines": (
            ("Minimum commitment 100.00 EUR, contract FL-1: shortfall", Decimal("64.00")),
        ),
        "commitment": Decimal("100.00"),
    }
    values.update(changes)
    return MonthFigures(**values)  # type: ignore[arg-type]


def test_a_month_with_a_missed_commitment_and_an_energy_price() -> None:
    row = month_performance(figures(), EUR, EnergyPrice(Decimal("0.12")))
    assert row.label == "2026-01"
    assert row.revenue_net == Decimal("100.00")  # 36.00 charged + 64.00 shortfall
    assert row.discount_given == Decimal("4.00")  # 40.00 listed − 36.00 charged
    assert row.bought == Decimal("36.00")  # sessions, no tier line
    assert row.attainment_percent == Decimal("36.0")  # 36.00 / 100.00
    assert row.shortfall_billed == Decimal("64.00")
    assert row.energy_cost == Decimal("19.20")  # 160 kWh × 0.12
    assert row.margin == Decimal("80.80")  # 100.00 − 19.20 − 0 revenue share


def test_tiers_count_towards_the_commitment_fees_do_not() -> None:
    lines = (
        ("Volume tiers (marginal), contract FL-1: 1,500 kWh in the period", Decimal("-40.00")),
        ("Fleet service (1 × 25.00 EUR)", Decimal("25.00")),
    )
    row = month_performance(
        figures(charged_net=Decimal("600.00"), list_net=Decimal("600.00"), contract_lines=lines),
        EUR,
        None,
    )
    assert row.contract_lines_net == Decimal("-15.00")  # −40.00 + 25.00
    assert row.revenue_net == Decimal("585.00")  # 600.00 − 15.00
    assert row.bought == Decimal("560.00")  # 600.00 − 40.00 (the fee is not bought energy)
    assert row.attainment_percent == Decimal("560.0")  # 560.00 / 100.00
    assert row.shortfall_billed == Decimal("0")
    assert row.discount_given == Decimal("0.00")
    assert (row.energy_cost, row.margin) == (None, None)  # no energy price: no margin


def test_attainment_rounds_half_up_to_a_tenth() -> None:
    # 33.35 / 200.00 = 16.675 % → 16.7 %; 1.00 / 3.00 = 33.333… % → 33.3 %
    assert month_performance(
        figures(charged_net=Decimal("33.35"), commitment=Decimal("200.00"), contract_lines=()),
        EUR,
        None,
    ).attainment_percent == Decimal("16.7")
    assert month_performance(
        figures(charged_net=Decimal("1.00"), commitment=Decimal("3.00"), contract_lines=()),
        EUR,
        None,
    ).attainment_percent == Decimal("33.3")
    assert month_performance(figures(commitment=None), EUR, None).attainment_percent is None


def test_a_site_hosts_revenue_share_comes_off_the_margin() -> None:
    month = figures(contract_lines=(), commitment=None, revenue_share=Decimal("5.40"))
    row = month_performance(month, EUR, EnergyPrice(Decimal("0.1234")))
    # 160 × 0.1234 = 19.744 → 19.74; 36.00 − 19.74 − 5.40 = 10.86
    assert (row.energy_cost, row.margin) == (Decimal("19.74"), Decimal("10.86"))
    assert row.revenue_share_paid == Decimal("5.40")


def test_an_energy_price_in_another_currency_shows_no_margin() -> None:
    report = performance_report(
        "id", "FL-1", EUR, [figures()], EnergyPrice(Decimal("0.12"), Currency.of("CHF"))
    )
    assert report.energy_price is None
    assert report.rows[0].margin is None
    keys = [c.key for c in performance_table(report).columns]
    assert "margin" not in keys
    assert "energy_cost" not in keys


def test_the_total_sums_the_months_and_attains_against_their_commitments() -> None:
    january = figures()
    february = figures(
        month=date(2026, 2, 1),
        sessions=0,
        energy_kwh=Decimal(0),
        charged_net=Decimal(0),
        list_net=Decimal(0),
        contract_lines=(
            ("Minimum commitment 100.00 EUR, contract FL-1: shortfall", Decimal("100.00")),
        ),
    )
    march = figures(month=date(2026, 3, 1), commitment=None, contract_lines=())
    report = performance_report(
        "id", "FL-1", EUR, [january, february, march], EnergyPrice(Decimal("0.1"))
    )
    total = report.total
    assert total.sessions == 4
    assert total.energy_kwh == Decimal("320")
    assert total.revenue_net == Decimal("236.00")  # 100.00 + 100.00 + 36.00
    assert total.commitment == Decimal("200.00")  # January and February
    assert total.attainment_percent == Decimal("18.0")  # (36.00 + 0) / 200.00
    assert total.shortfall_billed == Decimal("164.00")  # 64.00 + 100.00
    assert total.energy_cost == Decimal("32.00")  # 16.00 + 0.00 + 16.00
    assert total.margin == Decimal("204.00")  # 236.00 − 32.00


def test_the_table_keeps_money_with_its_currency_and_the_total_apart() -> None:
    report = performance_report("id-1", "FL-1", EUR, [figures()], EnergyPrice(Decimal("0.12")))
    table = performance_table(report)
    assert table.name == "performance"
    assert table.parameters[:4] == (
        ("contract", "FL-1"),
        ("contract_id", "id-1"),
        ("from", "2026-01"),
        ("to", "2026-01"),
    )
    (record,) = table.records(table.rows)
    assert record["revenue_net"] == Money(Decimal("100.00"), EUR)
    assert record["attainment_percent"] == Decimal("36.0")
    assert record["margin"] == Money(Decimal("80.80"), EUR)
    assert table.totals[0][0] == "total"


def test_months_parse_and_are_bounded() -> None:
    assert parse_month("2026-02", "from") == date(2026, 2, 1)
    for bad in ("2026-13", "2026-1", "26-01", "2026-00"):
        with pytest.raises(InvalidInputError) as caught:
            parse_month(bad, "from")
        assert (caught.value.code, caught.value.field) == ("invalid_month", "from")
    assert months_between(date(2025, 11, 1), date(2026, 2, 1)) == (
        date(2025, 11, 1),
        date(2025, 12, 1),
        date(2026, 1, 1),
        date(2026, 2, 1),
    )
    with pytest.raises(InvalidInputError) as caught:
        months_between(date(2026, 2, 1), date(2026, 1, 1))
    assert caught.value.code == "invalid_period"
    assert len(months_between(date(2024, 1, 1), date(2026, 12, 1))) == MAX_MONTHS
    with pytest.raises(InvalidInputError) as caught:
        months_between(date(2024, 1, 1), date(2027, 1, 1))
    assert caught.value.code == "period_too_long"


def test_a_negative_energy_price_is_refused() -> None:
    with pytest.raises(InvalidInputError):
        EnergyPrice(Decimal("-0.10"))


def _charge(kwh: str, energy: str) -> Charge:
    return Charge(
        session_id=uuid.uuid4(),
        account_id=uuid.uuid4(),
        ad_hoc=False,
        site_id=uuid.uuid4(),
        site_name="Depot",
        station_id=uuid.uuid4(),
        station_name="CP-1",
        evse_id=1,
        country="DE",
        time_zone="Europe/Berlin",
        currency=EUR,
        started_at=datetime(2026, 1, 5, 10, tzinfo=UTC),
        stopped_at=datetime(2026, 1, 5, 11, tzinfo=UTC),
        energy_kwh=Decimal(kwh),
        charging_hours=Decimal(1),
        idle_hours=Decimal(0),
        components=tuple(
            ComponentAmount(n, Decimal(energy) if n == "Energy" else Decimal(0)) for n in COMPONENTS
        ),
        vat=VatTreatment(VatCategory.STANDARD, Decimal(19)),
        tariff_id=None,
    )


def test_the_lines_contract_lines_writes_are_recognised() -> None:
    """The descriptions are the link between an invoice's lines and this report: the lines
    ``contract_lines`` makes are read back as the tier adjustment and the shortfall."""
    tiers = VolumeTiers(
        TierModel.RETROACTIVE,
        (TierBand(Decimal(0), Decimal("0.40")), TierBand(Decimal(100), Decimal("0.30"))),
    )
    terms = Terms(tiers=tiers, monthly_commitment=Decimal("100.00"))
    group = VatGroup(VatCategory.STANDARD, Decimal(19), "DE")
    use = PeriodUse([_charge("150", "60.00")], {}, Decimal("100.00"), group)
    lines = contract_lines(terms, "FL-1", use, 1, EUR)
    # 150 kWh × 0.30 = 45.00 against 60.00 charged: −15.00; bought 45.00: shortfall 55.00
    assert [line.net for line in lines] == [Decimal("-15.00"), Decimal("55.00")]
    month = figures(
        charged_net=Decimal("60.00"),
        list_net=Decimal("60.00"),
        contract_lines=tuple((line.description, line.net) for line in lines),
    )
    row = month_performance(month, EUR, None)
    assert (row.bought, row.shortfall_billed) == (Decimal("45.00"), Decimal("55.00"))
    assert row.attainment_percent == Decimal("45.0")
    assert row.revenue_net == Decimal("100.00")  # the commitment, exactly


def test_the_energy_cost_setting() -> None:
    """``CHARGELEDGER_ENERGY_COST_PER_KWH``: unset, no margin; a price, with or without its
    currency; anything else stops the start (``invalid_setting``)."""
    assert energy_price({}) is None
    assert energy_price({"CHARGELEDGER_ENERGY_COST_PER_KWH": " "}) is None
    assert energy_price({"CHARGELEDGER_ENERGY_COST_PER_KWH": "0.12"}) == EnergyPrice(
        Decimal("0.12")
    )
    assert energy_price({"CHARGELEDGER_ENERGY_COST_PER_KWH": "0.1234 EUR"}) == EnergyPrice(
        Decimal("0.1234"), EUR
    )
    for bad in ("cheap", "-0.10", "0.12345", "0.12 XYZ", "NaN"):
        with pytest.raises(ConfigurationError) as caught:
            energy_price({"CHARGELEDGER_ENERGY_COST_PER_KWH": bad})
        assert caught.value.code == "invalid_setting"
