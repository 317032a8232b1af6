"""The retry storm (issue 6): every PSP call and every webhook duplicated, reordered, delayed,
a quarter of the calls timing out, and money still moves exactly once.

Dozens of sessions run at the same time through the real payment services on real SQLite and
PostgreSQL: app-card sessions (hold at the start, raise while charging, capture at the stop),
declined and limited cards, sessions that deliver nothing (release), QR walk-ins that start
and QR holds whose session never comes (released by the janitor after ``UNUSED_HOLD``),
wallet sessions with auto top-up, top-ups sent two and three times, and refunds. Stops are
settled several times at once and the janitor runs all along. The PSP is the sandbox behind
:class:`FlakyGateway`; its webhooks go through :class:`WebhookStorm`.

Then the network heals: the janitor runs until nothing is in doubt, the held-back webhooks
arrive, and the books are checked against the PSP, cent by cent (DESIGN §2 exactly once,
append-only money records; §5 double entry).
"""

from __future__ import annotations

import asyncio
import os
import random
import traceback
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest

from chargeledger.adapters.gateways.sandbox import SandboxGateway
from chargeledger.bootstrap import Runtime, build_runtime
from chargeledger.config import Settings
from chargeledger.domain.accounts import Account, AccountKind, BillingMode, Token, TokenType
from chargeledger.domain.catalog import (
    Connector,
    ConnectorFormat,
    ConnectorStandard,
    Evse,
    PowerType,
    Site,
    Station,
)
from chargeledger.domain.charging import Measurand, MeterSample, Session, SessionStatus
from chargeledger.domain.geo import Address
from chargeledger.domain.ledger import (
    EntryKind,
    JournalEntry,
    psp,
    receivable,
    trial_balance,
    wallet,
)
from chargeledger.domain.payments import (
    Payment,
    PaymentPurpose,
    PaymentState,
    PaymentStatus,
    StoredCard,
    WalletSettings,
    fold,
)
from chargeledger.domain.postings import WALK_IN
from chargeledger.domain.station_link import SessionFilter
from chargeledger.domain.tariffs.assignment import TariffScope
from chargeledger.errors import ChargeledgerError
from chargeledger.money import Currency
from chargeledger.services import catalog, customers, tariffs
from chargeledger.services.charging import session_capture as capture
from chargeledger.services.demo_tariffs import flat_with_session_fee
from chargeledger.services.payments.checkout import start_checkout
from chargeledger.services.payments.context import PaymentContext
from chargeledger.services.payments.janitor import UNUSED_HOLD, run_janitor
from chargeledger.services.payments.methods import session_payment, store_card
from chargeledger.services.payments.refunds import refund_payment
from chargeledger.services.payments.session_payments import (
    secure_session,
    settle_session,
    watch_hold,
)
from chargeledger.services.payments.wallets import top_up
from chargeledger.services.payments.webhooks import receive_webhook
from tests.conftest import fast_hasher
from tests.integration.billing_world import SELLER, FixedClock
from tests.integration.flaky_gateway import FaultPlan, FlakyGateway, ProcessCrash, WebhookStorm

T = TypeVar("T")
SEED = int(os.environ.get("CHARGELEDGER_STORM_SEED", "6"))
NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # the operator's clock during the storm
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # station time of the first start
VISA = "4242424242424242"
DECLINED = "4000000000000002"
LIMITED = "4000000000005126"  # holds up to 50.00, raising above is declined
ENERGY_ONLY = {
    "id": "ENERGY-049",
    "currency": "EUR",
    "elements": [
        {"price_components": [{"type": "ENERGY", "price": "0.49", "vat": 19, "step_size": 1}]}
    ],
}


