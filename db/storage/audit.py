"""Writing the audit trails: a row per successful change (in the change's own transaction),
and security events (in a transaction of their own, so a refusal is kept even though the
refused change is rolled back)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

from sqlalchemy import insert, inspect
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditLog, Base, SecurityAuditLog
from db.models.enums import Role
from db.types import JSONObject, JSONValue

# Bookkeeping columns whose change says nothing a reviewer needs.
# email_key is lower(email), kept by the database: the e-mail itself is recorded.
_NOISE = frozenset({"updated_at", "created_at", "email_key"})


@dataclass(frozen=True)
class Actor:
    """Who makes a change: the signed-in user of a dealership, in a request, with the actions
    their role may take (for the few rules that depend on the row, e.g. cancelling an
    approved deal; which root fields a role may call is checked before any of this runs)."""

    dealership_id: int
    user_id: int | None
    request_id: str | None = None
    role: Role | None = None
    actions: frozenset[str] = frozenset()

    def may(self, action: str) -> bool:
        return action in self.actions


def jsonable(value: object) -> JSONValue:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return value
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return str(value)


REDACTED = "[redacted]"
CHANGED = "[changed]"


def snapshot(row: Base, *, redact: frozenset[str] = frozenset()) -> JSONObject:
    """The row's column values as JSON; `redact` names columns recorded only as changed.

    Columns marked sensitive in the model (`info={"sensitive": True}`, the encrypted
    customer fields) are always redacted, and recorded as null while empty so that setting
    or clearing them shows; a change from one value to another shows only when the caller
    marks it (mark_changed)."""
    mapper = inspect(type(row))
    values: JSONObject = {}
    for attr in mapper.column_attrs:
        key = attr.key
        if key in _NOISE:
            continue
        if attr.columns[0].info.get("sensitive"):
            values[key] = None if getattr(row, key) is None else REDACTED
        else:
            values[key] = REDACTED if key in redact else jsonable(getattr(row, key))
    return values


def mark_changed(after: JSONObject, before: JSONObject, keys: frozenset[str]) -> JSONObject:
    """`after` with each redacted key of `keys` that was set before and still is recorded as
    "[changed]", so the trail shows a new value replaced an old one without showing either."""
    marked = dict(after)
    for key in keys:
        if before.get(key) == REDACTED and after.get(key) == REDACTED:
            marked[key] = CHANGED
    return marked


def diff(before: JSONObject | None, after: JSONObject | None) -> JSONObject:
    """{"field": {"before": .., "after": ..}} for each field that differs."""
    old = before or {}
    new = after or {}
    changes: JSONObject = {}
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key) or before is None or after is None:
            changes[key] = {"before": old.get(key), "after": new.get(key)}
    return changes


async def record_change(
    session: AsyncSession,
    actor: Actor,
    *,
    action: str,
    entity_type: str,
    entity_id: int,
    before: JSONObject | None,
    after: JSONObject | None,
) -> AuditLog:
    entry = AuditLog(
        dealership_id=actor.dealership_id,
        user_id=actor.user_id,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        changes=diff(before, after),
        request_id=actor.request_id,
    )
    session.add(entry)
    await session.flush()
    return entry


def entity_id_of(row: Base) -> int:
    """The id an audit row names: the row's last primary-key column (`id` of a tenant row,
    whose key is (dealership_id, id); `dealership_id` of the settings row)."""
    identity = inspect(row).identity
    assert identity is not None, "flushed rows have an identity"
    value = identity[-1]
    assert isinstance(value, int)
    return value


async def record_row(
    session: AsyncSession,
    actor: Actor,
    row: Base,
    *,
    action: str,
    entity_type: str,
    before: JSONObject | None,
    redact: frozenset[str] = frozenset(),
) -> None:
    """Audit the change of a written (flushed) `row` from `before` (None: created) to the
    row as it is now."""
    await record_change(
        session,
        actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id_of(row),
        before=before,
        after=snapshot(row, redact=redact),
    )


async def flush_and_record(
    session: AsyncSession,
    actor: Actor,
    row: Base,
    *,
    action: str,
    entity_type: str,
    before: JSONObject | None,
    redact: frozenset[str] = frozenset(),
) -> None:
    """Write `row` (added or changed; RETURNING brings back what the database set: ids,
    defaults, timestamps) and audit the change (record_row)."""
    await session.flush()
    await record_row(
        session, actor, row, action=action, entity_type=entity_type, before=before, redact=redact
    )


async def delete_and_record(
    session: AsyncSession, actor: Actor, row: Base, *, action: str, entity_type: str
) -> None:
    """Delete `row` for good and audit what it was."""
    before = snapshot(row)
    entity_id = entity_id_of(row)
    await session.delete(row)
    await session.flush()
    await record_change(
        session,
        actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        before=before,
        after=None,
    )


async def record_security_event(
    session: AsyncSession,
    *,
    dealership_id: int | None,
    user_id: int | None,
    event: str,
    outcome: str,
    client_ip: str | None = None,
    user_agent: str | None = None,
    request_id: str | None = None,
    details: JSONObject | None = None,
) -> None:
    # A plain INSERT, without RETURNING: an event filed under dealership 0 (tied to none) is
    # one the session may add but, rightly, not read back.
    await session.execute(
        insert(SecurityAuditLog)
        .inline()
        .values(
            dealership_id=dealership_id or 0,
            user_id=user_id,
            event=event,
            outcome=outcome,
            client_ip=client_ip,
            user_agent=(user_agent or "")[:500] or None,
            request_id=request_id,
            details=details or {},
        )
    )
