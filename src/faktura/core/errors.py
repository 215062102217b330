"""One family of domain errors, each with a stable code that every front door maps."""

from __future__ import annotations


class DomainError(Exception):
    """A refusal by the domain: never a crash, always a clear reason."""

    code = "domain_error"
    http_status = 400

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.field = field


class NotFound(DomainError):
    code = "not_found"
    http_status = 404


class InvalidInput(DomainError):
    """The input itself is wrong (bad IBAN, three decimals, unknown tax rate)."""

    code = "invalid_input"
    http_status = 422


class StateConflict(DomainError):
    """The input is fine but the object's state forbids the operation."""

    code = "state_conflict"
    http_status = 409


class PermissionRefused(DomainError):
    code = "permission_denied"
    http_status = 403


class ImmutableDocument(StateConflict):
    """Raised by the model layer when anything tries to change a finalized document."""

    code = "document_finalized"
