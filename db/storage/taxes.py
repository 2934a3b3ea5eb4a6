"""Sales-tax jurisdictions: list, look up the one that applies to an address, create,
update and deactivate."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import TypedDict

from sqlalchemy import ColumnElement, Select, and_, case, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from db.models import DealershipSettings, TaxJurisdiction
from db.storage import pagination
from db.storage.audit import Actor, flush_and_record, snapshot
from db.storage.ownership import load_owned
from db.storage.sql import like_pattern
from db.validation import (
    not_null,
    optional_text,
    percent,
    positive_money,
    postal_code,
    require_text,
    required,
    required_state_code,
)

ENTITY = "TaxJurisdiction"
MAX_RATE = Decimal("30")


class TaxJurisdictionFields(TypedDict, total=False):
    """What a client may set on a jurisdiction; absent keys are left as they are."""

    name: str | None
    state: str | None
    county: str | None
    city: str | None
    postal_code: str | None
    rate: Decimal | None
    trade_in_credit: bool | None
    max_taxable_amount: Decimal | None


class TaxJurisdictionOrderField(StrEnum):
    NAME = "name"
    STATE = "state"
    RATE = "rate"


@dataclass(frozen=True)
class TaxJurisdictionFilter:
    state: str | None = None
    search: str | None = None  # partial match on name, county, city or ZIP
    include_inactive: bool = False


def clean_fields(fields: TaxJurisdictionFields, *, path: tuple[str, ...]) -> TaxJurisdictionFields:
    """Validate and normalise what a client sent; null is refused for required fields."""
    clean: TaxJurisdictionFields = {}
    if "name" in fields:
        clean["name"] = require_text(fields["name"], field=(*path, "name"))
    if "state" in fields:
        clean["state"] = required_state_code(fields["state"], field=(*path, "state"))
    if "county" in fields:
        clean["county"] = optional_text(fields["county"], field=(*path, "county"))
    if "city" in fields:
        clean["city"] = optional_text(fields["city"], field=(*path, "city"))
    if "postal_code" in fields:
        clean["postal_code"] = postal_code(fields["postal_code"], field=(*path, "postalCode"))
    if "rate" in fields:
        rate = not_null(fields["rate"], field=(*path, "rate"))
        clean["rate"] = percent(rate, field=(*path, "rate"), high=MAX_RATE, what="a tax rate")
    if "trade_in_credit" in fields:
        clean["trade_in_credit"] = not_null(
            fields["trade_in_credit"], field=(*path, "tradeInCredit")
        )
    if "max_taxable_amount" in fields:
        cap = fields["max_taxable_amount"]
        clean["max_taxable_amount"] = (
            None if cap is None else positive_money(cap, field=(*path, "maxTaxableAmount"))
        )
    return clean


def _filtered(filter: TaxJurisdictionFilter) -> Select[TaxJurisdiction]:
    stmt = select(TaxJurisdiction)
    if not filter.include_inactive:
        stmt = stmt.where(TaxJurisdiction.is_active)
    if filter.state and filter.state.strip():
        stmt = stmt.where(TaxJurisdiction.state == filter.state.strip().upper())
    if filter.search and filter.search.strip():
        pattern = like_pattern(filter.search.strip())
        stmt = stmt.where(
            or_(
                TaxJurisdiction.name.ilike(pattern),
                TaxJurisdiction.county.ilike(pattern),
                TaxJurisdiction.city.ilike(pattern),
                TaxJurisdiction.postal_code.ilike(pattern),
            )
        )
    return stmt


def _sort_keys(order: TaxJurisdictionOrderField, descending: bool) -> list[pagination.SortKey]:
    columns: dict[TaxJurisdictionOrderField, list[pagination.SortColumn]] = {
        TaxJurisdictionOrderField.NAME: [TaxJurisdiction.name],
        TaxJurisdictionOrderField.STATE: [TaxJurisdiction.state, TaxJurisdiction.name],
        TaxJurisdictionOrderField.RATE: [TaxJurisdiction.rate],
    }
    keys = [*columns[order], TaxJurisdiction.id]
    return [pagination.SortKey(column, descending) for column in keys]


async def get_tax_jurisdiction(
    session: AsyncSession, *, jurisdiction_id: int
) -> TaxJurisdiction | None:
    return await session.scalar(
        select(TaxJurisdiction).where(TaxJurisdiction.id == jurisdiction_id)
    )


async def default_jurisdiction(
    session: AsyncSession, settings: DealershipSettings
) -> TaxJurisdiction | None:
    """The dealership's default jurisdiction (its settings name it), unless deactivated:
    the tax a new scenario or quick quote starts from."""
    if settings.default_tax_jurisdiction_id is None:
        return None
    return await session.scalar(
        select(TaxJurisdiction).where(
            TaxJurisdiction.id == settings.default_tax_jurisdiction_id,
            TaxJurisdiction.is_active,
        )
    )


async def list_tax_jurisdictions(
    session: AsyncSession,
    *,
    filter: TaxJurisdictionFilter,
    order: TaxJurisdictionOrderField = TaxJurisdictionOrderField.NAME,
    descending: bool = False,
    page: pagination.PageArgs,
) -> pagination.Page[TaxJurisdiction]:
    return await pagination.paginate(
        session, _filtered(filter), _sort_keys(order, descending), page
    )


async def count_tax_jurisdictions(session: AsyncSession, *, filter: TaxJurisdictionFilter) -> int:
    return await pagination.count(session, _filtered(filter))


def _matches(
    column: QueryableAttribute[str | None], value: str | None
) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """(applies, matched): a row applies when it leaves the locality open or names the
    given one; `matched` says it named it."""
    if value is None:
        return column.is_(None), false()
    matched = func.lower(column) == value.lower()
    return or_(column.is_(None), matched), matched


async def lookup_tax_jurisdiction(
    session: AsyncSession,
    *,
    state: str,
    county: str | None = None,
    city: str | None = None,
    postal: str | None = None,
) -> TaxJurisdiction | None:
    """The most specific active jurisdiction for an address: one naming its ZIP beats one
    naming its city, which beats one naming its county, which beats a state-wide one; ties
    go to the lowest id. A jurisdiction that names a locality the address does not match
    (or does not give) never applies. A 5-digit ZIP on a jurisdiction covers that ZIP's
    ZIP+4 codes."""
    state = required_state_code(state, field=("state",))
    county = optional_text(county, field=("county",))
    city = optional_text(city, field=("city",))
    postal = postal_code(postal, field=("postalCode",))

    county_applies, county_matched = _matches(TaxJurisdiction.county, county)
    city_applies, city_matched = _matches(TaxJurisdiction.city, city)
    zip_column = TaxJurisdiction.postal_code
    zip_applies: ColumnElement[bool]
    zip_matched: ColumnElement[bool]
    if postal is None:
        zip_applies, zip_matched = zip_column.is_(None), false()
    else:
        zip_matched = zip_column.in_(sorted({postal, postal[:5]}))
        zip_applies = or_(zip_column.is_(None), zip_matched)

    def rank(matched: ColumnElement[bool]) -> ColumnElement[int]:
        return case((matched, 1), else_=0)

    stmt = (
        select(TaxJurisdiction)
        .where(
            TaxJurisdiction.is_active,
            TaxJurisdiction.state == state,
            and_(county_applies, city_applies, zip_applies),
        )
        .order_by(
            rank(zip_matched).desc(),
            rank(city_matched).desc(),
            rank(county_matched).desc(),
            TaxJurisdiction.id,
        )
        .limit(1)
    )
    return await session.scalar(stmt)


async def create_tax_jurisdiction(
    session: AsyncSession, actor: Actor, *, fields: TaxJurisdictionFields, path: tuple[str, ...]
) -> TaxJurisdiction:
    for key in ("name", "state", "rate"):
        if fields.get(key) is None:
            raise required((*path, key))
    clean = clean_fields(fields, path=path)
    row = TaxJurisdiction(dealership_id=actor.dealership_id, **clean)
    session.add(row)
    await flush_and_record(
        session, actor, row, action="tax_jurisdiction.create", entity_type=ENTITY, before=None
    )
    return row


async def update_tax_jurisdiction(
    session: AsyncSession,
    actor: Actor,
    *,
    jurisdiction_id: int,
    fields: TaxJurisdictionFields,
    path: tuple[str, ...],
) -> TaxJurisdiction:
    clean = clean_fields(fields, path=path)
    row = await load_owned(
        session,
        TaxJurisdiction,
        jurisdiction_id,
        entity=ENTITY,
        field=(*path, "id"),
        for_update=True,
    )
    before = snapshot(row)
    for key, value in clean.items():
        setattr(row, key, value)
    if snapshot(row) == before:
        return row  # nothing changed: no audit row
    await flush_and_record(
        session, actor, row, action="tax_jurisdiction.update", entity_type=ENTITY, before=before
    )
    return row


async def deactivate_tax_jurisdiction(
    session: AsyncSession, actor: Actor, *, jurisdiction_id: int, path: tuple[str, ...]
) -> TaxJurisdiction:
    row = await load_owned(
        session,
        TaxJurisdiction,
        jurisdiction_id,
        entity=ENTITY,
        field=(*path, "id"),
        for_update=True,
    )
    if not row.is_active:
        return row
    before = snapshot(row)
    row.is_active = False
    await flush_and_record(
        session, actor, row, action="tax_jurisdiction.deactivate", entity_type=ENTITY, before=before
    )
    return row
