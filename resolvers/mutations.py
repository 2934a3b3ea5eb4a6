"""How every mutation resolver runs: domain refusals become the payload's error types, and
writes go through one unit of work with the caller as the audit actor.

A mutation resolver raises `db.errors.DomainError`s (from validation, storage, or itself)
and returns its success type; `@mutation` turns a refusal into the matching error member of
the payload union, and files cross-tenant attempts in the security audit log.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncSession

from db.errors import DomainError, TenantViolation, Unauthenticated
from db.storage.audit import Actor, record_security_event
from db.transactions import TxOptions
from resolvers.context import Info
from schema.errors import error_from_domain

log = logging.getLogger("dealerdesk.mutations")

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


def actor_of(info: Info) -> Actor:
    principal = info.context.require_principal()
    return Actor(
        dealership_id=principal.dealership_id,
        user_id=principal.user_id,
        request_id=info.context.request_id or None,
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
                await _record_violation(info, exc, resolver.__name__)
            return cast(R, error_from_domain(exc))

    return wrapper


async def _record_violation(info: Info, exc: TenantViolation, operation: str) -> None:
    context = info.context
    principal = context.principal
    request = context.request
    client = request.client.host if request.client else None

    async def work(session: AsyncSession) -> None:
        await record_security_event(
            session,
            dealership_id=principal.dealership_id if principal else None,
            user_id=principal.user_id if principal else None,
            event="tenant.cross_tenant_write",
            outcome="denied",
            client_ip=client,
            user_agent=request.headers.get("user-agent"),
            request_id=context.request_id or None,
            details={
                "operation": operation,
                "entity": exc.entity,
                "field": list(exc.field) if exc.field else None,
            },
        )

    try:
        await context.db.transaction(work)
    except Exception:
        # The refusal stands either way; losing its log entry must not turn it into a 500.
        log.exception("could not record a cross-tenant write attempt")
