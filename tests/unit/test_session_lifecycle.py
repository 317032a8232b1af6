"""The session's state machine (``domain.session_lifecycle``): every allowed move and every
refused one, and the payment route decided at the start (``domain.payment_routes``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from chargeledger.domain import session_lifecycle as lifecycle
from chargeledger.domain.accounts import Account, AccountKind, BillingMode, Token, TokenType
from chargeledger.domain.charging import (
    ChargingState,
    Measurand,
    MeterSample,
    QuarantineReason,
    ReadingContext,
    Session,
    SessionStatus,
    StateChange,
)
from chargeledger.domain.geo import Address
from chargeledger.domain.payment_routes import PaymentRoute, decide_payment_route
from chargeledger.domain.payments import PaymentMethodKind
from chargeledger.domain.session_lifecycle import (
    NO_STOP_REASON,
    Payer,
    SessionTransitionError,
    Verdict,
)
from chargeledger.domain.station_link import SignedMeterValue
from chargeledger.errors import InvalidInputError
from chargeledger.money import Currency

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WALK_IN = Payer(None, PaymentRoute.WALK_IN)
POWER = Decimal(22)
CLEAN = Verdict(1800, 0, ())
SUSPECT = Verdict(1800, 0, (QuarantineReason.ENERGY_ABOVE_MAX_POWER,))


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def register(
    minutes: float, wh: int, context: ReadingContext = ReadingContext.SAMPLE_PERIODIC
) -> MeterSample:
    return MeterSample(at(minutes), Measurand.ENERGY_IMPORT_REGISTER, Decimal(wh), "Wh", context)


def started(payer: Payer = WALK_IN, id_tag: str | None = "04AA") -> Session:
    return lifecycle.start(
        station_id=uuid.uuid4(),
        evse_id=1,
        connector_id=1,
        transaction_ref="1",
        ocpp_version="1.6",
        id_tag=id_tag,
        payer=payer,
        started_at=T0,
        meter_start_wh=Decimal(1000),
        tariff_id=None,
        now=T0,
    )


def stopped(session: Session | None = None, wh: int = 11_000) -> Session:
    return lifecycle.stop(
        session or started(),
        stopped_at=at(30),
        meter_stop_wh=Decimal(wh),
        reason="Local",
        inferred=False,
    )


def completed() -> Session:
    return lifecycle.judge(stopped(), CLEAN)


def quarantined() -> Session:
    return lifecycle.judge(stopped(), SUSPECT)


def swept(reasons: Verdict = CLEAN) -> Session:
    closed = lifecycle.close_unstopped(started(), [register(20, 5000)], at(60 * 25))
    return lifecycle.judge(closed, reasons)


def released() -> Session:
    return lifecycle.release(
        quarantined(),
        by="ops",
        note="checked the meter",
        corrected_meter_start_wh=None,
        corrected_meter_stop_wh=None,
        now=at(90),
    )


STATES: dict[str, Callable[[], Session]] = {
    "active": started,
    "completed": completed,
    "quarantined": quarantined,
    "swept": swept,
    "released": released,
}


# --- start ---------------------------------------------------------------------------------


def test_start_opens_an_active_session_with_its_payer_frozen() -> None:
    payer = Payer(uuid.uuid4(), PaymentRoute.APP_CARD)
    session = started(payer)
    assert session.status is SessionStatus.ACTIVE
    assert (session.account_id, session.payment_route) == (payer.account_id, payer.route)
    assert (session.last_sample_at, session.created_at, session.updated_at) == (T0, T0, T0)


def test_a_stop_never_started_is_kept_quarantined() -> None:
    session = lifecycle.start_unknown(
        station_id=uuid.uuid4(),
        transaction_ref="77",
        ocpp_version="1.6",
        id_tag=None,
        payer=WALK_IN,
        stopped_at=at(40),
        meter_stop_wh=Decimal(9000),
        reason="Local",
        samples=[register(30, 8000), register(10, 4000)],
        now=at(41),
    )
    assert session.status is SessionStatus.QUARANTINED
    assert session.quarantine_reasons == (QuarantineReason.UNKNOWN_TRANSACTION,)
    assert (session.started_at, session.meter_start_wh) == (at(10), Decimal(4000))
    assert (session.evse_id, session.last_sample_at) == (0, at(40))


def test_a_stop_never_started_without_samples_starts_at_its_stop() -> None:
    session = lifecycle.start_unknown(
        station_id=uuid.uuid4(),
        transaction_ref="78",
        ocpp_version="1.6",
        id_tag=None,
        payer=WALK_IN,
        stopped_at=at(40),
        meter_stop_wh=Decimal(9000),
        reason=None,
        samples=[],
        now=at(41),
    )
    assert (session.started_at, session.meter_start_wh) == (at(40), Decimal(9000))


# --- sample --------------------------------------------------------------------------------


@pytest.mark.parametrize("state", list(STATES))
def test_samples_are_taken_in_every_state(state: str) -> None:
    session = STATES[state]()
    sampled = lifecycle.sample(session, [register(500, 20_000)], at(501))
    assert sampled.status is session.status
    assert (sampled.last_sample_at, sampled.updated_at) == (at(500), at(501))


def test_an_older_sample_does_not_move_the_latest_sample_time_back() -> None:
    session = lifecycle.sample(started(), [register(20, 3000)], at(21))
    again = lifecycle.sample(session, [register(5, 2000)], at(22))
    assert (again.last_sample_at, again.updated_at) == (at(20), at(22))


# --- stop ----------------------------------------------------------------------------------


def test_stop_closes_a_running_session() -> None:
    session = stopped()
    assert session.status is SessionStatus.COMPLETED
    assert (session.stopped_at, session.meter_stop_wh, session.stop_reason) == (
        at(30),
        Decimal(11_000),
        "Local",
    )
    assert not session.meter_stop_inferred


@pytest.mark.parametrize("state", ["completed", "quarantined", "released"])
def test_a_stopped_session_is_not_stopped_again(state: str) -> None:
    with pytest.raises(SessionTransitionError) as refused:
        stopped(STATES[state]())
    assert refused.value.code == "session_transition_refused"


@pytest.mark.parametrize("verdict", [CLEAN, SUSPECT])
def test_a_swept_session_takes_its_real_stop(verdict: Verdict) -> None:
    session = swept(verdict)
    assert session.status is SessionStatus.QUARANTINED
    late = stopped(session, wh=6000)
    assert late.status is SessionStatus.COMPLETED
    assert QuarantineReason.NO_STOP_RECEIVED not in late.quarantine_reasons
    assert set(late.quarantine_reasons) == set(verdict.reasons)
    assert (late.meter_stop_wh, late.stop_reason, late.meter_stop_inferred) == (
        Decimal(6000),
        "Local",
        False,
    )


def test_the_sweep_closes_a_running_session_from_its_last_reading() -> None:
    session = started()
    session = lifecycle.sample(session, [register(20, 5000)], at(20))
    closed = lifecycle.close_unstopped(session, [register(20, 5000), register(5, 2000)], at(99))
    assert closed.status is SessionStatus.COMPLETED
    assert (closed.stopped_at, closed.meter_stop_wh) == (at(20), Decimal(5000))
    assert (closed.stop_reason, closed.meter_stop_inferred) == (NO_STOP_REASON, True)
    assert closed.quarantine_reasons == (QuarantineReason.NO_STOP_RECEIVED,)
    assert closed.updated_at == at(99)


def test_the_sweep_without_readings_closes_at_the_start() -> None:
    closed = lifecycle.close_unstopped(started(), [], at(99))
    assert (closed.stopped_at, closed.meter_stop_wh) == (T0, Decimal(1000))


@pytest.mark.parametrize("state", ["completed", "quarantined", "swept", "released"])
def test_the_sweep_refuses_a_stopped_session(state: str) -> None:
    with pytest.raises(SessionTransitionError):
        lifecycle.close_unstopped(STATES[state](), [], at(99))


def test_an_inferred_stop_is_taken_again_from_later_samples() -> None:
    ended = lifecycle.stop(
        started(), stopped_at=at(30), meter_stop_wh=Decimal(4000), reason=None, inferred=True
    )
    again = lifecycle.restop(ended, [register(10, 3000), register(25, 6000), register(40, 9000)])
    assert (again.stopped_at, again.meter_stop_wh) == (at(30), Decimal(6000))


def test_a_swept_stop_moves_to_the_last_reading() -> None:
    session = swept()
    again = lifecycle.restop(session, [register(20, 5000), register(600, 7000)])
    assert (again.stopped_at, again.meter_stop_wh) == (at(600), Decimal(7000))


@pytest.mark.parametrize("state", ["active", "completed", "quarantined"])
def test_only_an_inferred_stop_is_taken_again(state: str) -> None:
    with pytest.raises(SessionTransitionError):
        lifecycle.restop(STATES[state](), [register(20, 5000)])


# --- judge (quarantine) --------------------------------------------------------------------


def test_a_clean_stop_is_completed_and_a_suspect_one_quarantined() -> None:
    clean, held = completed(), quarantined()
    assert (clean.status, clean.quarantine_reasons) == (SessionStatus.COMPLETED, ())
    assert (clean.charging_seconds, clean.idle_seconds) == (1800, 0)
    assert held.status is SessionStatus.QUARANTINED
    assert held.quarantine_reasons == SUSPECT.reasons


def test_reasons_only_accumulate_and_a_quarantined_session_stays_held() -> None:
    again = lifecycle.judge(quarantined(), Verdict(1700, 100, (QuarantineReason.NEGATIVE_ENERGY,)))
    assert again.status is SessionStatus.QUARANTINED
    assert again.quarantine_reasons == (
        QuarantineReason.ENERGY_ABOVE_MAX_POWER,
        QuarantineReason.NEGATIVE_ENERGY,
    )
    assert (again.charging_seconds, again.idle_seconds) == (1700, 100)


def test_a_released_session_is_not_held_again_by_late_samples() -> None:
    again = lifecycle.judge(released(), Verdict(1800, 0, (QuarantineReason.NEGATIVE_ENERGY,)))
    assert again.status is SessionStatus.COMPLETED
    assert QuarantineReason.NEGATIVE_ENERGY in again.quarantine_reasons


def test_a_running_session_is_not_judged() -> None:
    with pytest.raises(SessionTransitionError):
        lifecycle.judge(started(), CLEAN)
    with pytest.raises(SessionTransitionError):
        lifecycle.verdict(started(), changes=[], samples=[], max_power_kw=POWER)


def test_the_verdict_splits_time_and_runs_the_meter_checks() -> None:
    session = stopped(wh=900)  # below the start: negative energy
    changes = [StateChange(at(20), ChargingState.IDLE)]
    found = lifecycle.verdict(session, changes=changes, samples=[], max_power_kw=POWER)
    assert (found.charging_seconds, found.idle_seconds) == (1200, 600)
    assert QuarantineReason.NEGATIVE_ENERGY in found.reasons


# --- release -------------------------------------------------------------------------------


def test_release_completes_a_quarantined_session_with_the_operators_resolution() -> None:
    session = lifecycle.release(
        quarantined(),
        by="ops",
        note="  replaced meter  ",
        corrected_meter_start_wh=None,
        corrected_meter_stop_wh=Decimal(9000),
        now=at(90),
    )
    assert session.status is SessionStatus.COMPLETED
    assert session.resolution is not None
    assert (session.resolution.by, session.resolution.at, session.updated_at) == (
        "ops",
        at(90),
        at(90),
    )
    assert session.billed_meter_stop_wh == Decimal(9000)
    assert session.meter_stop_wh == Decimal(11_000)  # the station's reading stays as evidence


@pytest.mark.parametrize("state", ["active", "completed", "released"])
def test_only_a_quarantined_session_is_released(state: str) -> None:
    with pytest.raises(SessionTransitionError) as refused:
        lifecycle.release(
            STATES[state](),
            by="ops",
            note="why",
            corrected_meter_start_wh=None,
            corrected_meter_stop_wh=None,
            now=at(90),
        )
    assert refused.value.code == "not_quarantined"


def test_the_state_is_checked_before_the_note() -> None:
    with pytest.raises(SessionTransitionError):
        lifecycle.release(
            completed(),
            by="ops",
            note=" ",
            corrected_meter_start_wh=None,
            corrected_meter_stop_wh=None,
            now=at(90),
        )


@pytest.mark.parametrize(
    ("note", "start", "code"),
    [(" ", None, "missing_field"), ("ok", Decimal("NaN"), "invalid_meter_reading")],
)
def test_a_release_says_why_and_corrects_with_readings_a_meter_can_show(
    note: str, start: Decimal | None, code: str
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        lifecycle.release(
            quarantined(),
            by="ops",
            note=note,
            corrected_meter_start_wh=start,
            corrected_meter_stop_wh=None,
            now=at(90),
        )
    assert refused.value.code == code


# --- identify, correct the start, assign a tariff -----------------------------------------


def test_a_session_started_without_a_token_is_identified_once() -> None:
    payer = Payer(uuid.uuid4(), PaymentRoute.WALLET)
    session = lifecycle.identify(started(id_tag=None), "04BB", payer)
    assert (session.id_tag, session.account_id, session.payment_route) == (
        "04BB",
        payer.account_id,
        PaymentRoute.WALLET,
    )
    with pytest.raises(SessionTransitionError):
        lifecycle.identify(session, "04CC", WALK_IN)


def test_a_late_started_event_corrects_the_start() -> None:
    session = replace(started(), evse_id=0)
    corrected = lifecycle.correct_start(session, at(-5), Decimal(900), 2)
    assert (corrected.started_at, corrected.meter_start_wh, corrected.evse_id) == (
        at(-5),
        Decimal(900),
        2,
    )
    kept = lifecycle.correct_start(corrected, at(5), Decimal(950), 3)
    assert kept == corrected


def test_a_tariff_is_assigned_only_to_a_session_without_one() -> None:
    tariff_id = uuid.uuid4()
    session = lifecycle.assign_tariff(started(), tariff_id)
    assert session.tariff_id == tariff_id
    with pytest.raises(SessionTransitionError):
        lifecycle.assign_tariff(session, uuid.uuid4())


# --- the payment route ---------------------------------------------------------------------


def account(mode: BillingMode) -> Account:
    return Account(
        kind=AccountKind.INDIVIDUAL,
        name="Driver",
        email="driver@example.org",
        billing_address=Address("Ring 3", "10115", "Berlin", "DE"),
        currency=Currency.of("EUR"),
        billing_mode=mode,
    )


POSTPAID, PREPAID = account(BillingMode.POSTPAID), account(BillingMode.PREPAID)


def token(kind: TokenType, owner: Account = POSTPAID) -> Token:
    return Token(uid="04AA", type=kind, account_id=owner.id)


@pytest.mark.parametrize(
    ("id_tag", "owner", "presented", "has_card", "route"),
    [
        ("QR0123456789ABCDEF", None, None, False, PaymentRoute.CHECKOUT_CARD),
        ("qr0123456789abcdef", None, None, False, PaymentRoute.WALK_IN),
        ("04UNKNOWN", None, None, False, PaymentRoute.WALK_IN),
        (None, None, None, False, PaymentRoute.WALK_IN),
        ("04AA", PREPAID, token(TokenType.APP, PREPAID), True, PaymentRoute.WALLET),
        ("04AA", PREPAID, token(TokenType.RFID, PREPAID), False, PaymentRoute.WALLET),
        ("04AA", POSTPAID, token(TokenType.APP), True, PaymentRoute.APP_CARD),
        ("04AA", POSTPAID, token(TokenType.APP), False, PaymentRoute.INVOICE),
        ("04AA", POSTPAID, token(TokenType.RFID), True, PaymentRoute.INVOICE),
        ("04AA", POSTPAID, token(TokenType.AD_HOC), True, PaymentRoute.INVOICE),
    ],
)
def test_the_route_is_decided_from_the_state_at_the_start(
    id_tag: str | None,
    owner: Account | None,
    presented: Token | None,
    has_card: bool,
    route: PaymentRoute,
) -> None:
    assert decide_payment_route(id_tag, owner, presented, has_card) is route


@pytest.mark.parametrize(
    ("route", "method", "paid_at_session", "to_follow", "card_held"),
    [
        (PaymentRoute.CHECKOUT_CARD, PaymentMethodKind.CARD, True, PaymentMethodKind.CARD, True),
        (PaymentRoute.WALK_IN, PaymentMethodKind.CARD, True, None, False),
        (PaymentRoute.APP_CARD, PaymentMethodKind.APP, True, PaymentMethodKind.APP, True),
        (PaymentRoute.WALLET, PaymentMethodKind.WALLET, True, PaymentMethodKind.WALLET, False),
        (PaymentRoute.INVOICE, PaymentMethodKind.RFID, False, None, False),
    ],
)
def test_what_each_route_means_for_the_payment_work(
    route: PaymentRoute,
    method: PaymentMethodKind,
    paid_at_session: bool,
    to_follow: PaymentMethodKind | None,
    card_held: bool,
) -> None:
    assert (route.method, route.paid_at_session, route.to_follow, route.card_held) == (
        method,
        paid_at_session,
        to_follow,
        card_held,
    )


def _signed(begin_kwh: str, end_kwh: str, data: str | None = None) -> SignedMeterValue:
    """A signed value holding an OCMF record with a begin and an end reading (the signature
    itself is not needed to see a contradiction)."""
    readings = (
        f'{{"TM":"2026-03-02T09:00:00,000+0000 S","TX":"B","RV":{begin_kwh},'
        f'"RI":"1-b:1.8.0","RU":"kWh","ST":"G"}},'
        f'{{"TM":"2026-03-02T09:30:00,000+0000 S","TX":"E","RV":{end_kwh},'
        f'"RI":"1-b:1.8.0","RU":"kWh","ST":"G"}}'
    )
    record = f'OCMF|{{"FV":"1.0","PG":"T1","MS":"M1","RD":[{readings}]}}|{{"SD":"3006"}}'
    return SignedMeterValue(at(30), ReadingContext.TRANSACTION_END, "OCMF", data or record)


@pytest.mark.parametrize(
    ("end_kwh", "held"),
    [("15.000", False), ("15.001", False), ("14.999", False), ("15.002", True), ("35.0", True)],
)
def test_signed_energy_beyond_the_meters_resolution_quarantines(end_kwh: str, held: bool) -> None:
    """10 kWh billed (1000 -> 11000 Wh) beside a record of 5.000 -> ``end_kwh``: the
    tolerance is the record's resolution (0.001 kWh here), issue 15."""
    found = lifecycle.verdict(
        stopped(),
        changes=[],
        samples=[],
        max_power_kw=POWER,
        signed_values=[_signed("5.000", end_kwh)],
    )
    assert (QuarantineReason.SIGNED_ENERGY_MISMATCH in found.reasons) is held


def test_signed_data_that_proves_no_energy_contradicts_nothing() -> None:
    unreadable = _signed("0", "0", data="not an OCMF record")
    only_begin = _signed("5.000", "35.0").data.replace('"TX":"E"', '"TX":"C"')
    values = [unreadable, replace(unreadable, data=only_begin)]
    found = lifecycle.verdict(
        stopped(), changes=[], samples=[], max_power_kw=POWER, signed_values=values
    )
    assert found.reasons == ()
