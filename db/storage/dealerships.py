"""Dealerships: creating a tenant with its defaults, reading and updating its profile and
settings."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal, TypedDict

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from db.errors import NotFound, ValidationFailed
from db.models import Dealership, DealershipSettings, TaxJurisdiction
from db.models.enums import DealType
from db.storage.audit import Actor, flush_and_record, snapshot
from db.storage.ownership import bump_version, check_version, load_owned
from db.storage.permissions import seed_default_permissions
from db.storage.vehicles import format_stock_number
from db.tenant import TenantDB
from db.validation import (
    MAX_TERM_MONTHS,
    ZERO,
    camel,
    decimal_in_range,
    int_in_range,
    not_null,
    optional_email,
    optional_phone,
    optional_text,
    postal_code,
    require_text,
    state_code,
    zone_info,
)


async def allocate_dealership_id(engine: AsyncEngine) -> int:
    """Take an id from the dealerships sequence. A new dealership is inserted by a session
    already bound to its id: row-level security lets no session create another tenant."""
    db = TenantDB(engine, None)
    try:
        async with db.session() as session:
            value = await session.scalar(
                text("SELECT nextval(pg_get_serial_sequence('dealerships', 'id'))")
            )
    finally:
        await db.close()
    assert isinstance(value, int)
    return value


async def create_dealership(
    engine: AsyncEngine,
    *,
    code: str,
    name: str,
    time_zone: str = "America/New_York",
    city: str | None = None,
    state: str | None = None,
    doc_fee: Decimal = Decimal("499.00"),
) -> int:
    dealership_id = await allocate_dealership_id(engine)
    db = TenantDB(engine, dealership_id)

    async def work(session: AsyncSession) -> None:
        session.add(Dealership(id=dealership_id, code=code, name=name, city=city, state=state))
        await session.flush()
        session.add(
            DealershipSettings(dealership_id=dealership_id, time_zone=time_zone, doc_fee=doc_fee)
        )
        await seed_default_permissions(session, dealership_id)

    try:
        await db.transaction(work)
    finally:
        await db.close()
    return dealership_id


async def get_dealership(session: AsyncSession, *, dealership_id: int) -> Dealership | None:
    return await session.scalar(select(Dealership).where(Dealership.id == dealership_id))


async def get_settings(session: AsyncSession, *, dealership_id: int) -> DealershipSettings | None:
    return await session.get(DealershipSettings, dealership_id)


# --- profile -----------------------------------------------------------------------------

DEALERSHIP = "Dealership"
SETTINGS = "DealershipSettings"


class DealershipFields(TypedDict, total=False):
    """What a client may change on the dealership's profile; absent keys stay as they are.
    `name` cannot be cleared (None is refused)."""

    name: str | None
    legal_name: str | None
    phone: str | None
    email: str | None
    address_line1: str | None
    address_line2: str | None
    city: str | None
    state: str | None
    postal_code: str | None


_PROFILE_TEXT: tuple[Literal["legal_name", "address_line1", "address_line2", "city"], ...] = (
    "legal_name",
    "address_line1",
    "address_line2",
    "city",
)


def clean_profile(fields: DealershipFields, *, path: tuple[str, ...]) -> DealershipFields:
    clean: DealershipFields = {}
    if "name" in fields:
        clean["name"] = require_text(fields["name"], field=(*path, "name"))
    for key in _PROFILE_TEXT:
        if key in fields:
            clean[key] = optional_text(fields[key], field=(*path, camel(key)))
    if "phone" in fields:
        clean["phone"] = optional_phone(fields["phone"], field=(*path, "phone"))
    if "email" in fields:
        clean["email"] = optional_email(fields["email"], field=(*path, "email"))
    if "state" in fields:
        clean["state"] = state_code(fields["state"], field=(*path, "state"))
    if "postal_code" in fields:
        clean["postal_code"] = postal_code(fields["postal_code"], field=(*path, "postalCode"))
    return clean


async def update_dealership(
    session: AsyncSession, actor: Actor, *, fields: DealershipFields, path: tuple[str, ...]
) -> Dealership:
    """Change the caller's own dealership's profile (name, contact details, address)."""
    clean = clean_profile(fields, path=path)
    dealership = await load_owned(
        session, Dealership, actor.dealership_id, entity=DEALERSHIP, field=path, for_update=True
    )
    before = snapshot(dealership)
    for key, value in clean.items():
        setattr(dealership, key, value)
    if snapshot(dealership) == before:
        return dealership
    await flush_and_record(
        session,
        actor,
        dealership,
        action="dealership.update",
        entity_type=DEALERSHIP,
        before=before,
    )
    return dealership


# --- settings ----------------------------------------------------------------------------


class SettingsFields(TypedDict, total=False):
    """What a client may change in the settings. Only `default_tax_jurisdiction_id` may be
    cleared; None for any other key is refused."""

    time_zone: str | None
    default_tax_jurisdiction_id: int | None
    default_deal_type: DealType | None
    default_term_months: int | None
    default_apr: Decimal | None
    doc_fee: Decimal | None
    stock_number_format: str | None


MAX_APR = Decimal("40")
DOC_FEE_LIMIT = Decimal("100000")


def check_stock_number_format(value: str, *, field: tuple[str, ...]) -> str:
    """The inventory module owns stock number formats: the same rules apply when a format is
    saved as when a number is generated from it."""
    fmt = value.strip()
    if not fmt or len(fmt) > 60:
        raise ValidationFailed(
            "a stock number format has 1 to 60 characters",
            field=field,
            code="INVALID_STOCK_NUMBER_FORMAT",
        )
    format_stock_number(fmt, seq=1, today=date(2025, 1, 1), field=field)
    return fmt


def clean_settings(fields: SettingsFields, *, path: tuple[str, ...]) -> SettingsFields:
    clean: SettingsFields = {}
    if "time_zone" in fields:
        field = (*path, "timeZone")
        name = not_null(fields["time_zone"], field=field).strip()
        zone_info(name, field=field)
        clean["time_zone"] = name
    if "default_tax_jurisdiction_id" in fields:
        clean["default_tax_jurisdiction_id"] = fields["default_tax_jurisdiction_id"]
    if "default_deal_type" in fields:
        clean["default_deal_type"] = not_null(
            fields["default_deal_type"], field=(*path, "defaultDealType")
        )
    if "default_term_months" in fields:
        field = (*path, "defaultTermMonths")
        clean["default_term_months"] = int_in_range(
            not_null(fields["default_term_months"], field=field),
            field=field,
            low=1,
            high=MAX_TERM_MONTHS,
            what="a term in months",
        )
    if "default_apr" in fields:
        field = (*path, "defaultApr")
        clean["default_apr"] = decimal_in_range(
            not_null(fields["default_apr"], field=field),
            field=field,
            low=ZERO,
            high=MAX_APR,
            high_inclusive=True,
            places=4,
            what="the default APR",
        )
    if "doc_fee" in fields:
        field = (*path, "docFee")
        clean["doc_fee"] = decimal_in_range(
            not_null(fields["doc_fee"], field=field),
            field=field,
            low=ZERO,
            high=DOC_FEE_LIMIT,
            places=2,
            what="the doc fee",
        )
    if "stock_number_format" in fields:
        field = (*path, "stockNumberFormat")
        clean["stock_number_format"] = check_stock_number_format(
            not_null(fields["stock_number_format"], field=field), field=field
        )
    return clean


async def settings_of(
    session: AsyncSession, *, dealership_ids: list[int]
) -> list[DealershipSettings | None]:
    """Settings by dealership id, aligned with the ids (a session sees only its own)."""
    stmt = select(DealershipSettings).where(DealershipSettings.dealership_id.in_(dealership_ids))
    found = {s.dealership_id: s for s in (await session.scalars(stmt)).all()}
    return [found.get(i) for i in dealership_ids]


async def update_settings(
    session: AsyncSession,
    actor: Actor,
    *,
    version: int,
    fields: SettingsFields,
    path: tuple[str, ...],
) -> DealershipSettings:
    clean = clean_settings(fields, path=path)
    settings = await session.scalar(
        select(DealershipSettings)
        .where(DealershipSettings.dealership_id == actor.dealership_id)
        .with_for_update()
    )
    if settings is None:
        raise NotFound(SETTINGS, actor.dealership_id)
    check_version(settings, version, entity=SETTINGS)
    jurisdiction_id = clean.get("default_tax_jurisdiction_id")
    if jurisdiction_id is not None:
        field = (*path, "defaultTaxJurisdictionId")
        jurisdiction = await load_owned(
            session, TaxJurisdiction, jurisdiction_id, entity="TaxJurisdiction", field=field
        )
        if not jurisdiction.is_active:
            raise ValidationFailed(
                "this tax jurisdiction is inactive", field=field, code="INACTIVE_TAX_JURISDICTION"
            )
    before = snapshot(settings)
    for key, value in clean.items():
        setattr(settings, key, value)
    if snapshot(settings) == before:
        return settings
    bump_version(settings)
    await flush_and_record(
        session, actor, settings, action="settings.update", entity_type=SETTINGS, before=before
    )
    return settings
