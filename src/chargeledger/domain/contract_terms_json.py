"""The stored and API shape of contract terms (issue 14): :func:`terms_from_json` and
:func:`terms_to_json`, an exact round trip.

Numbers are JSON strings in plain decimal notation (``"0.39"``, ``"500.00"``) or JSON integers;
a JSON number with a fraction is refused, whether it was read as a float or as a Decimal,
because a float has already lost the amount (DESIGN §2: money is never a float) and one number
format keeps stored documents comparable. ``NaN``, ``Infinity``, exponents, signs and spaces are
refused too. Money amounts (commitment, fees, credit limit, a money allowance) have at most the
currency's minor units (EN 16931 BR-DEC-*: amounts carry the currency's decimals); prices per
kWh at most 4 decimals (OCPI 2.2.1 §16.4), energy and power at most 3 (Wh, W).

Every error is ``invalid_contract_terms`` with ``field`` the dotted path of the value
(``tiers.bands[1].from_kwh``), except free text holding a card number (``card_data_refused``,
DESIGN §2 "No card data"). ``null`` and an absent key mean the same: no such term. The writer
leaves absent terms out and writes numbers as they are held (``"10.00"`` stays ``"10.00"``),
site ids sorted, so a document read and written again is the same document.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from chargeledger.domain.card_data import refuse_card_data
from chargeledger.domain.contract_terms import (
    MAX_FEES,
    MAX_SITES,
    MAX_TIERS,
    Allowance,
    AllowanceUnit,
    AnnexGrouping,
    Discount,
    DiscountKind,
    FeeBasis,
    FixedFee,
    PriceBook,
    RevenueShare,
    Terms,
    TierBand,
    TierModel,
    VolumeTiers,
    invalid,
    member,
)
from chargeledger.errors import InvalidInputError
from chargeledger.money import Currency, within_minor_units

T = TypeVar("T")

_NUMBER = re.compile(r"(0|[1-9][0-9]{0,17})(\.[0-9]{1,12})?")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_TOP = frozenset(
    {
        "price_book",
        "tiers",
        "monthly_commitment",
        "fixed_fees",
        "credit_limit",
        "payment_terms_days",
        "purchase_order",
        "cost_centre",
        "annex",
        "allowance",
        "revenue_share",
    }
)


def _at(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _built(path: str, make: Callable[[], T]) -> T:
    """Build a terms value; its own rule errors (a path inside it) get ``path`` in front."""
    try:
        return make()
    except InvalidInputError as exc:
        if exc.code != "invalid_contract_terms" or exc.field is None:
            raise
        message = exc.message.removeprefix(f"{exc.field}: ")
        raise invalid(_at(path, exc.field), message) from exc


def _object(value: Any, path: str, keys: frozenset[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise invalid(path or "terms", "must be an object")
    for key in value:
        if key not in keys:
            raise invalid(_at(path, str(key)), "is not a contract term")
    return value


def _list(value: Any, path: str, most: int) -> list[Any]:
    if not isinstance(value, list):
        raise invalid(path, "must be a list")
    if len(value) > most:
        raise invalid(path, f"at most {most} items")
    return value


def _number(value: Any, path: str) -> Decimal:
    """A decimal string or a JSON integer; never a fraction written as a JSON number."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise invalid(path, "must not be negative")
        return Decimal(value)
    if isinstance(value, str):
        if _NUMBER.fullmatch(value):
            return Decimal(value)
        if value.startswith("-") and _NUMBER.fullmatch(value[1:]):
            raise invalid(path, "must not be negative")
        raise invalid(path, f"{value!r} is not a plain decimal number")
    if isinstance(value, (float, Decimal)):
        raise invalid(path, 'write a fractional number as a string, e.g. "0.39"')
    raise invalid(path, "must be a decimal string or an integer")


def _money(value: Any, path: str, currency: Currency) -> Decimal:
    amount = _number(value, path)
    if not within_minor_units(amount, currency):
        raise invalid(path, f"{currency.code} amounts have at most {currency.minor_units} decimals")
    return amount


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise invalid(path, "must be a string")
    return value


def _free_text(value: Any, path: str) -> str:
    text = _string(value, path)
    refuse_card_data(text, path)
    return text


