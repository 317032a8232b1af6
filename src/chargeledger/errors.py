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


class SessionsChangedError(ConflictError):
    """Sessions changed since they were read, found when deferred updates of them were written
    (``SqlSessionRepository.defer_updates``): the unit of work must be rolled back and its
    work done again with immediate updates."""

    default_code = "session_changed"


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


class RetryLaterError(ChargeledgerError):
    """Refused for now; the same request may succeed after ``retry_after`` whole seconds
    (RFC 9110 §10.2.3 ``Retry-After``)."""

    default_code = "retry_later"
    http_status = 503

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        self.retry_after = max(1, retry_after)
        super().__init__(message, code=code, details={"retry_after": self.retry_after})


class TooManyAttemptsError(RetryLaterError):
    """The caller tried too often or too much at once (RFC 6585 §4: 429)."""

    default_code = "too_many_attempts"
    http_status = 429


class ServiceBusyError(RetryLaterError):
    """The server's own capacity for the work is used up (503), whoever asked."""

    default_code = "service_busy"
    http_status = 503
