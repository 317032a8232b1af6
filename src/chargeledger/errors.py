"""One error tree for the whole project.

Every error carries a stable, machine-readable ``code`` (snake_case, never renamed once
released) and a human message. The edges translate them without guessing: the REST API maps
``http_status`` into ``{"error": {"code", "message"}}``, the CLI prints the message and exits
non-zero, the OCPP edge answers with a CALLERROR.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class ChargeledgerError(Exception):
    """Base of every error we raise on purpose."""

    default_code: ClassVar[str] = "error"
    http_status: ClassVar[int] = 400

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.field = field
        self.details = dict(details or {})

    def as_dict(self) -> dict[str, Any]:
        """The body the API returns under ``"error"``."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        if self.details:
            body["details"] = self.details
        return body


class InvalidInputError(ChargeledgerError):
    """The input breaks a business rule (bad VAT id, unknown time zone, ...)."""

    default_code = "invalid_input"
    http_status = 422


class DuplicateError(InvalidInputError):
    """A unique key is already taken; nothing was written."""

    default_code = "duplicate"
    http_status = 422


class NotFoundError(ChargeledgerError):
    default_code = "not_found"
    http_status = 404


class ConflictError(ChargeledgerError):
    """The request is valid but the current state forbids it (e.g. deleting a site in use)."""

    default_code = "conflict"
    http_status = 409


class CurrencyMismatchError(InvalidInputError):
    """Two amounts in different currencies met in one operation."""

    default_code = "currency_mismatch"


class AuthenticationError(ChargeledgerError):
    default_code = "not_authenticated"
    http_status = 401


class PermissionDeniedError(ChargeledgerError):
    default_code = "permission_denied"
    http_status = 403


class ConfigurationError(ChargeledgerError):
    default_code = "configuration_error"
    http_status = 500