def _uuid(value: Any, path: str) -> uuid.UUID:
    if not isinstance(value, str) or not _UUID.fullmatch(value):
        raise invalid(path, "must be a UUID like 6f1c2a3e-0000-4000-8000-000000000000")
    return uuid.UUID(value)


def terms_from_json(data: Mapping[str, Any], currency: Currency) -> Terms:
    """The terms a stored or posted document states, checked for ``currency`` (the
    contract's)."""
    currency = Currency.of(currency)
    doc = _object(data, "", _TOP)
    book, tiers, fees = (doc.get(k) for k in ("price_book", "tiers", "fixed_fees"))
    allowance, share, annex = (doc.get(k) for k in ("allowance", "revenue_share", "annex"))
    days = doc.get("payment_terms_days")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int)):
        raise invalid("payment_terms_days", "must be a whole number of days")

    def amount(name: str) -> Decimal | None:
        value = doc.get(name)
        return None if value is None else _money(value, name, currency)

    def text(name: str) -> str | None:
        value = doc.get(name)
        return None if value is None else _free_text(value, name)

    price_book = None if book is None else _price_book(book, "price_book")
    volume_tiers = None if tiers is None else _tiers(tiers, "tiers")
    fixed_fees = tuple(
        _fee(fee, f"fixed_fees[{i}]", currency)
        for i, fee in enumerate([] if fees is None else _list(fees, "fixed_fees", MAX_FEES))
    )
    commitment, credit_limit = amount("monthly_commitment"), amount("credit_limit")
    purchase_order, cost_centre = text("purchase_order"), text("cost_centre")
    annex_grouping = None if annex is None else member(AnnexGrouping, annex, "annex")
    bundle = None if allowance is None else _allowance(allowance, currency)
    revenue_share = None if share is None else _revenue_share(share)
    return _built(
        "",
        lambda: Terms(
            price_book=price_book,
            tiers=volume_tiers,
            monthly_commitment=commitment,
            fixed_fees=fixed_fees,
            credit_limit=credit_limit,
            payment_terms_days=days,
            purchase_order=purchase_order,
            cost_centre=cost_centre,
            annex=annex_grouping,
            allowance=bundle,
            revenue_share=revenue_share,
        ),
    )


_BOOK = frozenset({"tariff_id", "discount", "site_ids", "min_power_kw", "max_power_kw"})


def _price_book(value: Any, path: str) -> PriceBook:
    doc = _object(value, path, _BOOK)
    raw_tariff, raw_discount, raw_sites = (
        doc.get(k) for k in ("tariff_id", "discount", "site_ids")
    )
    tariff_id = None if raw_tariff is None else _uuid(raw_tariff, _at(path, "tariff_id"))
    discount = None if raw_discount is None else _discount(raw_discount, _at(path, "discount"))
    sites = [] if raw_sites is None else _list(raw_sites, _at(path, "site_ids"), MAX_SITES)
    site_ids = [_uuid(site, f"{path}.site_ids[{i}]") for i, site in enumerate(sites)]
    if len(set(site_ids)) != len(site_ids):
        twice = next(i for i, site in enumerate(site_ids) if site in site_ids[:i])
        raise invalid(f"{path}.site_ids[{twice}]", "is listed twice")
    low, high = (
        None if doc.get(name) is None else _number(doc[name], _at(path, name))
        for name in ("min_power_kw", "max_power_kw")
    )
    return _built(path, lambda: PriceBook(tariff_id, discount, frozenset(site_ids), low, high))


def _discount(value: Any, path: str) -> Discount:
    doc = _object(value, path, frozenset({"kind", "value"}))
    kind = member(DiscountKind, doc.get("kind"), _at(path, "kind"))
    number = _number(doc.get("value"), _at(path, "value"))
    return _built(path, lambda: Discount(kind, number))


def _tiers(value: Any, path: str) -> VolumeTiers:
    doc = _object(value, path, frozenset({"model", "bands"}))
    model = member(TierModel, doc.get("model"), _at(path, "model"))
    raw_bands = _list(doc.get("bands"), _at(path, "bands"), MAX_TIERS)
    bands = tuple(_band(raw, f"{path}.bands[{i}]") for i, raw in enumerate(raw_bands))
    return _built(path, lambda: VolumeTiers(model, bands))


