"""The sessions list's JSON is made from the sessions' fields without building a model per
row (issue 17): it must be the bytes ``SessionPageOut`` (the schema the OpenAPI document
publishes) would have written, for every kind of session and page."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from chargeledger.api.schemas.session_pages import (
    SessionPageOut,
    decode_cursor,
    encode_cursor,
    page_json,
)
from chargeledger.domain.charging import QuarantineReason, Resolution, Session, SessionStatus
from chargeledger.domain.payment_routes import PaymentRoute
from chargeledger.services.paging import Page

T0 = datetime(2026, 11, 2, 8, 0, 0, 123456, tzinfo=UTC)


def sessions() -> list[Session]:
    open_one = Session(
        station_id=uuid.uuid4(),
        evse_id=2,
        connector_id=3,
        transaction_ref="17",
        ocpp_version="1.6",
        started_at=T0,
        meter_start_wh=Decimal("1000.000"),
        payment_route=PaymentRoute.INVOICE,
    )
    completed = Session(
        station_id=uuid.uuid4(),
        evse_id=1,
        transaction_ref="tx-ä",
        ocpp_version="2.0.1",
        started_at=T0 - timedelta(hours=1),
        meter_start_wh=Decimal(0),
        id_tag='04E91C5A"\\',
        account_id=uuid.uuid4(),
        status=SessionStatus.COMPLETED,
        stopped_at=T0 - timedelta(minutes=1),
        meter_stop_wh=Decimal("23456.789"),
        stop_reason="Local",
        last_sample_at=T0 - timedelta(minutes=2),
        charging_seconds=3000,
        idle_seconds=540,
        payment_route=PaymentRoute.INVOICE,
    )
    corrected = Session(
        station_id=uuid.uuid4(),
        evse_id=1,
        transaction_ref="9",
        ocpp_version="1.6",
        started_at=T0 - timedelta(days=3),
        meter_start_wh=Decimal("5.000"),
        status=SessionStatus.COMPLETED,
        stopped_at=T0 - timedelta(days=2),
        meter_stop_wh=Decimal("1E+3"),
        quarantine_reasons=tuple(QuarantineReason)[:2],
        resolution=Resolution(
            by="user:ops",
            at=T0,
            note="meter swapped",
            corrected_meter_start_wh=Decimal("10.5"),
            corrected_meter_stop_wh=Decimal("900"),
        ),
        payment_route=PaymentRoute.INVOICE,
    )
    return [open_one, completed, corrected]


@pytest.mark.parametrize("by_cursor", [False, True])
@pytest.mark.parametrize("next_offset", [None, 3])
@pytest.mark.parametrize("count", [0, 1, 3])
def test_page_json_is_what_the_model_would_write(
    count: int, next_offset: int | None, by_cursor: bool
) -> None:
    page = Page(items=sessions()[:count], next_offset=next_offset)
    expected = SessionPageOut.of(page, by_cursor=by_cursor).model_dump_json().encode()
    assert page_json(page, by_cursor=by_cursor) == expected


def test_the_cursor_names_the_last_session() -> None:
    last = sessions()[1]
    cursor = decode_cursor(encode_cursor(last))
    assert (cursor.started_at, cursor.id) == (last.started_at, last.id)
