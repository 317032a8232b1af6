"""A charged session priced again, under another tariff version or with corrected readings
(issue 15): the same ``price()`` over the session's own samples and state changes, with the
VAT of its supply (``session_pricing``), as its release prices corrected readings
(``session_release``). The session is not changed: its station readings and its tariff
snapshot stay as evidence (DESIGN §2), the corrected figures live in the re-pricing's record.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime
from decimal import Decimal

from chargeledger.domain.billing import VatRates
from chargeledger.domain.charging import Resolution, Session
from chargeledger.services.charging.session_pricing import SessionPrice, price_captured_session
from chargeledger.services.charging.session_release import check_readings
from chargeledger.services.ports import UnitOfWork


async def price_corrected(
    uow: UnitOfWork,
    session: Session,
    rates: VatRates,
    *,
    tariff_id: uuid.UUID,
    meter_start_wh: Decimal,
    meter_stop_wh: Decimal,
    by: str,
    at: datetime,
) -> SessionPrice:
    """``session`` priced under the tariff ``tariff_id`` with these readings. The readings
    pass the station readings' checks (``session_release.check_readings``: never negative,
    never backwards, within the EVSE's power) or are refused with that check's code on the
    field ``corrected_meter_start_wh`` / ``corrected_meter_stop_wh``; an unknown tariff is
    ``tariff_not_found``."""
    correction = Resolution(
        by=by,
        at=at,
        note="re-pricing",
        corrected_meter_start_wh=meter_start_wh,
        corrected_meter_stop_wh=meter_stop_wh,
    )
    view = dataclasses.replace(session, tariff_id=tariff_id, resolution=correction)
    await check_readings(uow, view)
    return await price_captured_session(uow, view, rates)
