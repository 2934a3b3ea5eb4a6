"""Inventory vehicles: lookups, filtered lists and counts, create (with generated stock
numbers), update, status changes and deletion.

Days in stock count local days of the dealership (the time zone in its settings, UTC when it
has none): `local_today()` is the one SQL expression both the list filters and the
`daysInStock` field use, so a vehicle's number and the filters always agree.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Literal, TypedDict

from sqlalchemy import ColumnElement, Date, Select, cast, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.errors import ValidationFailed
from db.models import DealershipSettings, QuickQuote, Vehicle
from db.models.deals import LIVE_DEAL_STATUSES, Deal
from db.models.enums import VehicleCondition, VehicleStatus
from db.storage import pagination
from db.storage.audit import Actor, flush_and_record, record_change, record_row, snapshot
from db.storage.ownership import bump_version, check_version, load_owned
from db.storage.sql import like_pattern
from db.validation import (
    ZERO,
    camel,
    decimal_in_range,
    mileage,
    model_year,
    normalize_vin,
    not_null,
    optional_text,
    require_text,
    required,
)

ENTITY = "Vehicle"

PRICE_LIMIT = Decimal("10000000")  # prices must stay below this
STOCK_NUMBER_MAX_LENGTH = 32
TEXT_MAX_LENGTH = 100

# Statuses only deals set (a live deal makes a vehicle PENDING, delivery makes it SOLD).
DEAL_STATUSES = frozenset({VehicleStatus.PENDING, VehicleStatus.SOLD})

# Unique and foreign keys whose violation has a meaning for the client.
VIN_KEY = "uq_vehicles_dealership_id_vin"
STOCK_NUMBER_KEY = "uq_vehicles_dealership_id_stock_number"
DEAL_KEYS = frozenset({"fk_deals_vehicle_id", "fk_quick_quotes_vehicle_id"})

# Generated stock numbers: how many taken numbers to skip at most, and per statement.
SKIP_LIMIT = 1000
SKIP_BATCH = 50


class VehicleFields(TypedDict, total=False):
    """What a client may set on a vehicle; absent keys are left as they are. A client may
    send null for any key: null is refused as REQUIRED where the column needs a value."""

    vin: str
    stock_number: str
    condition: VehicleCondition
    year: int
    make: str
    model: str
    trim: str | None
    body_style: str | None
    exterior_color: str | None
    interior_color: str | None
    mileage: int
    cost: Decimal
    list_price: Decimal
    msrp: Decimal | None
    received_on: date


class VehicleOrderField(StrEnum):
    LIST_PRICE = "list_price"
    YEAR = "year"
    MILEAGE = "mileage"
    RECEIVED_ON = "received_on"
    CREATED_AT = "created_at"
    MAKE_MODEL = "make_model"


@dataclass(frozen=True)
class VehicleFilter:
    statuses: Sequence[VehicleStatus] = ()  # empty: any status
    conditions: Sequence[VehicleCondition] = ()  # empty: any condition
    year_min: int | None = None
    year_max: int | None = None
    make: str | None = None  # case-insensitive, exact
    model: str | None = None  # case-insensitive, exact
    search: str | None = None  # each word partial on make/model/trim/VIN/stock number
    price_min: Decimal | None = None  # on list_price
    price_max: Decimal | None = None
    mileage_max: int | None = None
    days_in_stock_min: int | None = None
    days_in_stock_max: int | None = None


@dataclass(frozen=True)
class StatusSummary:
    status: VehicleStatus
    count: int
    total_list_price: Decimal
    total_cost: Decimal


# --- validation -------------------------------------------------------------------------

REQUIRED_ON_CREATE = ("vin", "condition", "year", "make", "model", "mileage", "cost", "list_price")
_OPTIONAL_TEXT: tuple[Literal["trim", "body_style", "exterior_color", "interior_color"], ...] = (
    "trim",
    "body_style",
    "exterior_color",
    "interior_color",
)
_REQUIRED_TEXT: tuple[Literal["make", "model"], ...] = ("make", "model")
_DEFAULTED: tuple[Literal["stock_number", "received_on"], ...] = ("stock_number", "received_on")
_PRICES: tuple[Literal["cost", "list_price"], ...] = ("cost", "list_price")
_SPACE = re.compile(r"\s")


def _amount(value: Decimal, field: tuple[str, ...]) -> Decimal:
    return decimal_in_range(
        value, field=field, low=ZERO, high=PRICE_LIMIT, code="AMOUNT_OUT_OF_RANGE", what="an amount"
    )


def normalize_stock_number(value: str, *, field: tuple[str, ...]) -> str:
    """Stock numbers are stored in upper case, so they are unique whatever the case typed."""
    number = require_text(value.upper(), field=field, max_length=STOCK_NUMBER_MAX_LENGTH)
    if _SPACE.search(number):
        raise ValidationFailed(
            "a stock number has no spaces", field=field, code="INVALID_STOCK_NUMBER"
        )
    return number


def clean_fields(fields: VehicleFields, *, path: tuple[str, ...]) -> VehicleFields:
    """Validate and normalise what a client sent (VIN checked and upper-cased, texts
    trimmed, ranges checked). Pure: uniqueness and dates are checked against the database
    by the writes."""
    clean: VehicleFields = {}
    if "vin" in fields:
        field = (*path, "vin")
        clean["vin"] = normalize_vin(not_null(fields["vin"], field=field), field=field)
    if "stock_number" in fields:
        field = (*path, "stockNumber")
        clean["stock_number"] = normalize_stock_number(
            not_null(fields["stock_number"], field=field), field=field
        )
    if "condition" in fields:
        clean["condition"] = not_null(fields["condition"], field=(*path, "condition"))
    if "year" in fields:
        field = (*path, "year")
        clean["year"] = model_year(
            not_null(fields["year"], field=field), field=field, code="YEAR_OUT_OF_RANGE"
        )
    for key in _REQUIRED_TEXT:
        if key in fields:
            clean[key] = require_text(fields[key], field=(*path, key), max_length=TEXT_MAX_LENGTH)
    for text_key in _OPTIONAL_TEXT:
        if text_key in fields:
            clean[text_key] = optional_text(
                fields[text_key], field=(*path, camel(text_key)), max_length=TEXT_MAX_LENGTH
            )
    if "mileage" in fields:
        field = (*path, "mileage")
        clean["mileage"] = mileage(
            not_null(fields["mileage"], field=field), field=field, code="MILEAGE_OUT_OF_RANGE"
        )
    for price_key in _PRICES:
        if price_key in fields:
            field = (*path, camel(price_key))
            clean[price_key] = _amount(not_null(fields[price_key], field=field), field)
    if "msrp" in fields:
        msrp = fields["msrp"]
        clean["msrp"] = None if msrp is None else _amount(msrp, (*path, "msrp"))
    if "received_on" in fields:
        clean["received_on"] = not_null(fields["received_on"], field=(*path, "receivedOn"))
    return clean


def _check_received_on(received_on: date, today: date, *, path: tuple[str, ...]) -> None:
    if received_on > today:
        raise ValidationFailed(
            f"a vehicle cannot be received after today ({today.isoformat()})",
            field=(*path, "receivedOn"),
            code="RECEIVED_ON_IN_FUTURE",
        )


# --- stock numbers -----------------------------------------------------------------------

_FORMAT_FIELDS = frozenset({"seq", "yy", "yyyy"})
_FORMAT_SPEC = re.compile(r"^0?\d{0,2}d?$")


class _TwoDigitYear(int):
    """`{yy}` is "05" for 2005; an explicit spec such as `{yy:d}` is honoured."""

    def __format__(self, spec: str) -> str:
        return format(int(self), spec or "02d")


def _safe_format(fmt: str) -> bool:
    try:
        parts = list(string.Formatter().parse(fmt))
    except ValueError:
        return False
    names: set[str] = set()
    for _, name, spec, conversion in parts:
        if name is None:
            continue  # literal text
        if name not in _FORMAT_FIELDS or conversion is not None:
            return False
        if not _FORMAT_SPEC.match(spec or ""):
            return False
        names.add(name)
    return "seq" in names


def validate_stock_number_format(fmt: str, *, field: tuple[str, ...]) -> None:
    """A stock number format may use only {seq}, {yy} and {yyyy}, with an optional integer
    spec such as {seq:05d}, and must use {seq}. Attribute or index lookups ({seq.real},
    {yy[0]}) and conversions are refused: str.format would follow them into Python objects,
    and the format is data a dealership edits."""
    if not _safe_format(fmt):
        raise ValidationFailed(
            f"the stock number format {fmt!r} is not valid: use {{seq}} (e.g. {{seq:05d}}) and "
            "optionally {yy} or {yyyy}, e.g. S{yy}{seq:05d}",
            field=field,
            code="INVALID_STOCK_NUMBER_FORMAT",
        )


def format_stock_number(fmt: str, *, seq: int, today: date, field: tuple[str, ...]) -> str:
    validate_stock_number_format(fmt, field=field)
    number = fmt.format(seq=seq, yy=_TwoDigitYear(today.year % 100), yyyy=today.year)
    try:
        return normalize_stock_number(number, field=field)
    except ValidationFailed as exc:
        raise ValidationFailed(
            f"the dealership's stock number format gives {number!r}: {exc.message}; "
            "send a stockNumber or change the format",
            field=field,
            code="INVALID_STOCK_NUMBER_FORMAT",
        ) from None


async def _next_stock_number(
    session: AsyncSession, actor: Actor, *, today: date, field: tuple[str, ...]
) -> str:
    """Format the dealership's next sequence number, skipping numbers already taken (e.g.
    typed by hand), and advance the sequence past it. The settings row stays locked until
    the transaction ends: concurrent creates queue, and a rollback gives the number back."""
    settings = await session.scalar(
        select(DealershipSettings)
        .where(DealershipSettings.dealership_id == actor.dealership_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if settings is None:
        raise ValidationFailed(
            "the dealership has no stock number settings: send a stockNumber",
            field=field,
            code="REQUIRED",
        )
    seq = settings.next_stock_sequence
    while seq < settings.next_stock_sequence + SKIP_LIMIT:
        candidates = {
            format_stock_number(settings.stock_number_format, seq=n, today=today, field=field): n
            for n in range(seq, seq + SKIP_BATCH)
        }
        taken = set(
            (
                await session.scalars(
                    select(Vehicle.stock_number).where(Vehicle.stock_number.in_(candidates))
                )
            ).all()
        )
        for number, n in sorted(candidates.items(), key=lambda item: item[1]):
            if number not in taken:
                settings.next_stock_sequence = n + 1
                return number
        seq += SKIP_BATCH
    raise ValidationFailed(
        f"the next {SKIP_LIMIT} generated stock numbers are all taken: send a stockNumber",
        field=field,
        code="STOCK_NUMBER_SPACE_EXHAUSTED",
    )


# --- reading ------------------------------------------------------------------------------


def local_today() -> ColumnElement[date]:
    """Today in the dealership's time zone (UTC without settings). Row-level security shows
    a session its own settings row only."""
    zone = select(DealershipSettings.time_zone).scalar_subquery()
    return cast(func.timezone(func.coalesce(zone, "UTC"), func.now()), Date)


async def today_of(session: AsyncSession) -> date:
    today = await session.scalar(select(local_today()))
    assert isinstance(today, date)
    return today


async def todays(session: AsyncSession, dealership_ids: Sequence[int]) -> list[date]:
    """For the dataloader: the session's dealership's today, once for every key."""
    today = await today_of(session)
    return [today for _ in dealership_ids]


def _check_range(
    low: int | Decimal | None, high: int | Decimal | None, *, field: str, low_field: str
) -> None:
    if low is not None and high is not None and low > high:
        raise ValidationFailed(
            f"`{low_field}` is above `{field}`", field=("filter", field), code="INVALID_RANGE"
        )


def _filtered(filter: VehicleFilter) -> Select[Vehicle]:
    _check_range(filter.year_min, filter.year_max, field="yearMax", low_field="yearMin")
    _check_range(filter.price_min, filter.price_max, field="priceMax", low_field="priceMin")
    _check_range(
        filter.days_in_stock_min,
        filter.days_in_stock_max,
        field="daysInStockMax",
        low_field="daysInStockMin",
    )
    stmt = select(Vehicle)
    if filter.statuses:
        stmt = stmt.where(Vehicle.status.in_(list(filter.statuses)))
    if filter.conditions:
        stmt = stmt.where(Vehicle.condition.in_(list(filter.conditions)))
    if filter.year_min is not None:
        stmt = stmt.where(Vehicle.year >= filter.year_min)
    if filter.year_max is not None:
        stmt = stmt.where(Vehicle.year <= filter.year_max)
    if filter.make and filter.make.strip():
        stmt = stmt.where(func.lower(Vehicle.make) == filter.make.strip().lower())
    if filter.model and filter.model.strip():
        stmt = stmt.where(func.lower(Vehicle.model) == filter.model.strip().lower())
    if filter.price_min is not None:
        stmt = stmt.where(Vehicle.list_price >= filter.price_min)
    if filter.price_max is not None:
        stmt = stmt.where(Vehicle.list_price <= filter.price_max)
    if filter.mileage_max is not None:
        stmt = stmt.where(Vehicle.mileage <= filter.mileage_max)
    # On received_on rather than on the difference, so an index on it could serve.
    if filter.days_in_stock_min is not None:
        stmt = stmt.where(Vehicle.received_on <= local_today() - filter.days_in_stock_min)
    if filter.days_in_stock_max is not None:
        stmt = stmt.where(Vehicle.received_on >= local_today() - filter.days_in_stock_max)
    for term in (filter.search or "").split()[:8]:
        pattern = like_pattern(term)
        conditions: list[ColumnElement[bool]] = [
            Vehicle.make.ilike(pattern),
            Vehicle.model.ilike(pattern),
            Vehicle.trim.ilike(pattern),
            Vehicle.vin.ilike(pattern),
            Vehicle.stock_number.ilike(pattern),
        ]
        if term.isdigit() and len(term) == 4:
            conditions.append(Vehicle.year == int(term))
        stmt = stmt.where(or_(*conditions))
    return stmt


def _sort_keys(order: VehicleOrderField, descending: bool) -> list[pagination.SortKey]:
    columns: dict[VehicleOrderField, list[pagination.SortColumn]] = {
        VehicleOrderField.LIST_PRICE: [Vehicle.list_price],
        VehicleOrderField.YEAR: [Vehicle.year],
        VehicleOrderField.MILEAGE: [Vehicle.mileage],
        VehicleOrderField.RECEIVED_ON: [Vehicle.received_on],
        VehicleOrderField.CREATED_AT: [Vehicle.created_at],
        VehicleOrderField.MAKE_MODEL: [Vehicle.make, Vehicle.model, Vehicle.year],
    }
    return [
        *(pagination.SortKey(column, descending) for column in columns[order]),
        pagination.SortKey(Vehicle.id, descending),
    ]


async def get_vehicle(session: AsyncSession, *, vehicle_id: int) -> Vehicle | None:
    return await session.scalar(select(Vehicle).where(Vehicle.id == vehicle_id))


async def get_by_vin(session: AsyncSession, *, vin: str) -> Vehicle | None:
    return await session.scalar(select(Vehicle).where(Vehicle.vin == vin.strip().upper()))


async def get_by_stock_number(session: AsyncSession, *, stock_number: str) -> Vehicle | None:
    return await session.scalar(
        select(Vehicle).where(Vehicle.stock_number == stock_number.strip().upper())
    )


async def list_vehicles(
    session: AsyncSession,
    *,
    filter: VehicleFilter,
    order: VehicleOrderField = VehicleOrderField.MAKE_MODEL,
    descending: bool = False,
    page: pagination.PageArgs,
) -> pagination.Page[Vehicle]:
    return await pagination.paginate(
        session, _filtered(filter), _sort_keys(order, descending), page
    )


async def count_vehicles(session: AsyncSession, *, filter: VehicleFilter) -> int:
    return await pagination.count(session, _filtered(filter))


async def inventory_by_status(session: AsyncSession) -> list[StatusSummary]:
    """Count, list price and cost totals per status; every status, zeros included."""
    stmt = select(
        Vehicle.status,
        func.count(),
        func.coalesce(func.sum(Vehicle.list_price), 0),
        func.coalesce(func.sum(Vehicle.cost), 0),
    ).group_by(Vehicle.status)
    found = {
        status: StatusSummary(status, int(n), Decimal(price), Decimal(cost))
        for status, n, price, cost in (await session.execute(stmt)).all()
    }
    zero = Decimal("0.00")
    return [found.get(status, StatusSummary(status, 0, zero, zero)) for status in VehicleStatus]


# --- writing ------------------------------------------------------------------------------


def violated_constraint(exc: IntegrityError) -> str | None:
    """The constraint an IntegrityError names (asyncpg's error is the DBAPI error's cause)."""
    for candidate in (exc.orig, getattr(exc.orig, "__cause__", None)):
        name = getattr(candidate, "constraint_name", None)
        if isinstance(name, str):
            return name
    return None


def _vin_taken(field: tuple[str, ...], detail: str = "") -> ValidationFailed:
    return ValidationFailed(
        f"a vehicle with this VIN is already in your inventory{detail}",
        field=field,
        code="VIN_TAKEN",
    )


def _stock_number_taken(field: tuple[str, ...], number: str) -> ValidationFailed:
    return ValidationFailed(
        f"stock number {number} is already used by another vehicle",
        field=field,
        code="STOCK_NUMBER_TAKEN",
    )


async def check_unique(
    session: AsyncSession,
    *,
    vin: str | None,
    stock_number: str | None,
    exclude_id: int | None,
    path: tuple[str, ...],
) -> None:
    """Refuse a VIN or stock number another vehicle of the dealership has. The unique keys
    catch the race this check cannot (see `_flush`)."""
    if vin is not None:
        stmt = select(Vehicle.stock_number).where(Vehicle.vin == vin)
        if exclude_id is not None:
            stmt = stmt.where(Vehicle.id != exclude_id)
        other = await session.scalar(stmt)
        if other is not None:
            raise _vin_taken((*path, "vin"), f" (stock number {other})")
    if stock_number is not None:
        same = select(Vehicle.id).where(Vehicle.stock_number == stock_number)
        if exclude_id is not None:
            same = same.where(Vehicle.id != exclude_id)
        if await session.scalar(same) is not None:
            raise _stock_number_taken((*path, "stockNumber"), stock_number)


async def _flush(session: AsyncSession, vehicle: Vehicle, *, path: tuple[str, ...]) -> None:
    """Flush, turning a lost race for a VIN or stock number into the client's error."""
    stock_number = vehicle.stock_number  # read now: a failed flush expires the row
    try:
        await session.flush()
    except IntegrityError as exc:
        name = violated_constraint(exc)
        if name == VIN_KEY:
            raise _vin_taken((*path, "vin")) from None
        if name == STOCK_NUMBER_KEY:
            raise _stock_number_taken((*path, "stockNumber"), stock_number) from None
        raise


