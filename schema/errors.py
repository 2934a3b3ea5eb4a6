"""Errors as data: the Error interface and the error types mutation payloads carry."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import strawberry

from db import errors as domain
from schema.relay import to_global_id


@strawberry.interface(
    description=(
        "A problem a client can act on. Select `message` and `code` on `... on Error` and new "
        "error types will not break your client."
    )
)
class Error:
    message: str
    code: str = strawberry.field(description="Stable machine-readable code, e.g. INVALID_EMAIL.")
    field: list[str] | None = strawberry.field(
        default=None,
        description='Path to the input field at fault, e.g. ["input", "customer", "email"].',
    )


@strawberry.type(description="Input that failed validation; `field` names the culprit.")
class ValidationError(Error):
    pass


@strawberry.type(description="A referenced record does not exist (or is not visible to you).")
class ResourceNotFoundError(Error):
    resource_type: str
    resource_id: strawberry.ID | None = None


@strawberry.type(description="The id belongs to another dealership. Nothing was changed.")
class MultiTenantViolationError(Error):
    pass


@strawberry.type(
    description="Someone else changed the record since you read it. Reload and try again."
)
class VersionConflictError(Error):
    current_version: int


@strawberry.type(description="Your role is not allowed to do this.")
class PermissionDeniedError(Error):
    pass


@strawberry.type(description="The operation ran out of time and was rolled back; retry it.")
class OperationTimeoutError(Error):
    pass


def field_path(path: tuple[str, ...] | None) -> list[str] | None:
    return list(path) if path else None


E = TypeVar("E", bound=domain.DomainError)
_DOMAIN_ERRORS: dict[type[domain.DomainError], Callable[[domain.DomainError], Error]] = {}


def register_error(kind: type[E], build: Callable[[E], Error]) -> None:
    """Map a domain's own refusal (e.g. VehicleNotAvailable) to its GraphQL error type."""
    _DOMAIN_ERRORS[kind] = build  # type: ignore[assignment]


def error_from_domain(exc: domain.DomainError) -> Error:
    """The GraphQL error type for a domain refusal."""
    for kind in type(exc).__mro__:
        build = _DOMAIN_ERRORS.get(kind)
        if build is not None:
            return build(exc)
    field = field_path(exc.field)
    if isinstance(exc, domain.NotFound):
        resource_id = (
            to_global_id(exc.entity, exc.entity_id)
            if isinstance(exc.entity_id, int)
            else exc.entity_id
        )
        return ResourceNotFoundError(
            message=exc.message,
            code=exc.code,
            field=field,
            resource_type=exc.entity,
            resource_id=None if resource_id is None else strawberry.ID(str(resource_id)),
        )
    if isinstance(exc, domain.TenantViolation):
        return MultiTenantViolationError(message=exc.message, code=exc.code, field=field)
    if isinstance(exc, domain.VersionConflict):
        return VersionConflictError(
            message=exc.message, code=exc.code, field=field, current_version=exc.current
        )
    if isinstance(exc, domain.PermissionDenied):
        return PermissionDeniedError(message=exc.message, code=exc.code, field=field)
    if isinstance(exc, domain.TransactionTimeout):
        return OperationTimeoutError(message=exc.message, code=exc.code, field=field)
    return ValidationError(message=exc.message, code=exc.code, field=field)


# The errors any mutation can answer with; each payload union adds its own.
CommonErrors = (
    ValidationError
    | ResourceNotFoundError
    | MultiTenantViolationError
    | PermissionDeniedError
    | OperationTimeoutError
)
