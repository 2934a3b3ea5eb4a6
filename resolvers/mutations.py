"""How every mutation resolver runs: domain refusals become the payload's error types, and
writes go through one unit of work with the caller as the audit actor.

A mutation resolver raises `db.errors.DomainError`s (from validation, storage, or itself)
and returns its success type; `@mutation` turns a refusal into the matching error member of
the payload union, and files cross-tenant attempts and permission refusals (rows a policy
hides from the caller, rules that depend on the row) in the security audit log.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar, cast

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types.base import get_object_definition

from db.errors import DomainError, PermissionDenied, TenantViolation, Unauthenticated
from db.storage.audit import Actor
from db.transactions import TxOptions
from resolvers.context import Info
from resolvers.permissions import note_refusal
from schema.errors import error_from_domain

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


def actor_of(info: Info) -> Actor:
    principal = info.context.require_principal()
    return Actor(
        dealership_id=principal.dealership_id,
        user_id=principal.user_id,
        request_id=info.context.request_id or None,
        role=principal.role,
        actions=info.context.actions,
    )


async def write(
    info: Info,
    work: Callable[[AsyncSession, Actor], Awaitable[T]],
    options: TxOptions = TxOptions(),  # noqa: B008 - frozen dataclass
) -> T:
    """Run `work` as one unit of work of the caller (retried on transient failures)."""
    actor = actor_of(info)
    return await info.context.db.transaction(lambda session: work(session, actor), options)


def mutation(resolver: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Turn DomainErrors raised by `resolver` into members of its payload union."""

    @functools.wraps(resolver)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await resolver(*args, **kwargs)
        except Unauthenticated:
            raise  # a top-level error, as for queries: there is no one to answer to
        except DomainError as exc:
            info = cast(Info, kwargs["info"])
            if isinstance(exc, TenantViolation):
                _record_violation(info, exc, resolver.__name__)
            elif isinstance(exc, PermissionDenied):
                note_refusal(info, exc)
            return cast(R, error_from_domain(exc))

    return wrapper


def counted(counter: Counter) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Count a mutation's answers in `counter` by the payload union member returned (its
    __typename), or "error" when it raised (a top-level error: no member was returned).
    Goes above @mutation, which turns refusals into members."""

    children: dict[type, Counter] = {}

    def child(kind: type) -> Counter:
        found = children.get(kind)
        if found is None:
            definition = get_object_definition(kind)
            found = children[kind] = counter.labels(definition.name if definition else "error")
        return found

    def decorate(resolver: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(resolver)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                result = await resolver(*args, **kwargs)
            except Exception:
                child(Exception).inc()
                raise
            child(type(result)).inc()
            return result

        return wrapper

    return decorate


def _record_violation(info: Info, exc: TenantViolation, operation: str) -> None:
    """Filed in the security audit log when the operation ends (the refused change itself is
    rolled back)."""
    info.context.note_security_event(
        "tenant.cross_tenant_write",
        "denied",
        {
            "operation": operation,
            "entity": exc.entity,
            "field": list(exc.field) if exc.field else None,
        },
    )
