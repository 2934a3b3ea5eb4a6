"""Fee templates: the fee lines (doc fee, title, registration, ...) a dealership puts on
each deal type. Fees already on a scenario are copies, so templates may change or go."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TypedDict

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.desking import FeeLine
from db.errors import ValidationFailed
from db.models import FeeTemplate
from db.models.enums import DealType, FeeKind
from db.storage.audit import Actor, delete_and_record, flush_and_record, snapshot
from db.storage.ownership import load_owned
from db.validation import (
    ZERO,
    camel,
    decimal_in_range,
    int_in_range,
    not_null,
    require_text,
    required,
)

ENTITY = "FeeTemplate"

AMOUNT_LIMIT = Decimal("100000")
MAX_SORT_ORDER = 10_000


class FeeTemplateFields(TypedDict, total=False):
    """What a client may set; absent keys stay as they are. None is refused for all."""

    name: str | None
    kind: FeeKind | None
    deal_type: DealType | None
    amount: Decimal | None
    taxable: bool | None
    sort_order: int | None


def clean_fields(fields: FeeTemplateFields, *, path: tuple[str, ...]) -> FeeTemplateFields:
    for key, value in fields.items():
        not_null(value, field=(*path, camel(key)))
    clean = fields.copy()
    if "name" in fields:
        clean["name"] = require_text(fields["name"], field=(*path, "name"), max_length=100)
    amount = fields.get("amount")
    if amount is not None:
        decimal_in_range(amount, field=(*path, "amount"), low=ZERO, high=AMOUNT_LIMIT, what="a fee")
    order = fields.get("sort_order")
    if order is not None:
        int_in_range(
            order, field=(*path, "sortOrder"), low=0, high=MAX_SORT_ORDER, what="sortOrder"
        )
    return clean


async def list_fee_templates(
    session: AsyncSession, *, deal_type: DealType | None, include_inactive: bool
) -> list[FeeTemplate]:
    stmt = select(FeeTemplate).order_by(FeeTemplate.sort_order, FeeTemplate.name, FeeTemplate.id)
    if deal_type is not None:
        stmt = stmt.where(FeeTemplate.deal_type == deal_type)
    if not include_inactive:
        stmt = stmt.where(FeeTemplate.is_active.is_(True))
    return list((await session.scalars(stmt)).all())


async def default_fees(session: AsyncSession, deal_type: DealType) -> tuple[FeeLine, ...]:
    """The deal type's active templates as fee lines, in list order: the fees a new
    scenario or quick quote is priced with."""
    templates = await session.scalars(
        select(FeeTemplate)
        .where(FeeTemplate.deal_type == deal_type, FeeTemplate.is_active)
        .order_by(FeeTemplate.sort_order, FeeTemplate.id)
    )
    return tuple(FeeLine(t.name, t.kind.value, t.amount, t.taxable) for t in templates)


async def _check_name_free(
    session: AsyncSession,
    *,
    name: str,
    deal_type: DealType,
    exclude_id: int | None,
    field: tuple[str, ...],
) -> None:
    stmt = select(FeeTemplate.id).where(
        FeeTemplate.deal_type == deal_type, func.lower(FeeTemplate.name) == name.lower()
    )
    if exclude_id is not None:
        stmt = stmt.where(FeeTemplate.id != exclude_id)
    if await session.scalar(stmt.limit(1)) is not None:
        raise ValidationFailed(
            f"this deal type already has a fee named {name!r}", field=field, code="DUPLICATE_NAME"
        )


async def create_fee_template(
    session: AsyncSession, actor: Actor, *, fields: FeeTemplateFields, path: tuple[str, ...]
) -> FeeTemplate:
    clean = clean_fields(fields, path=path)
    for key in ("name", "kind", "deal_type", "amount"):
        if key not in clean:
            raise required((*path, camel(key)))
    deal_type = clean["deal_type"]
    name = clean["name"]
    assert deal_type is not None
    assert name is not None
    await _check_name_free(
        session, name=name, deal_type=deal_type, exclude_id=None, field=(*path, "name")
    )
    if "sort_order" not in clean:
        # At the end of its deal type's list.
        last = await session.scalar(
            select(func.max(FeeTemplate.sort_order)).where(FeeTemplate.deal_type == deal_type)
        )
        clean["sort_order"] = 0 if last is None else min(last + 1, MAX_SORT_ORDER)
    fee = FeeTemplate(dealership_id=actor.dealership_id, **clean)
    session.add(fee)
    await flush_and_record(
        session, actor, fee, action="fee_template.create", entity_type=ENTITY, before=None
    )
    return fee


async def _load(session: AsyncSession, fee_id: int, path: tuple[str, ...]) -> FeeTemplate:
    return await load_owned(
        session, FeeTemplate, fee_id, entity=ENTITY, field=(*path, "id"), for_update=True
    )


async def _save(
    session: AsyncSession,
    actor: Actor,
    fee: FeeTemplate,
    *,
    action: str,
    values: Mapping[str, object],
) -> FeeTemplate:
    before = snapshot(fee)
    for key, value in values.items():
        setattr(fee, key, value)
    if snapshot(fee) == before:
        return fee
    await flush_and_record(session, actor, fee, action=action, entity_type=ENTITY, before=before)
    return fee


async def update_fee_template(
    session: AsyncSession,
    actor: Actor,
    *,
    fee_id: int,
    fields: FeeTemplateFields,
    path: tuple[str, ...],
) -> FeeTemplate:
    clean = clean_fields(fields, path=path)
    fee = await _load(session, fee_id, path)
    if "name" in clean or "deal_type" in clean:
        await _check_name_free(
            session,
            name=clean.get("name") or fee.name,
            deal_type=clean.get("deal_type") or fee.deal_type,
            exclude_id=fee.id,
            field=(*path, "name" if "name" in clean else "dealType"),
        )
    return await _save(session, actor, fee, action="fee_template.update", values=clean)


async def set_active(
    session: AsyncSession, actor: Actor, *, fee_id: int, active: bool, path: tuple[str, ...]
) -> FeeTemplate:
    """Take a template off new deals (or put it back) without deleting it."""
    fee = await _load(session, fee_id, path)
    action = "fee_template.reactivate" if active else "fee_template.deactivate"
    return await _save(session, actor, fee, action=action, values={"is_active": active})


async def delete_fee_template(
    session: AsyncSession, actor: Actor, *, fee_id: int, path: tuple[str, ...]
) -> int:
    """Delete for good (scenarios keep their own copies of the fees)."""
    fee = await _load(session, fee_id, path)
    await delete_and_record(session, actor, fee, action="fee_template.delete", entity_type=ENTITY)
    return fee_id