async def create_vehicle(
    session: AsyncSession, actor: Actor, *, fields: VehicleFields, path: tuple[str, ...]
) -> Vehicle:
    """A new AVAILABLE vehicle. Without a stock number, the dealership's next one is
    generated; without receivedOn, it was received today (the dealership's local day)."""
    sent = fields.copy()
    for defaulted in _DEFAULTED:  # null or absent: generated or defaulted below
        if sent.get(defaulted) is None:
            sent.pop(defaulted, None)
    clean = clean_fields(sent, path=path)
    for key in REQUIRED_ON_CREATE:
        if key not in clean:
            raise required((*path, camel(key)))
    today = await today_of(session)
    clean.setdefault("received_on", today)
    _check_received_on(clean["received_on"], today, path=path)
    await check_unique(
        session,
        vin=clean["vin"],
        stock_number=clean.get("stock_number"),
        exclude_id=None,
        path=path,
    )
    if "stock_number" not in clean:
        clean["stock_number"] = await _next_stock_number(
            session, actor, today=today, field=(*path, "stockNumber")
        )
    vehicle = Vehicle(dealership_id=actor.dealership_id, **clean)
    session.add(vehicle)
    await _flush(session, vehicle, path=path)
    await record_row(
        session, actor, vehicle, action="vehicle.create", entity_type=ENTITY, before=None
    )
    return vehicle


