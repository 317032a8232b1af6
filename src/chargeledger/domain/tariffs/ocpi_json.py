"""Reading and writing OCPI 2.2.1 Tariff and CDR JSON, with errors that name the field.

Numbers are taken as Decimal (load JSON with ``parse_float=Decimal``; ints and strings work
too), never float. Writing keeps which optional fields were present, so a tariff read and
written again is the same document (``vat`` absent stays absent, ``vat: 0`` stays 0).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from chargeledger.domain.tariffs.cdr import DURATIONS, Cdr, ChargingPeriod, DimensionType
from chargeledger.domain.tariffs.model import (
    ComponentType,
    DayOfWeek,
    DisplayText,
    PriceComponent,
    PriceLimit,
    ReservationRestriction,
    Restrictions,
    Tariff,
    TariffElement,
    TariffType,
)
from chargeledger.domain.tariffs.quantities import MAX_DURATION_MS, hours_of, millis_from_hours
from chargeledger.errors import InvalidInputError
from chargeledger.money import Currency

T = TypeVar("T")
_TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _fail(path: str, message: str) -> InvalidInputError:
    return InvalidInputError(f"{path}: {message}", code="invalid_tariff", field=path)


def _decimal(value: Any, path: str) -> Decimal:
    """A Decimal from a JSON number (Decimal or int) or numeric text; a float is read through
    its shortest repr, so 0.1 becomes Decimal("0.1")."""
    if isinstance(value, bool) or value is None:
        raise _fail(path, f"{value!r} is not a number")
    try:
        number = (
            value
            if isinstance(value, Decimal)
            else Decimal(repr(value) if isinstance(value, float) else str(value))
        )
    except (InvalidOperation, ValueError) as exc:
        raise _fail(path, f"{value!r} is not a number") from exc
    if not number.is_finite():
        raise _fail(path, f"{value!r} is not a number")
    return number


def _amount(value: Any, path: str) -> Decimal:
    """A price or VAT rate: OCPI 2.2.1 §11.4.3 and §16.7 prices are amounts charged, so a
    negative one (which would make a negative bill) is refused."""
    number = _decimal(value, path)
    if number < 0:
        raise _fail(path, f"{value!r} is negative; prices and VAT rates never are")
    return number


def _int(value: Any, path: str, minimum: int = 0) -> int:
    number = _decimal(value, path)
    if number != number.to_integral_value() or number < minimum:
        raise _fail(path, f"must be a whole number of at least {minimum}")
    return int(number)


def _enum(kind: Callable[[str], T], value: Any, path: str) -> T:
    try:
        return kind(value)
    except ValueError as exc:
        raise _fail(path, f"{value!r} is not allowed here") from exc


def _datetime(value: Any, path: str) -> datetime:
    """OCPI §16.2 DateTime: RFC 3339 in UTC; no designator means UTC."""
    if not isinstance(value, str):
        raise _fail(path, "must be an RFC 3339 date-time")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise _fail(path, f"{value!r} is not an RFC 3339 date-time") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _time(value: Any, path: str) -> time:
    if not isinstance(value, str) or not _TIME.fullmatch(value):
        raise _fail(path, f"{value!r} is not a time of day HH:MM")
    return time(int(value[:2]), int(value[3:]))


def _date(value: Any, path: str) -> date:
    try:
        if not isinstance(value, str) or not _DATE.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError as exc:
        raise _fail(path, f"{value!r} is not a date YYYY-MM-DD") from exc


def _object(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(path, "must be an object")
    return value


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise _fail(path, "must be a list")
    return value


# --- tariffs --------------------------------------------------------------------------------


def parse_tariff(raw: Any, path: str = "") -> Tariff:
    """``path`` names where the tariff sits (e.g. ``tariffs[0]`` in a CDR), so an error inside
    an embedded tariff points at its full place."""

    def at(name: str) -> str:
        return f"{path}.{name}" if path else name

    doc = _object(raw, path or "tariff")
    for required in ("id", "currency", "elements"):
        if required not in doc:
            raise _fail(at(required), "is required")
    try:
        currency = Currency.of(str(doc["currency"]))
    except InvalidInputError as exc:
        raise _fail(at("currency"), exc.message) from exc
    elements = _list(doc["elements"], at("elements"))
    if not elements:
        raise _fail(at("elements"), "a tariff needs at least one element")
    texts = _list(doc.get("tariff_alt_text", []), at("tariff_alt_text"))
    return Tariff(
        id=str(doc["id"]),
        currency=currency,
        elements=tuple(_element(e, at(f"elements[{i}]")) for i, e in enumerate(elements)),
        country_code=doc.get("country_code"),
        party_id=doc.get("party_id"),
        type=_enum(TariffType, doc["type"], at("type")) if doc.get("type") else None,
        tariff_alt_text=tuple(
            _display_text(t, at(f"tariff_alt_text[{i}]")) for i, t in enumerate(texts)
        ),
        tariff_alt_url=doc.get("tariff_alt_url"),
        min_price=_limit(doc["min_price"], at("min_price"))
        if doc.get("min_price") is not None
        else None,
        max_price=_limit(doc["max_price"], at("max_price"))
        if doc.get("max_price") is not None
        else None,
        start_date_time=_datetime(doc["start_date_time"], at("start_date_time"))
        if doc.get("start_date_time")
        else None,
        end_date_time=_datetime(doc["end_date_time"], at("end_date_time"))
        if doc.get("end_date_time")
        else None,
        energy_mix=doc.get("energy_mix"),
        last_updated=_datetime(doc["last_updated"], at("last_updated"))
        if doc.get("last_updated")
        else None,
        present=frozenset(doc),
    )


def _display_text(raw: Any, path: str) -> DisplayText:
    doc = _object(raw, path)
    if "language" not in doc or "text" not in doc:
        raise _fail(path, "needs language and text")
    return DisplayText(str(doc["language"]), str(doc["text"]))


def _limit(raw: Any, path: str) -> PriceLimit:
    doc = _object(raw, path)
    if "excl_vat" not in doc:
        raise _fail(f"{path}.excl_vat", "is required")
    incl = doc.get("incl_vat")
    return PriceLimit(
        _amount(doc["excl_vat"], f"{path}.excl_vat"),
        None if incl is None else _amount(incl, f"{path}.incl_vat"),
    )


def _element(raw: Any, path: str) -> TariffElement:
    doc = _object(raw, path)
    components = _list(doc.get("price_components"), f"{path}.price_components")
    if not components:
        raise _fail(f"{path}.price_components", "an element needs at least one price component")
    restrictions = doc.get("restrictions")
    return TariffElement(
        price_components=tuple(
            _component(c, f"{path}.price_components[{i}]") for i, c in enumerate(components)
        ),
        restrictions=_restrictions(restrictions, f"{path}.restrictions")
        if restrictions is not None
        else None,
    )


def _component(raw: Any, path: str) -> PriceComponent:
    doc = _object(raw, path)
    for required in ("type", "price", "step_size"):
        if required not in doc:
            raise _fail(f"{path}.{required}", "is required")
    return PriceComponent(
        type=_enum(ComponentType, doc["type"], f"{path}.type"),
        price=_amount(doc["price"], f"{path}.price"),
        step_size=_int(doc["step_size"], f"{path}.step_size"),
        vat=_amount(doc["vat"], f"{path}.vat") if doc.get("vat") is not None else None,
    )


_DECIMAL_LIMITS = ("min_kwh", "max_kwh", "min_current", "max_current", "min_power", "max_power")


def _restrictions(raw: Any, path: str) -> Restrictions:
    doc = _object(raw, path)
    fields: dict[str, Any] = {}
    for name in ("start_time", "end_time"):
        if doc.get(name) is not None:
            fields[name] = _time(doc[name], f"{path}.{name}")
    for name in ("start_date", "end_date"):
        if doc.get(name) is not None:
            fields[name] = _date(doc[name], f"{path}.{name}")
    for name in _DECIMAL_LIMITS:
        if doc.get(name) is not None:
            fields[name] = _decimal(doc[name], f"{path}.{name}")
    for name in ("min_duration", "max_duration"):
        if doc.get(name) is not None:
            fields[name] = _int(doc[name], f"{path}.{name}")
    if doc.get("day_of_week") is not None:
        fields["day_of_week"] = tuple(
            _enum(DayOfWeek, d, f"{path}.day_of_week[{i}]")
            for i, d in enumerate(_list(doc["day_of_week"], f"{path}.day_of_week"))
        )
    if doc.get("reservation") is not None:
        fields["reservation"] = _enum(
            ReservationRestriction, doc["reservation"], f"{path}.reservation"
        )
    return Restrictions(**fields)


def tariff_to_json(tariff: Tariff) -> dict[str, Any]:
    """The OCPI 2.2.1 Tariff object; numbers as Decimal (encode them as JSON numbers)."""
    doc: dict[str, Any] = {}
    for name in ("country_code", "party_id"):
        if getattr(tariff, name) is not None:
            doc[name] = getattr(tariff, name)
    doc["id"] = tariff.id
    doc["currency"] = tariff.currency
    if tariff.type is not None:
        doc["type"] = tariff.type.value
    if tariff.tariff_alt_text or "tariff_alt_text" in tariff.present:
        doc["tariff_alt_text"] = [
            {"language": t.language, "text": t.text} for t in tariff.tariff_alt_text
        ]
    if tariff.tariff_alt_url is not None:
        doc["tariff_alt_url"] = tariff.tariff_alt_url
    for name in ("min_price", "max_price"):
        limit: PriceLimit | None = getattr(tariff, name)
        if limit is not None:
            doc[name] = {"excl_vat": limit.excl_vat}
            if limit.incl_vat is not None:
                doc[name]["incl_vat"] = limit.incl_vat
    doc["elements"] = [_element_json(e) for e in tariff.elements]
    for name in ("start_date_time", "end_date_time", "last_updated"):
        value: datetime | None = getattr(tariff, name)
        if value is not None:
            doc[name] = _wire(value)
    if tariff.energy_mix is not None:
        doc["energy_mix"] = tariff.energy_mix
    return doc


def _element_json(element: TariffElement) -> dict[str, Any]:
    doc: dict[str, Any] = {"price_components": []}
    for c in element.price_components:
        component: dict[str, Any] = {"type": c.type.value, "price": c.price}
        if c.vat is not None:
            component["vat"] = c.vat
        component["step_size"] = c.step_size
        doc["price_components"].append(component)
    if element.restrictions is not None:
        doc["restrictions"] = _restrictions_json(element.restrictions)
    return doc


def _restrictions_json(r: Restrictions) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for name in ("start_time", "end_time"):
        value: time | None = getattr(r, name)
        if value is not None:
            doc[name] = value.strftime("%H:%M")
    for name in ("start_date", "end_date"):
        day: date | None = getattr(r, name)
        if day is not None:
            doc[name] = day.isoformat()
    for name in (*_DECIMAL_LIMITS, "min_duration", "max_duration"):
        if getattr(r, name) is not None:
            doc[name] = getattr(r, name)
    if r.day_of_week is not None:
        doc["day_of_week"] = [d.value for d in r.day_of_week]
    if r.reservation is not None:
        doc["reservation"] = r.reservation.value
    return doc


# --- CDRs ----------------------------------------------------------------------------------


def parse_cdr(raw: Any) -> Cdr:
    doc = _object(raw, "cdr")
    for required in ("start_date_time", "end_date_time", "currency", "charging_periods"):
        if required not in doc:
            raise _fail(required, "is required")
    periods = [
        _period(p, f"charging_periods[{i}]")
        for i, p in enumerate(_list(doc["charging_periods"], "charging_periods"))
    ]
    if not periods:
        raise _fail("charging_periods", "a CDR needs at least one charging period")
    try:
        currency = Currency.of(str(doc["currency"]))
    except InvalidInputError as exc:
        raise _fail("currency", exc.message) from exc
    location = doc.get("cdr_location") or {}
    return Cdr(
        id=doc.get("id"),
        start_date_time=_datetime(doc["start_date_time"], "start_date_time"),
        end_date_time=_datetime(doc["end_date_time"], "end_date_time"),
        currency=currency,
        charging_periods=tuple(sorted(periods, key=lambda p: p.start_date_time)),
        tariffs=tuple(
            parse_tariff(t, f"tariffs[{i}]")
            for i, t in enumerate(_list(doc.get("tariffs") or [], "tariffs"))
        ),
        country=location.get("country") if isinstance(location, Mapping) else None,
    )


def _period(raw: Any, path: str) -> ChargingPeriod:
    doc = _object(raw, path)
    dimensions = []
    durations = []
    for i, d in enumerate(_list(doc.get("dimensions"), f"{path}.dimensions")):
        item = _object(d, f"{path}.dimensions[{i}]")
        kind = _enum(DimensionType, item.get("type"), f"{path}.dimensions[{i}].type")
        volume = _decimal(item.get("volume"), f"{path}.dimensions[{i}].volume")
        if kind in DURATIONS:
            durations.append((kind, _millis(volume, f"{path}.dimensions[{i}].volume")))
        else:
            dimensions.append((kind, volume))
    return ChargingPeriod(
        start_date_time=_datetime(doc.get("start_date_time"), f"{path}.start_date_time"),
        dimensions=tuple(dimensions),
        tariff_id=doc.get("tariff_id"),
        durations=tuple(durations),
    )


def _millis(hours: Decimal, path: str) -> int:
    """OCPI hours as whole milliseconds, once, here at the edge (issue 11 item 16; see
    :mod:`.quantities`): to the nearest ms where the hours were a rounded repeating decimal."""
    if not 0 <= hours <= hours_of(MAX_DURATION_MS):
        raise _fail(path, f"a duration must be between 0 and {hours_of(MAX_DURATION_MS)} h")
    return millis_from_hours(hours)


def cdr_to_json(cdr: Cdr, totals: Mapping[str, Any], country: str | None = None) -> dict[str, Any]:
    """An OCPI 2.2.1 CDR (§10.3.1) with its charging periods, tariff and totals; numbers as
    Decimal. Durations are hours again (exact where they terminate, else to 28 digits, which
    read back to the same millisecond). Party, location and token details belong to the
    caller's context."""
    doc: dict[str, Any] = {
        "id": cdr.id,
        "start_date_time": _wire(cdr.start_date_time),
        "end_date_time": _wire(cdr.end_date_time),
        "currency": cdr.currency,
        "tariffs": [tariff_to_json(t) for t in cdr.tariffs],
        "charging_periods": [
            {
                "start_date_time": _wire(p.start_date_time),
                "dimensions": [
                    *({"type": kind.value, "volume": volume} for kind, volume in p.dimensions),
                    *(
                        {"type": kind.value, "volume": hours_of(millis)}
                        for kind, millis in p.durations
                    ),
                ],
                **({"tariff_id": p.tariff_id} if p.tariff_id else {}),
            }
            for p in cdr.charging_periods
        ],
        **totals,
    }
    if country:
        doc["cdr_location"] = {"country": country}
    return doc


def _wire(value: datetime) -> str:
    """OCPI 2.2.1 §16.2 DateTime: UTC with Z, at most 25 characters, so milliseconds at most
    and without trailing zeros (what was read is what is written)."""
    text = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    millis = f"{value.microsecond // 1000:03d}".rstrip("0")
    return f"{text}.{millis}Z" if millis else f"{text}Z"
