"""Small checks on the text we store.

Two kinds, with one line between them (issue 11 item 6, DESIGN §2 "No card data"):

- *Free text* a person types (names, labels, reasons, notes, addresses, e-mails, references):
  ``required_text``/``optional_text`` refuse anything holding a card number
  (``card_data_refused``): a clerk pasting a card into a note must not put it in the database.
- *Identifiers* a protocol or a device defines (OCPP charge point ids, RFID idTags / token
  uids, EVSE ids and OCPI evse_uids, serial numbers, meter serials, public keys, OCPP message
  and transaction ids): ``required_identifier``/``optional_identifier`` check presence and
  length only. They are often long digit strings, a tenth of which pass the Luhn check by
  chance; refusing them would refuse real hardware, and they are not where people type cards.
"""

from __future__ import annotations

from chargeledger.domain.card_data import refuse_card_data
from chargeledger.errors import InvalidInputError


def required_text(value: str, field: str, max_length: int = 200) -> str:
    """Trimmed, non-empty free text of bounded length that holds no card number."""
    text = required_identifier(value, field, max_length)
    refuse_card_data(text, field)
    return text


def optional_text(value: str | None, field: str, max_length: int = 200) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return required_text(value, field, max_length)


def required_identifier(value: str, field: str, max_length: int = 200) -> str:
    """A trimmed, non-empty identifier of bounded length (not checked for card numbers)."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise InvalidInputError(f"{field} must not be empty", code="missing_field", field=field)
    if len(text) > max_length:
        raise InvalidInputError(
            f"{field} is longer than {max_length} characters", code="too_long", field=field
        )
    return text


def optional_identifier(value: str | None, field: str, max_length: int = 200) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return required_identifier(value, field, max_length)