async def update_vehicle(
    session: AsyncSession,
    actor: Actor,
    *,
    vehicle_id: int,
    version: int,
    fields: VehicleFields,
    path: tuple[str, ...],
) -> Vehicle:
    clean = clean_fields(fields, path=path)
    if "received_on" in clean:
        _check_received_on(clean["received_on"], await today_of(session), path=path)
    vehicle = await load_owned(
        session, Vehicle, vehicle_id, entity=ENTITY, field=(*path, "id"), for_update=True
    )
    check_version(vehicle, version, entity=ENTITY)
    vin = clean.get("vin")
    stock_number = clean.get("stock_number")
    await check_unique(
        session,
        vin=vin if vin != vehicle.vin else None,
        stock_number=stock_number if stock_number != vehicle.stock_number else None,
        exclude_id=vehicle.id,
        path=path,
    )
    before = snapshot(vehicle)
    for key, value in clean.items():
        setattr(vehicle, key, value)
    if snapshot(vehicle) == before:
        return vehicle  # nothing changed: no new version, no audit row
    bump_version(vehicle)
    await _flush(session, vehicle, path=path)
    await record_row(
        session, actor, vehicle, action="vehicle.update", entity_type=ENTITY, before=before
    )
    return vehicle


async def live_deal_number(
    session: AsyncSession, vehicle_id: int, *, except_deal: int | None = None
) -> str | None:
    """The number of a live deal (other than `except_deal`) that holds the vehicle."""
    stmt = select(Deal.deal_number).where(
        Deal.vehicle_id == vehicle_id, Deal.status.in_(LIVE_DEAL_STATUSES)
    )
    if except_deal is not None:
        stmt = stmt.where(Deal.id != except_deal)
    return await session.scalar(stmt.limit(1))


