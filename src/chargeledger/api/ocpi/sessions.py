"""The CPO's Sessions sender interface of OCPI 2.2.1 (§9.2.1): ``GET /ocpi/2.2.1/sessions``.

The calling partner's sessions that changed in the window (``services.roaming.sessions``),
paginated as the other lists are (§4.1.5, ``modules.ListWindow``). Each is the §9.3.1 Session
object as it stands now (``domain.ocpi_sessions``): what the partner is also pushed. Only a
registered partner's token opens it. ``PUT .../charging_preferences`` (§9.2.1.2) is not
offered: smart charging is not part of what we publish.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from chargeledger.api.deps import ReadUowDep, RuntimeDep
from chargeledger.api.ocpi.auth import ModuleCaller, Ours
from chargeledger.api.ocpi.modules import ListWindow
from chargeledger.api.ocpi.wire import OcpiRoute, envelope, page_headers
from chargeledger.domain.ocpi_cdrs import OcpiParty
from chargeledger.domain.ocpi_sessions import session_document
from chargeledger.domain.roaming import OCPI_VERSION
from chargeledger.services.roaming.sessions import partner_sessions

router = APIRouter(prefix=f"/ocpi/{OCPI_VERSION}", route_class=OcpiRoute, include_in_schema=False)


@router.get("/sessions")
async def list_sessions(
    request: Request,
    partner: ModuleCaller,
    ours: Ours,
    rt: RuntimeDep,
    uow: ReadUowDep,
    window: ListWindow,
) -> Response:
    page = await partner_sessions(
        uow,
        partner,
        rt.settings.vat_rates,
        date_from=window.date_from,
        date_to=window.date_to,
        offset=window.offset,
        limit=window.limit,
    )
    cpo = OcpiParty(ours.country_code, ours.party_id)
    items = [session_document(state, cpo=cpo, issuer=page.issuer) for state in page.items]
    headers = page_headers(request, page.total, window.offset, window.limit, len(items))
    return envelope(request, items, headers=headers)
