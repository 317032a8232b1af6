"""Small checks on free text shared by the catalog entities."""

from __future__ import annotations

from chargeledger.errors import InvalidInputError


def required_text(value: str, field: str, max_length: int = 200) -> str:
    """Trimmed, non-empty text of bounded length."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise InvalidInputError(f"{field} must not be empty", code="missing_field", field=field)
    if len(text) > max_length:
        raise InvalidInputError(
            f"{field} is longer than {max_length} characters", code="too_long", field=field
        )
    return text


def optional_text(value: str | None, field: str, max_length: int = 200) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return required_text(value, field, max_length)