@pytest.fixture
async def storm_runtime(
    database: tuple[str, str | None], tmp_path: Path
) -> AsyncIterator[tuple[Runtime, FixedClock]]:
    """A migrated runtime whose clock the test moves (the janitor's grace periods)."""
    url, schema = database
    settings = Settings.from_env(
        {"CHARGELEDGER_DATA_DIR": str(tmp_path / "data"), "CHARGELEDGER_DATABASE_URL": url}
    )
    clock = FixedClock(NOW)
    runtime = build_runtime(settings, schema=schema, hasher=fast_hasher(), clock=clock)
    await runtime.migrate()
    try:
        yield runtime, clock
    finally:
        await runtime.aclose()


# --- the plan -------------------------------------------------------------------------------


@dataclass
class Case:
    """One thing a customer does during the storm."""

    number: int
    kind: str  # app | qr | qr_unused | wallet | top_up
    payer: str  # which account or card: visa, declined, limited, wallet, auto, walk_in
    energy_wh: int = 0
    energy_only: bool = False  # the station without a session fee: zero energy costs nothing
    settles: int = 1  # how many stop hooks / retries settle the session at once
    refund: str | None = None  # None, "part" or "all"
    top_up: Decimal = Decimal(0)
    sends: int = 1  # a top-up sent this many times with the same payment id
    session_id: uuid.UUID | None = None
    payment_id: uuid.UUID | None = None


def plan(rng: random.Random) -> list[Case]:
    cases: list[Case] = []

    def add(kind: str, payer: str, **fields: Any) -> None:
        cases.append(Case(len(cases) + 1, kind, payer, **fields))

    for _ in range(24):  # app card, approved
        shape = rng.choices(["normal", "over", "zero"], weights=[6, 3, 2])[0]
        energy = {"normal": rng.randint(2, 30), "over": rng.randint(42, 110), "zero": 0}[shape]
        add(
            "app",
            "visa",
            energy_wh=energy * 1000 + rng.randint(0, 999) * (energy > 0),
            energy_only=shape == "zero" or rng.random() < 0.2,
            settles=rng.randint(1, 3),
            refund=rng.choice([None, None, "part", "all"]) if shape != "zero" else None,
        )
    for _ in range(3):
        add("app", "declined", energy_wh=rng.randint(3, 20) * 1000, settles=rng.randint(1, 3))
    for _ in range(3):
        add("app", "limited", energy_wh=rng.randint(40, 100) * 1000, settles=rng.randint(1, 3))
    for _ in range(8):  # QR walk-ins whose session starts
        add(
            "qr",
            "walk_in",
            energy_wh=rng.randint(1, 70) * 1000,
            settles=rng.randint(1, 3),
            refund=rng.choice([None, None, "part"]),
        )
    for _ in range(4):
        add("qr_unused", "walk_in")
    add("qr_unused", "declined")
    for _ in range(6):
        add(
            "wallet",
            rng.choice(["wallet", "auto"]),
            energy_wh=rng.randint(2, 25) * 1000,
            settles=rng.randint(1, 3),
        )
    for _ in range(8):
        add(
            "top_up",
            rng.choice(["wallet", "auto"]),
            top_up=Decimal(rng.randint(10, 60)),
            sends=rng.randint(1, 3),
            refund=rng.choice([None, None, "part"]),
        )
    rng.shuffle(cases)
    return cases


# --- the world ------------------------------------------------------------------------------


@dataclass
class StormWorld:
    runtime: Runtime
    clock: FixedClock
    sandbox: SandboxGateway
    flat: Station
    energy_only: Station
    accounts: dict[str, Account] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    cards: dict[str, StoredCard] = field(default_factory=dict)
    walk_in_tokens: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    refusals: Counter[str] = field(default_factory=Counter)
    janitor_passes: int = 0
    crashes: int = 0

    @property
    def ctx(self) -> PaymentContext:
        return self.runtime.payments

    async def guarded(self, what: str, work: Awaitable[T]) -> T | None:
        """Nothing a service does under the storm may blow up; collect what does."""
        try:
            return await work
        except ProcessCrash:
            self.crashes += 1  # the work of a process that died: the janitor takes it over
            return None
        except Exception as exc:
            where = [
                f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}"
                for f in traceback.extract_tb(exc.__traceback__)
                if "chargeledger" in f.filename
            ]
            self.errors.append(f"{what}: {type(exc).__name__}: {exc} at {where}")
            return None


