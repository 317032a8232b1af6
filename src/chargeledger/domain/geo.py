"""Places: ISO 3166-1 countries, IANA time zones, coordinates and postal addresses."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from chargeledger.domain.card_data import refuse_card_data
from chargeledger.errors import InvalidInputError

ISO_COUNTRIES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
    DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS
    GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
    KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
    MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
    PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
    SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
    VN VU WF WS YE YT ZA ZM ZW
    """.split()
)

# EU member states, for VAT rules (reverse charge arrives with invoicing).
EU_COUNTRIES = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split()
)


def country_code(value: str, field: str = "country") -> str:
    """Normalise and check an ISO 3166-1 alpha-2 country code."""
    code = value.strip().upper() if isinstance(value, str) else ""
    if code not in ISO_COUNTRIES:
        raise InvalidInputError(
            f"{value!r} is not an ISO 3166-1 alpha-2 country code",
            code="invalid_country",
            field=field,
        )
    return code


def time_zone(name: str, field: str = "time_zone") -> str:
    """Check an IANA time zone name; restrictions and billing periods are local (DESIGN §2)."""
    if not isinstance(name, str) or name not in _known_time_zones():
        raise InvalidInputError(
            f"{name!r} is not an IANA time zone", code="unknown_time_zone", field=field
        )
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInputError(
            f"{name!r} is not an IANA time zone", code="unknown_time_zone", field=field
        ) from exc
    return name


_ZONES: frozenset[str] | None = None


def _known_time_zones() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones())
    return _ZONES


def coordinate(value: Decimal, limit: int, field: str) -> Decimal:
    """A latitude (±90) or longitude (±180) in decimal degrees, kept to 6 places (~0.1 m)."""
    if not isinstance(value, Decimal) or not value.is_finite() or abs(value) > limit:
        raise InvalidInputError(
            f"{field} must be a number between -{limit} and {limit}",
            code="invalid_coordinates",
            field=field,
        )
    return value.quantize(Decimal("0.000001"))


@dataclass(frozen=True, slots=True)
class Address:
    """A postal address; the country drives VAT (DESIGN §5) and e-invoice fields."""

    street: str
    postal_code: str
    city: str
    country: str

    def __post_init__(self) -> None:
        for name in ("street", "postal_code", "city"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise InvalidInputError(
                    f"address {name} must not be empty", code="invalid_address", field=name
                )
            refuse_card_data(value, name)
        object.__setattr__(self, "country", country_code(self.country))
