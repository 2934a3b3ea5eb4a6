"""Reading the audit trails (db.storage.audit writes them). Both are append-only: there is
nothing here, nor anywhere, that changes or removes an entry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from db.models import AuditLog, SecurityAuditLog
from db.storage import pagination
from db.storage.sql import escape_like
from db.validation import utc_instant


@dataclass(frozen=True)
class AuditLogFilter:
    entity_type: str | None = None
    entity_id: int | None = None
    user_id: int | None = None
    action: str | None = None  # exact, or a prefix when it ends with "." (e.g. "deal.")
    occurred_after: datetime | None = None  # inclusive
    occurred_before: datetime | None = None  # exclusive


@dataclass(frozen=True)
class SecurityAuditLogFilter:
    event: str | None = None  # exact, or a prefix when it ends with "." (e.g. "auth.")
    outcome: str | None = None
    user_id: int | None = None
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None


def _name_condition(column: QueryableAttribute[str], value: str) -> ColumnElement[bool]:
    """Exact match, or every name under a dotted prefix ("deal." matches "deal.create")."""
    value = value.strip()
    if value.endswith("."):
        return column.like(f"{escape_like(value)}%")
    return column == value


def _check_period(after: datetime | None, before: datetime | None) -> None:
    for value, name in ((after, "occurredAfter"), (before, "occurredBefore")):
        if value is not None:
            utc_instant(value, field=("filter", name))


def _audit_filtered(filter: AuditLogFilter) -> Select[AuditLog]:
    _check_period(filter.occurred_after, filter.occurred_before)
    stmt = select(AuditLog)
    if filter.entity_type is not None:
        stmt = stmt.where(AuditLog.entity_type == filter.entity_type)
    if filter.entity_id is not None:
        stmt = stmt.where(AuditLog.entity_id == filter.entity_id)
    if filter.user_id is not None:
        stmt = stmt.where(AuditLog.user_id == filter.user_id)
    if filter.action:
        stmt = stmt.where(_name_condition(AuditLog.action, filter.action))
    if filter.occurred_after is not None:
        stmt = stmt.where(AuditLog.occurred_at >= filter.occurred_after)
    if filter.occurred_before is not None:
        stmt = stmt.where(AuditLog.occurred_at < filter.occurred_before)
    return stmt


def _security_filtered(filter: SecurityAuditLogFilter) -> Select[SecurityAuditLog]:
    _check_period(filter.occurred_after, filter.occurred_before)
    stmt = select(SecurityAuditLog)
    if filter.event:
        stmt = stmt.where(_name_condition(SecurityAuditLog.event, filter.event))
    if filter.outcome:
        stmt = stmt.where(SecurityAuditLog.outcome == filter.outcome.strip())
    if filter.user_id is not None:
        stmt = stmt.where(SecurityAuditLog.user_id == filter.user_id)
    if filter.occurred_after is not None:
        stmt = stmt.where(SecurityAuditLog.occurred_at >= filter.occurred_after)
    if filter.occurred_before is not None:
        stmt = stmt.where(SecurityAuditLog.occurred_at < filter.occurred_before)
    return stmt


async def list_audit_logs(
    session: AsyncSession,
    *,
    filter: AuditLogFilter,
    descending: bool = True,
    page: pagination.PageArgs,
) -> pagination.Page[AuditLog]:
    keys = [
        pagination.SortKey(AuditLog.occurred_at, descending),
        pagination.SortKey(AuditLog.id, descending),
    ]
    return await pagination.paginate(session, _audit_filtered(filter), keys, page)


async def count_audit_logs(session: AsyncSession, *, filter: AuditLogFilter) -> int:
    return await pagination.count(session, _audit_filtered(filter))


async def list_security_audit_logs(
    session: AsyncSession,
    *,
    filter: SecurityAuditLogFilter,
    descending: bool = True,
    page: pagination.PageArgs,
) -> pagination.Page[SecurityAuditLog]:
    keys = [
        pagination.SortKey(SecurityAuditLog.occurred_at, descending),
        pagination.SortKey(SecurityAuditLog.id, descending),
    ]
    return await pagination.paginate(session, _security_filtered(filter), keys, page)


async def count_security_audit_logs(
    session: AsyncSession, *, filter: SecurityAuditLogFilter
) -> int:
    return await pagination.count(session, _security_filtered(filter))