async def change_status(
    session: AsyncSession,
    actor: Actor,
    *,
    vehicle_id: int,
    version: int,
    status: VehicleStatus,
    path: tuple[str, ...],
) -> Vehicle:
    """Set AVAILABLE, ON_HOLD, IN_TRANSIT or WHOLESALE by hand. PENDING and SOLD belong to
    deals: they cannot be set here, a vehicle a live deal holds cannot change here, and a
    sold vehicle comes back only through its deal (so it cannot be sold twice)."""
    if status in DEAL_STATUSES:
        raise ValidationFailed(
            f"{status.name} is set by deals, not by hand",
            field=(*path, "status"),
            code="STATUS_SET_BY_DEALS",
        )
    vehicle = await load_owned(
        session, Vehicle, vehicle_id, entity=ENTITY, field=(*path, "id"), for_update=True
    )
    check_version(vehicle, version, entity=ENTITY)
    deal_number = await live_deal_number(session, vehicle.id)
    if deal_number is not None:
        raise ValidationFailed(
            f"deal {deal_number} holds this vehicle: change the deal instead",
            field=(*path, "id"),
            code="VEHICLE_HELD_BY_DEAL",
        )
    if vehicle.status is VehicleStatus.SOLD:
        raise ValidationFailed(
            "this vehicle is sold: it returns to stock only by unwinding its deal",
            field=(*path, "id"),
            code="VEHICLE_SOLD",
        )
    if vehicle.status is status:
        return vehicle
    before = snapshot(vehicle)
    vehicle.status = status
    bump_version(vehicle)
    await flush_and_record(
        session, actor, vehicle, action="vehicle.change_status", entity_type=ENTITY, before=before
    )
    return vehicle


