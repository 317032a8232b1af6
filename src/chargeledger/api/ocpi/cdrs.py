"""The CPO's CDRs sender interface of OCPI 2.2.1 (§10.2.1): ``GET /ocpi/2.2.1/cdrs``.

The calling partner's CDRs, its re-pricings' credit and new CDRs among them
(``services.roaming.cdrs``), paginated as the locations and tariffs
are (§4.1.5, ``modules.py``): ``offset``, ``limit`` (at most ``MAX_LIMIT``), ``date_from``
(inclusive) and ``date_to`` (exclusive) on ``last_updated``, with ``X-Total-Count``,
``X-Limit`` and a ``Link`` to the next page. Each CDR is the complete §10.3.1 object of
``domain.ocpi_cdrs``, its country in ISO 3166-1 alpha-3 and its EVSE named as the locations
module names it (``locations_json``). Only a registered partner's token opens it.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from chargeledger.api.deps import ReadUowDep, RuntimeDep
from chargeledger.api.ocpi.auth import ModuleCaller, Ours
from chargeledger.api.ocpi.modules import ListWindow
from chargeledger.api.ocpi.wire import OcpiRoute, envelope, page_headers
from chargeledger.domain.ocpi_cdrs import OcpiParty
from chargeledger.domain.roaming import OCPI_VERSION
from chargeledger.services.roaming.cdrs import partner_cdrs

router = APIRouter(prefix=f"/ocpi/{OCPI_VERSION}", route_class=OcpiRoute, include_in_schema=False)


@router.get("/cdrs")
async def list_cdrs(
    request: Request,
    partner: ModuleCaller,
    ours: Ours,
    rt: RuntimeDep,
    uow: ReadUowDep,
    window: ListWindow,
) -> Response:
    cpo = OcpiParty(ours.country_code, ours.party_id)
    page = await partner_cdrs(
        uow,
        partner,
        rt.settings.vat_rates,
        cpo,
        date_from=window.date_from,
        date_to=window.date_to,
        offset=window.offset,
        limit=window.limit,
    )
    headers = page_headers(request, page.total, window.offset, window.limit, len(page.items))
    return envelope(request, page.items, headers=headers)