async def build_world(runtime: Runtime, clock: FixedClock, evses: int) -> StormWorld:
    sandbox = runtime.sandbox
    assert sandbox is not None
    runtime.payments.seller = SELLER
    runtime.payments.time_zone = "Europe/Berlin"
    runtime.payments.bus = None  # no station is connected: checkouts are not remote-started
    async with runtime.uow() as uow:
        site = await catalog.create_site(
            uow,
            clock,
            Site(
                name="Storm depot",
                address=Address("Ring 1", "10115", "Berlin", "DE"),
                latitude=Decimal("52.5"),
                longitude=Decimal("13.4"),
                time_zone="Europe/Berlin",
            ),
        )
        stations = []
        for cpid, document in (
            ("STORM-FLAT", flat_with_session_fee(Decimal(19))),
            ("STORM-ENERGY", ENERGY_ONLY),
        ):
            station = await catalog.create_station(
                uow,
                clock,
                runtime.station_secrets,
                {
                    "site_id": site.id,
                    "charge_point_id": cpid,
                    "vendor": "Test",
                    "model": "T1",
                    "security_profile": 3,
                },
                None,
            )
            for evse_id in range(1, evses + 1):
                plug = Connector(
                    1,
                    ConnectorStandard.IEC_62196_T2_COMBO,
                    ConnectorFormat.CABLE,
                    PowerType.DC,
                    Decimal(150),
                )
                await catalog.create_evse(uow, clock, Evse(station.id, evse_id, (plug,)))
            stored = await tariffs.import_tariff(uow, clock, document)
            await tariffs.assign_tariff(
                uow,
                clock,
                stored.id,
                TariffScope.STATION,
                str(station.id),
                runtime.settings.vat_rates,
            )
            stations.append(station)
        await uow.commit()
    world = StormWorld(runtime, clock, sandbox, stations[0], stations[1])
    for name, number, mode, token_type in (
        ("visa", VISA, BillingMode.POSTPAID, TokenType.APP),
        ("declined", DECLINED, BillingMode.POSTPAID, TokenType.APP),
        ("limited", LIMITED, BillingMode.POSTPAID, TokenType.APP),
        ("wallet", VISA, BillingMode.PREPAID, TokenType.RFID),
        ("auto", VISA, BillingMode.PREPAID, TokenType.RFID),
    ):
        tag = f"STORM{name.upper()}"[:20]
        async with runtime.uow() as uow:
            account = await customers.create_account(
                uow,
                clock,
                runtime.vat_ids,
                Account(
                    kind=AccountKind.INDIVIDUAL,
                    name=f"Storm {name}",
                    email=f"storm.{name}@example.org",
                    billing_address=Address("Ring 3", "10115", "Berlin", "DE"),
                    currency=Currency.of("EUR"),
                    billing_mode=mode,
                ),
            )
            await customers.create_token(
                uow, clock, Token(uid=tag, type=token_type, account_id=account.id)
            )
            await uow.commit()
        details = await sandbox.tokenise(number, 12, 2030, "123")
        world.cards[name] = await store_card(runtime.payments, account, details.token, None, True)
        world.accounts[name] = account
        world.tags[name] = tag
    async with runtime.uow() as uow:
        settings = WalletSettings(
            world.accounts["auto"].id,
            "EUR",
            minimum_balance=Decimal(0),
            auto_top_up=True,
            top_up_below=Decimal(40),
            top_up_amount=Decimal(30),
        )
        await uow.payments.save_wallet(settings, clock.now())
        await uow.commit()
    for name, number in (("walk_in", VISA), ("declined", DECLINED)):
        world.walk_in_tokens[name] = (await sandbox.tokenise(number, 12, 2030, "123")).token
    return world


# --- what customers do ----------------------------------------------------------------------


def register(at: datetime, wh: int) -> MeterSample:
    return MeterSample(at, Measurand.ENERGY_IMPORT_REGISTER, Decimal(wh), "Wh")


