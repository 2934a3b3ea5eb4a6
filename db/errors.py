"""Domain errors raised by the storage layer; resolvers turn each into a GraphQL error type."""

from __future__ import annotations


class DomainError(Exception):
    """A refusal the client can act on. `code` is stable; `message` is for people."""

    code = "BAD_REQUEST"

    def __init__(self, message: str, *, field: tuple[str, ...] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationFailed(DomainError):
    code = "INVALID"

    def __init__(
        self, message: str, *, field: tuple[str, ...] | None = None, code: str | None = None
    ) -> None:
        super().__init__(message, field=field)
        if code is not None:
            self.code = code


class NotFound(DomainError):
    code = "NOT_FOUND"

    def __init__(
        self, entity: str, entity_id: int | str | None, *, field: tuple[str, ...] | None = None
    ) -> None:
        super().__init__(f"{entity} {entity_id} was not found", field=field)
        self.entity = entity
        self.entity_id = entity_id


class TenantViolation(DomainError):
    """The id exists, but belongs to another dealership."""

    code = "CROSS_TENANT"

    def __init__(self, entity: str, *, field: tuple[str, ...] | None = None) -> None:
        super().__init__(f"this {entity} belongs to another dealership", field=field)
        self.entity = entity


class VersionConflict(DomainError):
    code = "VERSION_CONFLICT"

    def __init__(self, entity: str, expected: int, current: int) -> None:
        super().__init__(
            f"{entity} was changed by someone else (you had version {expected}, "
            f"it is now {current}); reload and apply your change again",
            field=("input", "version"),
        )
        self.expected = expected
        self.current = current


class TransactionTimeout(DomainError):
    code = "TIMEOUT"

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the operation did not finish within {seconds:g} s and was undone")
        self.seconds = seconds


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"


class PermissionDenied(DomainError):
    code = "FORBIDDEN"
