"""Trade-ins: the customer's vehicles a deal takes in part exchange.

A trade vehicle belongs to a customer and, while it is being desked, to one deal. Adding one
to a deal, or removing it, makes a new version of the deal; while the trade is on a deal it
changes only if that deal is editable. Existing scenarios keep their trade figures (the desk
may have negotiated them); new scenarios default to the sums of the deal's trade-ins.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal, TypedDict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.errors import NotFound
from db.models import Deal, TradeVehicle
from db.storage.audit import Actor, delete_and_record, flush_and_record, snapshot
from db.storage.deals import lock_editable_deal, touch
from db.storage.ownership import load_owned
from db.storage.scenarios import check_amount
from db.validation import (
    camel,
    mileage,
    model_year,
    normalize_vin,
    optional_text,
    require_text,
    required,
)

ENTITY = "TradeVehicle"

MAX_TEXT = 100


class TradeVehicleFields(TypedDict, total=False):
    """What a client may set; absent keys are left as they are, None clears optional ones."""

    vin: str | None
    year: int | None
    make: str | None
    model: str | None
    trim: str | None
    mileage: int | None
    allowance: Decimal | None
    actual_cash_value: Decimal | None
    payoff_amount: Decimal | None
    payoff_lender: str | None


_REQUIRED: tuple[Literal["year", "make", "model", "mileage", "allowance", "payoff_amount"], ...] = (
    "year",
    "make",
    "model",
    "mileage",
    "allowance",
    "payoff_amount",
)
_NAMES: tuple[Literal["make", "model"], ...] = ("make", "model")
_AMOUNTS: tuple[Literal["allowance", "actual_cash_value", "payoff_amount"], ...] = (
    "allowance",
    "actual_cash_value",
    "payoff_amount",
)
_OPTIONAL_TEXT: tuple[Literal["trim", "payoff_lender"], ...] = ("trim", "payoff_lender")


def clean_fields(
    fields: TradeVehicleFields, *, path: tuple[str, ...], creating: bool
) -> TradeVehicleFields:
    for key in _REQUIRED:
        if (creating and key not in fields) or (key in fields and fields[key] is None):
            raise required((*path, camel(key)))
    clean: TradeVehicleFields = {}
    if "vin" in fields:
        vin = (fields["vin"] or "").strip()
        clean["vin"] = normalize_vin(vin, field=(*path, "vin")) if vin else None
    year = fields.get("year")
    if year is not None:
        clean["year"] = model_year(year, field=(*path, "year"), code="INVALID_YEAR")
    for name_key in _NAMES:
        if name_key in fields:
            clean[name_key] = require_text(
                fields[name_key], field=(*path, name_key), max_length=MAX_TEXT
            )
    for text_key in _OPTIONAL_TEXT:
        if text_key in fields:
            clean[text_key] = optional_text(
                fields[text_key], field=(*path, camel(text_key)), max_length=MAX_TEXT
            )
    miles = fields.get("mileage")
    if miles is not None:
        clean["mileage"] = mileage(miles, field=(*path, "mileage"), code="INVALID_MILEAGE")
    for amount_key in _AMOUNTS:
        if amount_key in fields:
            amount = fields[amount_key]
            clean[amount_key] = (
                None if amount is None else check_amount(amount, field=(*path, camel(amount_key)))
            )
    return clean


async def _lock(
    session: AsyncSession, trade_vehicle_id: int, *, field: tuple[str, ...]
) -> tuple[TradeVehicle, Deal | None]:
    """The trade vehicle, locked, and its deal (if any), locked first and editable."""
    trade = await load_owned(session, TradeVehicle, trade_vehicle_id, entity=ENTITY, field=field)
    while True:
        deal_id = trade.deal_id
        deal = None if deal_id is None else await lock_editable_deal(session, deal_id, field=field)
        locked = await session.scalar(
            select(TradeVehicle)
            .where(TradeVehicle.id == trade_vehicle_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if locked is None:  # removed while we waited for the deal
            raise NotFound(ENTITY, trade_vehicle_id, field=field)
        if locked.deal_id == deal_id:
            return locked, deal
        trade = locked  # moved to another deal meanwhile: lock that one instead


async def add_trade_vehicle(
    session: AsyncSession,
    actor: Actor,
    *,
    deal_id: int,
    fields: TradeVehicleFields,
    path: tuple[str, ...],
) -> tuple[TradeVehicle, Deal]:
    """A new trade-in on the deal, owned by the deal's customer."""
    clean = clean_fields(fields, path=path, creating=True)
    deal = await lock_editable_deal(session, deal_id, field=(*path, "dealId"))
    trade = TradeVehicle(
        dealership_id=actor.dealership_id,
        deal_id=deal.id,
        customer_id=deal.customer_id,
        **clean,
    )
    session.add(trade)
    await flush_and_record(
        session, actor, trade, action="trade_vehicle.create", entity_type=ENTITY, before=None
    )
    await touch(session, deal)
    return trade, deal


async def update_trade_vehicle(
    session: AsyncSession,
    actor: Actor,
    *,
    trade_vehicle_id: int,
    fields: TradeVehicleFields,
    path: tuple[str, ...],
) -> TradeVehicle:
    clean = clean_fields(fields, path=path, creating=False)
    trade, _ = await _lock(session, trade_vehicle_id, field=(*path, "id"))
    before = snapshot(trade)
    for key, value in clean.items():
        setattr(trade, key, value)
    if snapshot(trade) == before:
        return trade
    await flush_and_record(
        session, actor, trade, action="trade_vehicle.update", entity_type=ENTITY, before=before
    )
    return trade


async def remove_trade_vehicle(
    session: AsyncSession,
    actor: Actor,
    *,
    trade_vehicle_id: int,
    path: tuple[str, ...],
) -> Deal | None:
    """Delete the trade-in (entered by mistake, or the customer keeps the car); returns the
    deal it was on, if any."""
    trade, deal = await _lock(session, trade_vehicle_id, field=(*path, "id"))
    await delete_and_record(
        session, actor, trade, action="trade_vehicle.delete", entity_type=ENTITY
    )
    if deal is not None:
        await touch(session, deal)
    return deal
