"""Audit trail queries. There are deliberately no audit mutations: the trails are
append-only, and the database role cannot change or remove an entry either."""

from __future__ import annotations

import strawberry

from db.errors import ValidationFailed
from db.storage import audit_logs as storage
from db.storage.pagination import PageArgs
from resolvers.context import Info
from resolvers.ids import decode_optional_id
from resolvers.pagination import to_connection
from resolvers.permissions import requires
from schema.audit import (
    AuditLog,
    AuditLogFilter,
    AuditLogOrder,
    SecurityAuditLog,
    SecurityAuditLogFilter,
    SecurityAuditLogOrder,
)
from schema.base import from_row
from schema.relay import Connection, OrderDirection, from_global_id

FILTER = ("filter",)


def _entity(global_id: str | None) -> tuple[str | None, int | None]:
    """(entity type, pk) of a global id of any type."""
    if global_id is None:
        return None, None
    try:
        return from_global_id(global_id)
    except ValueError:
        raise ValidationFailed(
            f"{global_id!r} is not a valid id", field=(*FILTER, "entityId"), code="INVALID_ID"
        ) from None


async def audit_logs(
    info: Info,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    filter: AuditLogFilter | None = None,
    order_by: AuditLogOrder | None = None,
) -> Connection[AuditLog]:
    """Your dealership's record of changes, newest first by default."""
    flt = filter or AuditLogFilter()
    id_type, entity_id = _entity(flt.entity_id)
    if flt.entity_type is not None and id_type is not None and flt.entity_type != id_type:
        raise ValidationFailed(
            f"entityId is the id of a {id_type}, not a {flt.entity_type}",
            field=(*FILTER, "entityId"),
            code="INVALID_ID",
        )
    criteria = storage.AuditLogFilter(
        entity_type=id_type or flt.entity_type,
        entity_id=entity_id,
        user_id=decode_optional_id(flt.user_id, "User", field=(*FILTER, "userId")),
        action=flt.action,
        occurred_after=flt.occurred_after,
        occurred_before=flt.occurred_before,
    )
    order = order_by or AuditLogOrder()
    async with info.context.db.session() as session:
        page = await storage.list_audit_logs(
            session,
            filter=criteria,
            descending=order.direction is OrderDirection.DESC,
            page=PageArgs(first=first, after=after, last=last, before=before),
        )
    return to_connection(
        info,
        page,
        lambda row: from_row(AuditLog, row),
        lambda session: storage.count_audit_logs(session, filter=criteria),
    )


async def security_audit_logs(
    info: Info,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    filter: SecurityAuditLogFilter | None = None,
    order_by: SecurityAuditLogOrder | None = None,
) -> Connection[SecurityAuditLog]:
    """Your dealership's security events (sign-ins, refusals), newest first by default."""
    flt = filter or SecurityAuditLogFilter()
    criteria = storage.SecurityAuditLogFilter(
        event=flt.event,
        outcome=flt.outcome,
        user_id=decode_optional_id(flt.user_id, "User", field=(*FILTER, "userId")),
        occurred_after=flt.occurred_after,
        occurred_before=flt.occurred_before,
    )
    order = order_by or SecurityAuditLogOrder()
    async with info.context.db.session() as session:
        page = await storage.list_security_audit_logs(
            session,
            filter=criteria,
            descending=order.direction is OrderDirection.DESC,
            page=PageArgs(first=first, after=after, last=last, before=before),
        )
    return to_connection(
        info,
        page,
        lambda row: from_row(SecurityAuditLog, row),
        lambda session: storage.count_security_audit_logs(session, filter=criteria),
    )


@strawberry.type
class AuditQuery:
    audit_logs: Connection[AuditLog] = strawberry.field(
        resolver=audit_logs,
        description="Your dealership's record of changes, newest first unless ordered otherwise.",
        extensions=requires("audit.read"),
    )
    security_audit_logs: Connection[SecurityAuditLog] = strawberry.field(
        resolver=security_audit_logs,
        description="Your dealership's security events, newest first unless ordered otherwise.",
        extensions=requires("security_audit.read"),
    )
