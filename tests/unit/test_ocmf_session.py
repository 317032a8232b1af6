"""Whether signed records belong to the session we bill (``domain.ocmf_session``): meter,
pagination, times and energy, on the S.A.F.E. ebee_01 transaction (T28 begin, T29 end,
2021-08-25 08:01:04Z and 08:01:09Z, 7753 Wh both)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from chargeledger.domain.ocmf import OcmfRecord, parse_ocmf
from chargeledger.domain.ocmf_session import session_issues
from tests.unit.ocmf_samples import record_text, row

BEGIN, END = (parse_ocmf(record_text(row(f"safe:xml/test_ocmf_ebee_01.xml#{n}"))) for n in (0, 1))
STARTED = datetime(2021, 8, 25, 8, 0, 0, tzinfo=UTC)
STOPPED = datetime(2021, 8, 25, 8, 2, 0, tzinfo=UTC)


def codes(
    *records: OcmfRecord, serial: str | None = "000033022620", stop_wh: int = 7753
) -> set[str]:
    _, issues = session_issues(
        records,
        started_at=STARTED,
        stopped_at=STOPPED,
        meter_start_wh=Decimal(7753),
        meter_stop_wh=Decimal(stop_wh),
        station_meter_serial=serial,
    )
    return {issue.code for issue in issues}


def test_the_matching_transaction_only_flags_its_informative_begin_time() -> None:
    assert codes(BEGIN, END) == {"time_not_synchronised"}  # the begin's TM status is I


def test_another_meter_a_gap_and_a_repeat_are_named() -> None:
    assert "meter_serial_mismatch" in codes(BEGIN, END, serial="OTHER")
    later = parse_ocmf(END.raw.replace('"PG":"T29"', '"PG":"T31"'))
    assert "pagination_gap" in codes(BEGIN, later)
    changed = parse_ocmf(END.raw.replace('"RV":7753', '"RV":7754'))
    assert "pagination_repeated" in codes(BEGIN, END, changed)


def test_times_outside_the_transaction_and_energy_beyond_the_resolution() -> None:
    next_day = parse_ocmf(END.raw.replace("2021-08-25T10:01:09", "2021-08-26T10:01:09"))
    assert "time_outside_session" in codes(BEGIN, next_day)
    assert "signed_energy_mismatch" in codes(BEGIN, END, stop_wh=7755)
    assert "signed_energy_mismatch" not in codes(BEGIN, END, stop_wh=7754)  # 1 Wh: tolerance