async def has_deals(session: AsyncSession, vehicle_id: int) -> bool:
    """Whether any deal (whatever its status) or quick quote refers to the vehicle."""
    referenced = or_(
        select(Deal.id).where(Deal.vehicle_id == vehicle_id).exists(),
        select(QuickQuote.id).where(QuickQuote.vehicle_id == vehicle_id).exists(),
    )
    return bool(await session.scalar(select(referenced)))


def _has_deals(field: tuple[str, ...]) -> ValidationFailed:
    return ValidationFailed(
        "deals or quick quotes refer to this vehicle: it cannot be deleted "
        "(mark it WHOLESALE instead)",
        field=field,
        code="VEHICLE_HAS_DEALS",
    )


async def delete_vehicle(
    session: AsyncSession, actor: Actor, *, vehicle_id: int, version: int, path: tuple[str, ...]
) -> int:
    """Delete a vehicle no deal or quick quote refers to (entered by mistake, say); its
    appointments keep their time but lose the vehicle. Returns the deleted id."""
    vehicle = await load_owned(
        session, Vehicle, vehicle_id, entity=ENTITY, field=(*path, "id"), for_update=True
    )
    check_version(vehicle, version, entity=ENTITY)
    if await has_deals(session, vehicle.id):
        raise _has_deals((*path, "id"))
    before = snapshot(vehicle)
    await session.delete(vehicle)
    try:
        await session.flush()
    except IntegrityError as exc:
        # A deal made after the check above: the foreign key refuses the delete.
        if violated_constraint(exc) in DEAL_KEYS:
            raise _has_deals((*path, "id")) from None
        raise
    await record_change(
        session,
        actor,
        action="vehicle.delete",
        entity_type=ENTITY,
        entity_id=vehicle_id,
        before=before,
        after=None,
    )
    return vehicle_id
