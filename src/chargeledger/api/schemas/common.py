"""Shapes shared by every resource: pages, the error body, and the bounded numbers.

DESIGN §6: every numeric input has bounds in its schema (issue 11 item 17), so a number the
service or the database cannot take is a 422 with its field, never a 500. The domain still
checks what it owns (money, readings, EVSE numbers): these types are the first fence, and
they name the same limits.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, ClassVar, Generic, Self, TypeVar

from fastapi import Query
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from chargeledger.domain.accounts import MAX_PAYMENT_TERMS_DAYS
from chargeledger.domain.catalog import MAX_CONNECTOR_ID, MAX_CONNECTOR_POWER_KW, MAX_EVSE_ID
from chargeledger.domain.charging import MAX_METER_WH
from chargeledger.errors import InvalidInputError
from chargeledger.money import MAX_AMOUNT
from chargeledger.services.common import MAX_OFFSET, MAX_PAGE_SIZE
from chargeledger.services.quotes import MAX_QUOTE_KWH, MAX_QUOTE_MINUTES

T = TypeVar("T")

CODED_ERRORS: set[str] = set()
# What a bound reports; a value of the wrong type stays ``invalid_request``.
BOUNDS = frozenset(
    {
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
        "decimal_max_places",
        "decimal_max_digits",
        "decimal_whole_digits",
    }
)
# The bounds a field gained with issue 11 where it had a lower bound (``invalid_request``) before.
UPPER_BOUNDS = BOUNDS - {"greater_than", "greater_than_equal"}


def coded(code: str, kinds: frozenset[str] = BOUNDS) -> WrapValidator:
    """Report a value beyond this field's bounds under ``code``, the code the domain gives
    that mistake. Codes are stable (``errors.py``): a value the domain used to refuse keeps
    its code now that the schema refuses it first, and what the schema refused before
    (``kinds`` leaves those out) stays ``invalid_request``.
    """
    CODED_ERRORS.add(code)

    def validate(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError as exc:
            first = exc.errors()[0]
            if first["type"] not in kinds:
                raise
            reason = first["msg"]
            raise PydanticCustomError(code, "{reason}", {"reason": reason}) from None

    return WrapValidator(validate)


# Paging (query parameters): out of range is ``invalid_request``, as it always was.
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="page size")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="items to skip")]

# Money: at most 1e9 and 4 decimals here (the domain checks the currency's own decimals and
# its own limits, and names the error). Decimals refuse NaN and Infinity; ``decimal_places``
# refuses absurd negative exponents and a bound refuses absurd positive ones.
Amount = Annotated[Decimal, Field(gt=0, le=MAX_AMOUNT, decimal_places=4)]
AmountOrZero = Annotated[Decimal, Field(ge=0, le=MAX_AMOUNT, decimal_places=4)]

# The physical network: OCPP numbering, OCPI coordinates, what a connector can deliver.
EvseNumber = Annotated[int, Field(ge=1, le=MAX_EVSE_ID), coded("invalid_evse_id")]
ConnectorNumber = Annotated[int, Field(ge=1, le=MAX_CONNECTOR_ID), coded("invalid_connector_id")]
PowerKw = Annotated[
    Decimal,
    Field(gt=0, le=MAX_CONNECTOR_POWER_KW, decimal_places=3),
    coded("invalid_max_power"),
]
Latitude = Annotated[Decimal, Field(ge=-90, le=90), coded("invalid_coordinates")]
Longitude = Annotated[Decimal, Field(ge=-180, le=180), coded("invalid_coordinates")]
SecurityProfile = Annotated[
    int,
    Field(ge=1, le=3, description="OCPP security profile"),
    coded("invalid_security_profile"),
]
ReservationId = Annotated[int, Field(ge=0, le=2**31 - 1, description="an OCPP integer")]

# Energy and time.
# A negative reading reaches the domain, which refuses it as it refuses the same reading from a
# station (``negative_meter_reading``); beyond any meter or below the Wh is this field's error.
MeterWh = Annotated[
    Decimal,
    Field(le=MAX_METER_WH, decimal_places=3),
    coded("invalid_meter_reading", UPPER_BOUNDS),
]
QuoteKwh = Annotated[Decimal, Field(ge=0, le=MAX_QUOTE_KWH, decimal_places=4)]
QuoteMinutes = Annotated[
    int, Field(ge=0, le=MAX_QUOTE_MINUTES), coded("invalid_quote", UPPER_BOUNDS)
]

# Customers and documents.
PaymentTermsDays = Annotated[
    int, Field(ge=0, le=MAX_PAYMENT_TERMS_DAYS), coded("invalid_payment_terms")
]
LinePosition = Annotated[int, Field(ge=1, le=1_000_000)]
# The sandbox PSP's card field: a month out of range was always ``expired_card`` there.
CardMonth = Annotated[int, Field(ge=1, le=12), coded("expired_card")]
CardYear = Annotated[int, Field(ge=0, le=2099)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Patch(Input):
    """A partial update: fields left out stay as they are. An explicit ``null`` is accepted
    only for fields that may be empty (``nullable``); elsewhere it is a 422, not a crash."""

    nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _refuse_null_for_required_fields(self) -> Self:
        for name in sorted(self.model_fields_set):
            if getattr(self, name) is None and name not in self.nullable:
                raise InvalidInputError(f"{name} may not be null", code="missing_field", field=name)
        return self


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    next_offset: int | None


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None
    details: dict[str, Any] | None = None


class ErrorOut(BaseModel):
    error: ErrorDetail


_ERRORS = {
    400: "The request could not be read (e.g. a body that is not JSON)",
    401: "Not authenticated",
    403: "Not allowed for this role or API key",
    404: "Not found, or not visible to the caller",
    409: "The current state forbids it",
    413: "The request body is larger than this endpoint takes",
    422: "Invalid input: the error names the field",
}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text} for status, text in _ERRORS.items()
}
# For routers with routes that answer HTML or PDF: their errors are JSON all the same. (With
# ``model``, FastAPI would document the error under the route's own media type.)
JSON_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": text,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
    }
    for status, text in _ERRORS.items()
}
