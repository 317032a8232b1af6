"""``chargeledger payments janitor`` next to a server, with the sandbox PSP (issue 11 item
13): the simulator's state is in the database, so a separate process finds the hold another
process made and settles it. Before, the command refused to run with the sandbox
(``janitor_needs_server``): asked from another process, the in-memory simulator knew nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from chargeledger.bootstrap import Runtime, build_runtime
from chargeledger.config import Settings
from chargeledger.domain.payments import PaymentStatus, fold
from chargeledger.services.payments.checkout import start_checkout
from tests.conftest import fast_hasher
from tests.e2e.test_cli import run_cli
from tests.integration.billing_world import FixedClock
from tests.integration.ocpp_support import CP16
from tests.integration.payment_world import VISA, priced_network


def runtime_in(data_dir: Path, clock: FixedClock | None = None) -> Runtime:
    settings = Settings.from_env({"CHARGELEDGER_DATA_DIR": str(data_dir)})
    return build_runtime(settings, hasher=fast_hasher(), clock=clock)


async def test_the_cli_janitor_releases_a_hold_another_process_made(tmp_path: Path) -> None:
    # A QR checkout an hour ago whose session never started: its hold must be released.
    server = runtime_in(tmp_path, FixedClock(datetime.now(UTC) - timedelta(hours=1)))
    try:
        await server.migrate()
        await priced_network(server)
        server.payments.bus = None  # no station connected: the hold stands, nothing starts
        assert server.sandbox is not None
        token = (await server.sandbox.tokenise(VISA, 12, 2030, "123")).token
        held = await start_checkout(server.payments, CP16, 1, token)
        assert held.state.status is PaymentStatus.AUTHORISED
        await server.quiesce()
    finally:
        await server.aclose()

    janitor = run_cli("payments", "janitor", data_dir=tmp_path)
    assert janitor.returncode == 0, janitor.stderr
    assert "released 1" in janitor.stdout

    after = runtime_in(tmp_path)
    try:
        async with after.uow() as uow:
            state = fold(await uow.payments.events(held.payment.id))
        assert state.status is PaymentStatus.RELEASED
        assert after.sandbox is not None
        view = await after.sandbox.lookup(reference=str(held.payment.id), provider_ref=None)
        assert view is not None
        assert (view.released, view.captured) == (True, 0)
    finally:
        await after.aclose()
