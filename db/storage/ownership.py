"""Loading a row a write is about, telling "does not exist" from "belongs to another
dealership" from "yours, but not for you" (which row-level security alone cannot tell): a
salesperson's policies hide other salespeople's deals, which is a refused permission, not
a cross-tenant attempt."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from db.errors import NotFound, PermissionDenied, TenantViolation, VersionConflict
from db.models import Base
from db.models.base import Versioned

M = TypeVar("M", bound=Base)


async def owner_elsewhere(session: AsyncSession, table: str, entity_id: int) -> bool:
    """True when the id exists but under another dealership than the session's."""
    found = await session.scalar(
        text("SELECT dealerdesk_row_owner(:table, :id)"), {"table": table, "id": entity_id}
    )
    return found is not None


async def _refuse(
    session: AsyncSession, table: str, entity_id: int, *, entity: str, field: tuple[str, ...]
) -> NotFound | PermissionDenied | TenantViolation:
    """Why a row the session cannot see is refused: it does not exist, it is the caller's
    dealership's but a policy hides it from the caller, or it is another dealership's."""
    owner, mine = (
        await session.execute(
            text("SELECT dealerdesk_row_owner(:table, :id), dealerdesk_current_dealership()"),
            {"table": table, "id": entity_id},
        )
    ).one()
    if owner is None:
        return NotFound(entity, entity_id, field=field)
    if owner == mine:
        return PermissionDenied(f"you may not see or change this {entity}", field=field)
    return TenantViolation(entity, field=field)


async def load_owned(
    session: AsyncSession,
    model: type[M],
    entity_id: int,
    *,
    entity: str,
    field: tuple[str, ...],
    for_update: bool = False,
) -> M:
    """The row with this id in the caller's dealership, or NotFound / TenantViolation.
    Writes pass for_update=True: the row stays locked until the transaction ends."""
    stmt = select(model).where(model.__table__.c.id == entity_id)
    if for_update:
        stmt = stmt.with_for_update()
    row = await session.scalar(stmt)
    if row is not None:
        return row
    raise await _refuse(session, model.__tablename__, entity_id, entity=entity, field=field)


async def require_owned(
    session: AsyncSession, model: type[M], entity_id: int, *, entity: str, field: tuple[str, ...]
) -> None:
    """Check a referenced id (e.g. the customer a new appointment is for) without loading it."""
    stmt = select(model.__table__.c.id).where(model.__table__.c.id == entity_id)
    if await session.scalar(stmt) is not None:
        return
    raise await _refuse(session, model.__tablename__, entity_id, entity=entity, field=field)


def check_version(row: Versioned, expected: int | None, *, entity: str) -> None:
    """Optimistic concurrency: refuse a write based on a stale read. The row must be locked
    (for_update) so no one can slip in between this check and the write. None skips it."""
    if expected is not None and row.version != expected:
        raise VersionConflict(entity, expected, row.version)


def bump_version(row: Versioned) -> None:
    row.version = row.version + 1