async def start(world: StormWorld, case: Case, id_tag: str) -> Session:
    station = world.energy_only if case.energy_only else world.flat
    request = capture.StartRequest(
        evse_id=case.number,
        connector_id=1,
        id_tag=id_tag,
        started_at=T0 + timedelta(minutes=case.number),
        meter_start_wh=Decimal(100_000),
    )
    async with world.runtime.uow() as uow:
        session = await capture.start_session(uow, world.clock, station, request)
        await uow.commit()
    case.session_id = session.id
    return session


async def charge_and_stop(
    world: StormWorld, case: Case, session: Session, rng: random.Random
) -> None:
    """Meter values every 15 minutes (each may raise the hold), then the stop, then the stop
    hook settling the session ``case.settles`` times at once, as retries would."""
    ctx, clock = world.ctx, world.clock
    in_flight: list[asyncio.Future[list[None] | None]] = []
    for quarter in (1, 2, 3):
        at = session.started_at + timedelta(minutes=15 * quarter)
        wh = 100_000 + case.energy_wh * quarter // 4
        async with world.runtime.uow() as uow:
            current = await uow.sessions.get(session.id)
            assert current is not None
            await capture.add_meter_values(uow, clock, current, [register(at, wh)])
            await uow.commit()
        hooks = [watch_hold(ctx, session.id) for _ in range(rng.randint(1, 2))]
        raising = asyncio.ensure_future(world.guarded("watch_hold", asyncio.gather(*hooks)))
        if quarter < 3 or rng.random() < 0.5:
            await raising
        else:
            in_flight.append(raising)  # the last raise still under way at the stop
    async with world.runtime.uow() as uow:
        current = await uow.sessions.get(session.id)
        assert current is not None
        await capture.stop_session(
            uow,
            clock,
            current,
            stopped_at=session.started_at + timedelta(hours=1),
            meter_stop_wh=Decimal(100_000 + case.energy_wh),
            reason="Local",
        )
        await uow.commit()
    await settle_often(world, session.id, case.settles, rng)
    await asyncio.gather(*in_flight)


async def settle_often(
    world: StormWorld, session_id: uuid.UUID, times: int, rng: random.Random
) -> None:
    async def one() -> None:
        await asyncio.sleep(rng.uniform(0, 0.01))
        await settle_session(world.ctx, session_id)

    await asyncio.gather(*(world.guarded("settle_session", one()) for _ in range(times)))