def _band(value: Any, path: str) -> TierBand:
    doc = _object(value, path, frozenset({"from_kwh", "price_per_kwh"}))
    from_kwh = _number(doc.get("from_kwh"), _at(path, "from_kwh"))
    price = _number(doc.get("price_per_kwh"), _at(path, "price_per_kwh"))
    return _built(path, lambda: TierBand(from_kwh, price))


def _fee(value: Any, path: str, currency: Currency) -> FixedFee:
    doc = _object(value, path, frozenset({"basis", "amount", "description"}))
    basis = member(FeeBasis, doc.get("basis"), _at(path, "basis"))
    amount = _money(doc.get("amount"), _at(path, "amount"), currency)
    description = _free_text(doc.get("description"), _at(path, "description"))
    return _built(path, lambda: FixedFee(basis, amount, description))


def _allowance(value: Any, currency: Currency) -> Allowance:
    path = "allowance"
    doc = _object(value, path, frozenset({"unit", "amount", "price"}))
    unit = member(AllowanceUnit, doc.get("unit"), _at(path, "unit"))
    at = _at(path, "amount")
    amount = (
        _money(doc.get("amount"), at, currency)
        if unit is AllowanceUnit.MONEY
        else _number(doc.get("amount"), at)
    )
    raw_price = doc.get("price")
    price = None if raw_price is None else _money(raw_price, _at(path, "price"), currency)
    return _built(path, lambda: Allowance(unit, amount, price))


def _revenue_share(value: Any) -> RevenueShare:
    path = "revenue_share"
    doc = _object(value, path, frozenset({"percent", "per_kwh"}))
    percent, per_kwh = (
        None if doc.get(name) is None else _number(doc[name], _at(path, name))
        for name in ("percent", "per_kwh")
    )
    return _built(path, lambda: RevenueShare(percent, per_kwh))


def _text_of(number: Decimal) -> str:
    """Plain notation with the decimals the value holds (``10.00`` stays ``10.00``)."""
    return format(number, "f")


def terms_to_json(terms: Terms) -> dict[str, Any]:
    """The stored / API document of ``terms`` (see the module docstring)."""
    doc: dict[str, Any] = {}
    if terms.price_book is not None:
        doc["price_book"] = _price_book_json(terms.price_book)
    if terms.tiers is not None:
        doc["tiers"] = {
            "model": terms.tiers.model.value,
            "bands": [
                {"from_kwh": _text_of(b.from_kwh), "price_per_kwh": _text_of(b.price_per_kwh)}
                for b in terms.tiers.bands
            ],
        }
    if terms.monthly_commitment is not None:
        doc["monthly_commitment"] = _text_of(terms.monthly_commitment)
    if terms.fixed_fees:
        doc["fixed_fees"] = [
            {"basis": f.basis.value, "amount": _text_of(f.amount), "description": f.description}
            for f in terms.fixed_fees
        ]
    if terms.credit_limit is not None:
        doc["credit_limit"] = _text_of(terms.credit_limit)
    for name in ("payment_terms_days", "purchase_order", "cost_centre"):
        if getattr(terms, name) is not None:
            doc[name] = getattr(terms, name)
    if terms.annex is not None:
        doc["annex"] = terms.annex.value
    if terms.allowance is not None:
        doc["allowance"] = {
            "unit": terms.allowance.unit.value,
            "amount": _text_of(terms.allowance.amount),
            **({} if terms.allowance.price is None else {"price": _text_of(terms.allowance.price)}),
        }
    share = terms.revenue_share
    if share is not None:
        doc["revenue_share"] = (
            {"percent": _text_of(share.percent)}
            if share.percent is not None
            else {"per_kwh": _text_of(share.per_kwh or Decimal(0))}
        )
    return doc


def _price_book_json(book: PriceBook) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if book.tariff_id is not None:
        doc["tariff_id"] = str(book.tariff_id)
    if book.discount is not None:
        doc["discount"] = {"kind": book.discount.kind.value, "value": _text_of(book.discount.value)}
    if book.site_ids:
        doc["site_ids"] = sorted(str(site) for site in book.site_ids)
    for name in ("min_power_kw", "max_power_kw"):
        value = getattr(book, name)
        if value is not None:
            doc[name] = _text_of(value)
    return doc
