"""A session that starts on a reserved EVSE with the reserving idTag uses the reservation
(issue 16, OCPP 1.6 §5.13: the reservation ends when that idTag starts a transaction on it).
Apart from ``reservations`` because the session capture calls it in the start's own
transaction (exactly once, DESIGN §2) and must not depend on the driver's use cases."""

from __future__ import annotations

from chargeledger.domain import reservations as booking
from chargeledger.domain.charging import Session
from chargeledger.services.ports import Clock, UnitOfWork


async def claim_for_start(
    uow: UnitOfWork, clock: Clock, session: Session, number: int | None
) -> None:
    """In the start's transaction: the reservation of the session's EVSE made with its idTag
    (the one with ``number`` when the station named it) becomes used by the session. Still
    marked active is enough, even past its expiry: the station decides whether it held it
    (a start replayed from its offline queue arrives late), and ``use`` counts the time held
    up to the expiry at most."""
    if session.id_tag is None:
        return
    for held in await uow.reservations.active_on_evse(session.station_id, session.evse_id):
        if held.id_tag != session.id_tag or (number is not None and held.number != number):
            continue
        await uow.reservations.update(booking.use(held, session.id, clock.now()))
        return