async def refund_later(world: StormWorld, case: Case, rng: random.Random) -> None:
    """One refund request; asked again only while it is refused (nothing was sent yet)."""
    if case.refund is None or case.payment_id is None:
        return
    for _ in range(12):
        await asyncio.sleep(rng.uniform(0.01, 0.08))
        async with world.runtime.uow() as uow:
            payment = await uow.payments.get(case.payment_id)
            assert payment is not None
            state = fold(await uow.payments.events(payment.id))
        if not state.captured and state.status is not PaymentStatus.UNKNOWN:
            if state.status in (PaymentStatus.AUTHORISED, PaymentStatus.PENDING):
                continue  # not captured yet
            return  # nothing to give back
        amount = None if case.refund == "all" else max(state.refundable // 3, Decimal("0.50"))
        try:
            await refund_payment(world.ctx, case.payment_id, amount, "storm: goodwill")
            return
        except ChargeledgerError as exc:
            world.refusals[exc.code] += 1


async def run_case(world: StormWorld, case: Case, seed: int) -> None:
    rng = random.Random(f"{seed}:{case.number}")
    await asyncio.sleep(rng.uniform(0, 0.5))
    ctx = world.ctx
    if case.kind == "app":
        session = await start(world, case, world.tags[case.payer])
        starts = [secure_session(ctx, session.id) for _ in range(rng.randint(1, 2))]
        await world.guarded("secure_session", asyncio.gather(*starts))
        case.payment_id = await payment_of(world, session)
        await charge_and_stop(world, case, session, rng)
        await refund_later(world, case, rng)
    elif case.kind in ("qr", "qr_unused"):
        token = world.walk_in_tokens[case.payer]
        station = world.energy_only if case.energy_only else world.flat
        progress = await world.guarded(
            "start_checkout", start_checkout(ctx, station.charge_point_id, case.number, token)
        )
        if progress is None:
            return
        case.payment_id = progress.payment.id
        if case.kind == "qr" and progress.state.status is PaymentStatus.AUTHORISED:
            assert progress.payment.id_tag is not None  # the station is started with it
            session = await start(world, case, progress.payment.id_tag)
            await charge_and_stop(world, case, session, rng)
            await refund_later(world, case, rng)
    elif case.kind == "wallet":
        session = await start(world, case, world.tags[case.payer])
        await charge_and_stop(world, case, session, rng)
    elif case.kind == "top_up":
        case.payment_id = uuid.uuid4()
        account, card = world.accounts[case.payer], world.cards[case.payer]
        sends = [
            world.guarded("top_up", top_up(ctx, account, case.top_up, card, case.payment_id))
            for _ in range(case.sends)
        ]
        await asyncio.gather(*sends)
        await refund_later(world, case, rng)


async def payment_of(world: StormWorld, session: Session) -> uuid.UUID | None:
    async with world.runtime.uow() as uow:
        found = await session_payment(uow, session)
    return None if found is None else found.id


async def janitor_loop(world: StormWorld, stop: asyncio.Event) -> None:
    while not stop.is_set():
        await world.guarded("run_janitor", run_janitor(world.ctx))
        world.janitor_passes += 1
        await asyncio.sleep(0.002)


async def clock_ticks(world: StormWorld, stop: asyncio.Event) -> None:
    """Time passes during the storm: past the janitor's ANSWER_GRACE (a crashed call is
    asked about while sessions still run), never up to UNUSED_HOLD (a checkout's session
    starts right after its hold)."""
    while not stop.is_set() and world.clock.now() < NOW + UNUSED_HOLD - timedelta(minutes=5):
        await asyncio.sleep(0.02)
        world.clock.current += timedelta(seconds=5)


# --- reading the outcome --------------------------------------------------------------------


async def all_payments(world: StormWorld) -> list[tuple[Payment, PaymentState]]:
    async with world.runtime.uow() as uow:
        found = await uow.payments.all()
        events = await uow.payments.events_of([p.id for p in found])
    return [(p, fold(events[p.id])) for p in found]


def in_doubt(payments: list[tuple[Payment, PaymentState]]) -> list[str]:
    return [
        f"{p.id} {p.purpose.value}/{p.method.value}: {s.status.value} {s.open_operations}"
        for p, s in payments
        if s.open_operations or s.status in (PaymentStatus.UNKNOWN, PaymentStatus.PENDING)
    ]


async def heal(world: StormWorld, flaky: FlakyGateway, storm: WebhookStorm) -> int:
    """The network is good again: janitor passes until nothing is in doubt, then the
    held-back webhooks (duplicated, shuffled) and a last pass."""
    flaky.reliable = True
    await storm.settle()
    world.clock.current += UNUSED_HOLD + timedelta(minutes=1)
    passes = 0
    for passes in range(1, 11):  # noqa: B007 - the count is reported
        await world.guarded("run_janitor", run_janitor(world.ctx))
        await storm.settle()
        if not in_doubt(await all_payments(world)):
            break
    storm.release_late()
    await storm.settle()
    await world.guarded("run_janitor", run_janitor(world.ctx))
    await storm.settle()
    await world.runtime.quiesce()
    return passes


@pytest.mark.parametrize("seed", [SEED])
async def test_a_retry_storm_moves_money_exactly_once(
    storm_runtime: tuple[Runtime, FixedClock], seed: int
) -> None:
    runtime, clock = storm_runtime
    rng = random.Random(seed)
    cases = plan(rng)
    world = await build_world(runtime, clock, evses=len(cases))
    sandbox = world.sandbox
    flaky = FlakyGateway(sandbox, random.Random(seed + 1), FaultPlan())
    runtime.payments.gateways = {"sandbox": flaky}

    async def deliver(payload: bytes, headers: Any) -> object:
        return await receive_webhook(runtime.payments, "sandbox", payload, headers)

    storm = WebhookStorm(sandbox, random.Random(seed + 2), deliver)
    storm.attach()

    stop = asyncio.Event()
    background = [
        asyncio.ensure_future(janitor_loop(world, stop)),
        asyncio.ensure_future(clock_ticks(world, stop)),
    ]
    await asyncio.gather(
        *(world.guarded(f"case {case.number}", run_case(world, case, seed)) for case in cases)
    )
    stop.set()
    await asyncio.gather(*background)
    passes = await heal(world, flaky, storm)

    payments = await all_payments(world)
    summary = {
        "backend": runtime.database_backend,
        "seed": seed,
        "cases": Counter(f"{c.kind}/{c.payer}" for c in cases),
        "payments": Counter(f"{p.purpose.value}/{p.method.value}" for p, _ in payments),
        "statuses": Counter(s.status.value for _, s in payments),
        "psp_calls": dict(flaky.calls),
        "faults": dict(flaky.faults),
        "webhooks": {
            "emitted": len(storm.emitted),
            "deliveries": storm.deliveries,
            "lost": storm.lost,
            "rejected": storm.rejected,
        },
        "janitor_passes": world.janitor_passes,
        "heal_passes": passes,
        "refusals": dict(world.refusals),
        "crashes": world.crashes,
        "errors": len(world.errors),
    }
    print("\nretry storm:", summary)
    assert not flaky.answer_mismatches, flaky.answer_mismatches
    assert flaky.timeouts > 0
    assert flaky.faults["duplicated"] > 0
    assert storm.deliveries > len(storm.emitted)
    problems = [
        *await check_psp(world, storm),
        *await check_payments(world, cases, payments),
        *await check_books(world, payments),
        *world.errors,
        *storm.errors,
    ]
    assert not problems, "\n".join(problems + await histories(world, problems))


async def histories(world: StormWorld, problems: list[str]) -> list[str]:
    """The event log of every payment a problem names, to see what happened."""
    text = "\n".join(problems)
    lines = []
    async with world.runtime.uow() as uow:
        for payment in await uow.payments.all():
            if str(payment.id) not in text:
                continue
            lines.append(f"--- {payment.id} {payment.purpose.value}/{payment.method.value}")
            lines += [
                f"    {e.kind.value} {e.amount} {e.operation} {e.detail or ''}"
                for e in await uow.payments.events(payment.id)
            ]
    return lines


async def check_psp(world: StormWorld, storm: WebhookStorm) -> list[str]:
    """At the PSP: one capture per hold at most, never above the hold, and no hold left."""
    problems = []
    for hold in await world.sandbox.holds():
        ref = hold.provider_ref
        if storm.captures_done[ref] > 1:
            problems.append(f"{ref} captured {storm.captures_done[ref]} times")
        if hold.captured > hold.held:
            problems.append(f"{ref} captured {hold.captured} above the hold {hold.held}")
        if hold.declined is None and not hold.captured and not hold.released:
            problems.append(f"{ref} ({hold.reference}) still holds {hold.held}")
        if sum((a for _, a in hold.refunds), Decimal(0)) > hold.captured:
            problems.append(f"{ref} ({hold.reference}) refunded more than captured")
    return problems


async def check_payments(
    world: StormWorld, cases: list[Case], payments: list[tuple[Payment, PaymentState]]
) -> list[str]:
    """Our side agrees with the PSP for every payment, and sessions were charged right."""
    holds = {hold.reference: hold for hold in await world.sandbox.holds()}
    problems = in_doubt(payments)
    states = {p.id: (p, s) for p, s in payments}
    for payment, state in payments:
        if payment.gateway == "wallet":
            continue
        hold = holds.get(str(payment.id))
        if hold is None:
            if state.status is not PaymentStatus.FAILED:
                problems.append(f"{payment.id}: never reached the PSP but {state.status}")
            continue
        refunded = sum((a for _, a in hold.refunds), Decimal(0))
        if (state.captured, state.refunded) != (hold.captured, refunded):
            problems.append(
                f"{payment.id}: we know {state.captured}/{state.refunded}, "
                f"the PSP {hold.captured}/{refunded} (captured/refunded)"
            )
        if hold.released and state.status is not PaymentStatus.RELEASED:
            problems.append(f"{payment.id}: released at the PSP but {state.status}")
        if hold.declined and state.status is not PaymentStatus.FAILED:
            problems.append(f"{payment.id}: declined at the PSP but {state.status}")
    async with world.runtime.uow() as uow:
        for case in cases:
            if case.session_id is None:
                continue
            charge = await uow.billing.charge_for_session(case.session_id)
            session = await uow.sessions.get(case.session_id)
            assert session is not None
            if session.status is not SessionStatus.COMPLETED or charge is None:
                problems.append(f"case {case.number}: session {session.status}, charge {charge}")
                continue
            if case.kind == "wallet":
                found = await uow.payments.for_session(session.id)
                captured = sum((states[p.id][1].captured for p in found), Decimal(0))
                if captured != charge.gross:
                    problems.append(f"case {case.number}: wallet {captured} for {charge.gross}")
                continue
            if case.payment_id is None or case.payment_id not in states:
                problems.append(f"case {case.number}: no payment")
                continue
            payment, state = states[case.payment_id]
            hold = holds.get(str(payment.id))
            if hold is None or hold.declined:
                continue  # no hold: the receipt stays on the account (checked with the books)
            if state.captured != min(charge.gross, hold.held):
                problems.append(
                    f"{payment.id} case {case.number} ({case.kind}/{case.payer}): captured "
                    f"{state.captured}, receipt {charge.gross}, hold {hold.held}, {state.status}"
                )
            if not charge.gross and state.status is not PaymentStatus.RELEASED:
                problems.append(f"{payment.id}: nothing delivered but {state.status}")
    return problems


async def check_books(world: StormWorld, payments: list[tuple[Payment, PaymentState]]) -> list[str]:
    """One journal entry per capture and per refund, a balanced ledger, the PSP account equal
    to the PSP's money, and every customer's receivable and wallet what the facts say."""
    async with world.runtime.uow() as uow:
        entries = await uow.ledger.entries()
        balances = await uow.ledger.balances()
        credited = {}
        for payment, _ in payments:
            credited[payment.id] = await credited_for(uow, payment)
    problems = [f"trial balance {trial_balance(balances)}"]
    if all(total == 0 for total in trial_balance(balances).values()):
        problems = []
    by_source: dict[tuple[EntryKind, str], list[JournalEntry]] = {}
    for entry in entries:
        by_source.setdefault((entry.kind, entry.source_id), []).append(entry)
    captures = (EntryKind.CAPTURE, EntryKind.WALLET_TOP_UP, EntryKind.WALLET_DEBIT)
    for payment, state in payments:
        booked = [e for kind in captures for e in by_source.get((kind, str(payment.id)), [])]
        expected = 1 if state.captured else 0
        if len(booked) != expected:
            problems.append(f"{payment.id}: {len(booked)} capture entries for {state.captured}")
        amount = sum(
            (p.units.amount for e in booked for p in e.postings if p.units.amount > 0), Decimal(0)
        )
        if amount != state.captured:
            problems.append(f"{payment.id}: booked {amount}, captured {state.captured}")
        refunds = [
            e
            for e in entries
            if e.kind is EntryKind.REFUND and e.source_id.startswith(f"{payment.id}:")
        ]
        refunded = sum(
            (p.units.amount for e in refunds for p in e.postings if p.units.amount > 0), Decimal(0)
        )
        if refunded != state.refunded:
            problems.append(f"{payment.id}: refunds booked {refunded}, known {state.refunded}")

    def balance(account: str) -> Decimal:
        return sum((b.balance for b in balances if b.account == account), Decimal(0))

    at_psp = sum(
        (h.captured - sum((a for _, a in h.refunds), Decimal(0)))
        for h in await world.sandbox.holds()
    )
    if balance(psp("sandbox")) != at_psp:
        problems.append(f"{psp('sandbox')} is {balance(psp('sandbox'))}, the PSP holds {at_psp}")
    problems += await check_receivables(world, payments, credited, balance)
    return problems


async def credited_for(uow: Any, payment: Payment) -> Decimal:
    """What credit notes gave back on the receipt of a session payment."""
    if payment.purpose is not PaymentPurpose.SESSION:
        return Decimal(0)
    session_id = payment.session_id
    if session_id is None and payment.id_tag:
        found = await sessions_with_tag(uow, payment.id_tag)
        session_id = found[0] if found else None
    if session_id is None:
        return Decimal(0)
    charge = await uow.billing.charge_for_session(session_id)
    if charge is None:
        return Decimal(0)
    receipt = await uow.billing.invoice_by_run_key(f"receipt:{charge.id}")
    return Decimal(0) if receipt is None else await uow.billing.credited_total(receipt.id)


async def sessions_with_tag(uow: Any, id_tag: str) -> list[uuid.UUID]:
    page = await uow.sessions.search(SessionFilter(id_tag=id_tag), limit=5, offset=0)
    return [s.id for s in page.items]


async def check_receivables(
    world: StormWorld,
    payments: list[tuple[Payment, PaymentState]],
    credited: dict[uuid.UUID, Decimal],
    balance: Callable[[str], Decimal],
) -> list[str]:
    """A session's receipt is settled by its capture (or a write-off for a walk-in, or it
    stays on the account); a refund comes with a credit note of the same amount."""
    problems: list[str] = []
    async with world.runtime.uow() as uow:
        written_off = {
            e.source_id: sum((p.units.amount for p in e.postings if p.units.amount > 0), Decimal(0))
            for e in await uow.ledger.entries()
            if e.kind is EntryKind.WRITE_OFF
        }
        gross: dict[uuid.UUID, Decimal] = {}
        for payment, _ in payments:
            if payment.purpose is not PaymentPurpose.SESSION:
                continue
            session_ids = (
                [payment.session_id]
                if payment.session_id
                else await sessions_with_tag(uow, payment.id_tag or "")
            )
            for session_id in session_ids:
                charge = await uow.billing.charge_for_session(session_id)
                if charge is not None:
                    gross[payment.id] = charge.gross
    expected: dict[uuid.UUID, Decimal] = {}
    for payment, state in payments:
        if payment.purpose is not PaymentPurpose.SESSION:
            continue
        payer = payment.account_id or WALK_IN
        owed = gross.get(payment.id, Decimal(0)) - state.captured + state.refunded
        owed -= credited[payment.id] + written_off.get(str(payment.id), Decimal(0))
        expected[payer] = expected.get(payer, Decimal(0)) + owed
        if state.refunded and abs(credited[payment.id] - state.refunded) > Decimal("0.01"):
            problems.append(
                f"{payment.id}: refunded {state.refunded} but credit notes {credited[payment.id]}"
            )
    for payer, owed in expected.items():
        if balance(receivable(payer)) != owed:
            problems.append(f"receivable of {payer}: {balance(receivable(payer))}, expected {owed}")
    for name in ("wallet", "auto"):
        account = world.accounts[name]
        owed_to_driver = Decimal(0)
        for payment, state in payments:
            if payment.account_id != account.id:
                continue
            if payment.purpose is PaymentPurpose.TOP_UP:
                owed_to_driver += state.captured - state.refunded
            elif payment.gateway == "wallet":
                owed_to_driver -= state.captured - state.refunded
        if -balance(wallet(account.id)) != owed_to_driver:
            problems.append(f"wallet {name}: {-balance(wallet(account.id))} vs {owed_to_driver}")
    return problems
