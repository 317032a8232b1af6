"""Whether a tariff's stated VAT agrees with the VAT due where it applies (issue 11 item 8).

The VAT of every figure comes from the place of supply (:func:`~chargeledger.domain.billing.
supply_vat`), never from the tariff. OCPI 2.2.1 §11.4.3 lets a tariff state a ``vat`` per
price component; a tariff that states one contradicting the site's rate would show a driver a
gross (on the station screen, in a roaming partner's app) other than the one billed. So:

* a tariff whose components state no VAT states net prices: it fits every site, the VAT due
  there is added;
* a tariff that states VAT must state, on every component that has one, the rate due at every
  site it would apply to, at the date it takes effect (the later of now and its
  ``start_date_time``): one site for a site, station or connector scope; every site of the
  network for the operator's default, the ad hoc default and an account (an account's rate is
  its own: 0 % under reverse charge at sites in other member states).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from chargeledger.domain.billing import VatTreatment
from chargeledger.domain.tariffs import Tariff
from chargeledger.errors import InvalidInputError


@dataclass(frozen=True, slots=True)
class VatDue:
    """The VAT due at one site for the payers a tariff would apply to."""

    site_name: str
    country: str
    treatment: VatTreatment


def stated_vat(tariff: Tariff) -> frozenset[Decimal]:
    """The VAT rates the tariff's components state (empty: net prices, no VAT stated)."""
    return frozenset(
        c.vat for e in tariff.elements for c in e.price_components if c.vat is not None
    )


def check_tariff_vat(tariff: Tariff, due: Sequence[VatDue]) -> None:
    """Refuse (``tariff_vat_mismatch``) a tariff whose stated VAT contradicts the VAT due at
    any of the sites it would apply to."""
    stated = stated_vat(tariff)
    wrong = [d for d in due if any(rate != d.treatment.percent for rate in stated)]
    if not stated or not wrong:
        return
    rates = ", ".join(f"{rate.normalize():f}%" for rate in sorted(stated))
    where = ", ".join(
        f"{d.site_name} ({d.country}: {d.treatment.percent.normalize():f}%)" for d in wrong[:5]
    )
    more = f" and {len(wrong) - 5} more sites" if len(wrong) > 5 else ""
    raise InvalidInputError(
        f"tariff {tariff.id} states VAT {rates} but {where}{more} bill other VAT; state the "
        "VAT due there or none (net prices: the place of supply's VAT is added)",
        code="tariff_vat_mismatch",
        field="tariff_id",
        details={
            "stated": [f"{rate.normalize():f}" for rate in sorted(stated)],
            "due": [
                {"site": d.site_name, "country": d.country, "percent": f"{d.treatment.percent}"}
                for d in wrong
            ],
        },
    )
