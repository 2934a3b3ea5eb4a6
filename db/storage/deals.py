"""Deals: lookup, search, per-status totals, and editing a deal that is still on the desk
(notes, managers, customer, salesperson, active scenario, trade-ins).

Creating deals and moving them through their lifecycle are not here: only a deal in an
editable status (open, pending approval, approved) can be changed by these functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal, TypedDict, cast

from sqlalchemy import ColumnElement, Select, Table, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.errors import ValidationFailed
from db.models import Customer, Deal, DealScenario, TradeVehicle, User
from db.models.deals import LIVE_DEAL_STATUSES
from db.models.enums import DealStatus, Role
from db.storage import pagination
from db.storage.audit import Actor, flush_and_record, record_row, snapshot
from db.storage.ownership import bump_version, check_version, load_owned
from db.storage.sql import like_pattern
from db.types import JSONObject
from db.validation import camel, optional_text

_DEALS = Deal.__table__
assert isinstance(_DEALS, Table)
# Every column of deals, in table order (what resolvers.loaders.DEALS builds from).
DEAL_COLUMNS = tuple(_DEALS.columns)

ENTITY = "Deal"

EDITABLE_STATUSES = frozenset({DealStatus.OPEN, DealStatus.PENDING_APPROVAL, DealStatus.APPROVED})

# Who may be a deal's salesperson, sales manager and finance manager.
SALESPERSON_ROLES = frozenset({Role.SALESPERSON, Role.SALES_MANAGER, Role.FINANCE_MANAGER})
SALES_MANAGER_ROLES = frozenset({Role.SALES_MANAGER, Role.ADMIN})
FINANCE_MANAGER_ROLES = frozenset({Role.FINANCE_MANAGER, Role.ADMIN})
# The managers updateDeal sets: (key, roles, what the person is, code when they cannot be).
_MANAGERS: tuple[
    tuple[Literal["sales_manager_id", "finance_manager_id"], frozenset[Role], str, str], ...
] = (
    ("sales_manager_id", SALES_MANAGER_ROLES, "sales manager", "INVALID_SALES_MANAGER"),
    ("finance_manager_id", FINANCE_MANAGER_ROLES, "finance manager", "INVALID_FINANCE_MANAGER"),
)

MAX_NOTES = 5000


class DealFields(TypedDict, total=False):
    """What updateDeal may set; absent keys are left as they are, None clears."""

    notes: str | None
    sales_manager_id: int | None
    finance_manager_id: int | None


class DealOrderField(StrEnum):
    CREATED_AT = "created_at"
    DEAL_NUMBER = "deal_number"
    UPDATED_AT = "updated_at"
    STATUS = "status"


@dataclass(frozen=True)
class DealFilter:
    statuses: tuple[DealStatus, ...] = ()
    salesperson_id: int | None = None
    customer_id: int | None = None
    vehicle_id: int | None = None
    created_after: datetime | None = None  # inclusive
    created_before: datetime | None = None  # exclusive
    search: str | None = None  # partial deal number or customer name


@dataclass(frozen=True)
class StatusTotals:
    """One status's deals and the figures of their active scenarios."""

    status: DealStatus
    count: int
    priced_count: int  # deals with an active scenario
    total_vehicle_price: Decimal
    average_vehicle_price: Decimal
    total_down_payment: Decimal
    total_amount_financed: Decimal
    total_monthly_payment: Decimal


# --- reading -------------------------------------------------------------------------------


def _conditions(filter: DealFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filter.statuses:
        conditions.append(Deal.status.in_(filter.statuses))
    if filter.salesperson_id is not None:
        conditions.append(Deal.salesperson_id == filter.salesperson_id)
    if filter.customer_id is not None:
        conditions.append(Deal.customer_id == filter.customer_id)
    if filter.vehicle_id is not None:
        conditions.append(Deal.vehicle_id == filter.vehicle_id)
    if filter.created_after is not None:
        conditions.append(Deal.created_at >= filter.created_after)
    if filter.created_before is not None:
        conditions.append(Deal.created_at < filter.created_before)
    if filter.search and filter.search.strip():
        pattern = like_pattern(filter.search.strip())
        by_name = exists().where(
            Customer.id == Deal.customer_id,
            Customer.dealership_id == Deal.dealership_id,  # a join condition, not a tenant filter
            or_(
                Customer.first_name.ilike(pattern),
                Customer.last_name.ilike(pattern),
                (Customer.first_name + " " + Customer.last_name).ilike(pattern),
            ),
        )
        conditions.append(or_(Deal.deal_number.ilike(pattern), by_name))
    return conditions


def _filtered(filter: DealFilter) -> Select[Deal]:
    return select(Deal).where(*_conditions(filter))


def _sort_keys(order: DealOrderField, descending: bool) -> list[pagination.SortKey]:
    columns: dict[DealOrderField, pagination.SortColumn] = {
        DealOrderField.CREATED_AT: Deal.created_at,
        DealOrderField.DEAL_NUMBER: Deal.deal_number,
        DealOrderField.UPDATED_AT: Deal.updated_at,
        DealOrderField.STATUS: Deal.status,
    }
    keys = [pagination.SortKey(columns[order], descending)]
    if order is DealOrderField.STATUS:
        keys.append(pagination.SortKey(Deal.created_at, descending))
    keys.append(pagination.SortKey(Deal.id, descending))
    return keys


async def get_deal(session: AsyncSession, *, deal_id: int) -> Deal | None:
    return await session.scalar(select(Deal).where(Deal.id == deal_id))


async def get_deal_by_number(session: AsyncSession, *, deal_number: str) -> Deal | None:
    return await session.scalar(select(Deal).where(Deal.deal_number == deal_number.strip()))


async def list_deals(
    session: AsyncSession,
    *,
    filter: DealFilter,
    order: DealOrderField = DealOrderField.CREATED_AT,
    descending: bool = True,
    page: pagination.PageArgs,
) -> pagination.Page[Sequence[object]]:
    """A page of deals as rows of the table's columns, in their order: the list is read
    only, and building ORM instances for it cost more than the query."""
    stmt = select(*DEAL_COLUMNS).where(*_conditions(filter))
    rows = await pagination.paginate(session, stmt, _sort_keys(order, descending), page)
    return cast(pagination.Page[Sequence[object]], rows)


async def count_deals(session: AsyncSession, *, filter: DealFilter) -> int:
    return await pagination.count(session, _filtered(filter))


async def status_totals(
    session: AsyncSession,
    *,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
) -> list[StatusTotals]:
    """Per status (every status, in lifecycle order, zeros included): how many deals, and
    the sums of their active scenarios' figures. One statement."""
    scenario = DealScenario
    zero = Decimal("0.00")
    stmt = (
        select(
            Deal.status,
            func.count(Deal.id),
            func.count(scenario.id),
            func.coalesce(func.sum(scenario.vehicle_price), zero),
            func.coalesce(func.round(func.avg(scenario.vehicle_price), 2), zero),
            func.coalesce(func.sum(scenario.down_payment), zero),
            func.coalesce(func.sum(scenario.amount_financed), zero),
            func.coalesce(func.sum(scenario.monthly_payment), zero),
        )
        .outerjoin(
            scenario,
            and_(
                scenario.dealership_id == Deal.dealership_id,
                scenario.id == Deal.active_scenario_id,
            ),
        )
        .where(*_conditions(DealFilter(created_after=created_after, created_before=created_before)))
        .group_by(Deal.status)
    )
    found = {row[0]: row for row in (await session.execute(stmt)).all()}
    totals = []
    for status in DealStatus:
        row = found.get(status)
        if row is None:
            totals.append(StatusTotals(status, 0, 0, zero, zero, zero, zero, zero))
        else:
            totals.append(
                StatusTotals(
                    status=status,
                    count=int(row[1]),
                    priced_count=int(row[2]),
                    total_vehicle_price=Decimal(row[3]),
                    average_vehicle_price=Decimal(row[4]),
                    total_down_payment=Decimal(row[5]),
                    total_amount_financed=Decimal(row[6]),
                    total_monthly_payment=Decimal(row[7]),
                )
            )
    return totals


# --- shared by every write on a deal -------------------------------------------------------


def require_editable(deal: Deal, *, field: tuple[str, ...]) -> None:
    if deal.status not in EDITABLE_STATUSES:
        raise ValidationFailed(
            f"deal {deal.deal_number} is {deal.status.value.replace('_', ' ')}; only open, "
            "pending-approval or approved deals can be changed",
            field=field,
            code="DEAL_NOT_EDITABLE",
        )


async def lock_editable_deal(
    session: AsyncSession, deal_id: int, *, field: tuple[str, ...], version: int | None = None
) -> Deal:
    """The deal, locked until the transaction ends, at `version` (if given) and editable.
    Every write that touches a deal or its scenarios and trade-ins takes this lock first, so
    such writes queue in one order and never deadlock each other."""
    deal = await load_owned(session, Deal, deal_id, entity=ENTITY, field=field, for_update=True)
    check_version(deal, version, entity=ENTITY)
    require_editable(deal, field=field)
    return deal


async def touch(session: AsyncSession, deal: Deal) -> None:
    """A new version of the deal for a change to what belongs to it (e.g. its trade-ins)."""
    bump_version(deal)
    await session.flush()


async def _save(
    session: AsyncSession,
    actor: Actor,
    deal: Deal,
    *,
    action: str,
    before: JSONObject,
) -> Deal:
    bump_version(deal)
    await flush_and_record(session, actor, deal, action=action, entity_type=ENTITY, before=before)
    return deal


async def require_staff(
    session: AsyncSession,
    user_id: int,
    *,
    roles: frozenset[Role],
    what: str,
    code: str,
    field: tuple[str, ...],
) -> User:
    """A user of this dealership who is active and has one of `roles`."""
    user = await load_owned(session, User, user_id, entity="User", field=field)
    if not user.is_active:
        raise ValidationFailed(
            f"{user.first_name} {user.last_name} is deactivated", field=field, code=code
        )
    if user.role not in roles:
        allowed = ", ".join(sorted(r.value.replace("_", " ") for r in roles))
        raise ValidationFailed(
            f"the {what} must be a {allowed}; {user.first_name} {user.last_name} is a "
            f"{user.role.value.replace('_', ' ')}",
            field=field,
            code=code,
        )
    return user


# --- writes --------------------------------------------------------------------------------


async def update_deal(
    session: AsyncSession,
    actor: Actor,
    *,
    deal_id: int,
    version: int,
    fields: DealFields,
    path: tuple[str, ...],
) -> Deal:
    clean: DealFields = {}
    if "notes" in fields:
        clean["notes"] = optional_text(
            fields["notes"], field=(*path, "notes"), max_length=MAX_NOTES
        )
    deal = await lock_editable_deal(session, deal_id, field=(*path, "id"), version=version)
    for manager, roles, what, code in _MANAGERS:
        if manager in fields:
            manager_id = fields[manager]
            if manager_id is not None:
                field = (*path, camel(manager))
                await require_staff(
                    session, manager_id, roles=roles, what=what, code=code, field=field
                )
            clean[manager] = manager_id
    before = snapshot(deal)
    for key, value in clean.items():
        setattr(deal, key, value)
    if snapshot(deal) == before:
        return deal  # nothing changed: no new version, no audit row
    return await _save(session, actor, deal, action="deal.update", before=before)


async def assign_customer(
    session: AsyncSession,
    actor: Actor,
    *,
    deal_id: int,
    version: int,
    customer_id: int,
    path: tuple[str, ...],
) -> Deal:
    """Put the deal on another customer (e.g. the right one of two duplicates). Trade-ins on
    the deal that belonged to the previous customer move with it."""
    deal = await lock_editable_deal(session, deal_id, field=(*path, "id"), version=version)
    field = (*path, "customerId")
    customer = await load_owned(session, Customer, customer_id, entity="Customer", field=field)
    if customer.archived_at is not None:
        raise ValidationFailed(
            "this customer is archived; restore them first", field=field, code="CUSTOMER_ARCHIVED"
        )
    if deal.customer_id == customer.id:
        return deal
    previous = deal.customer_id
    before = snapshot(deal)
    deal.customer_id = customer.id
    trades = (
        await session.scalars(
            select(TradeVehicle)
            .where(TradeVehicle.deal_id == deal.id, TradeVehicle.customer_id == previous)
            .order_by(TradeVehicle.id)
            .with_for_update()
        )
    ).all()
    for trade in trades:
        trade_before = snapshot(trade)
        trade.customer_id = customer.id
        await session.flush()
        await record_row(
            session,
            actor,
            trade,
            action="trade_vehicle.reassign",
            entity_type="TradeVehicle",
            before=trade_before,
        )
    return await _save(session, actor, deal, action="deal.assign_customer", before=before)


async def change_salesperson(
    session: AsyncSession,
    actor: Actor,
    *,
    deal_id: int,
    version: int,
    salesperson_id: int,
    path: tuple[str, ...],
) -> Deal:
    deal = await lock_editable_deal(session, deal_id, field=(*path, "id"), version=version)
    await require_staff(
        session,
        salesperson_id,
        roles=SALESPERSON_ROLES,
        what="salesperson",
        code="INVALID_SALESPERSON",
        field=(*path, "salespersonId"),
    )
    if deal.salesperson_id == salesperson_id:
        return deal
    before = snapshot(deal)
    deal.salesperson_id = salesperson_id
    return await _save(session, actor, deal, action="deal.change_salesperson", before=before)


async def set_active_scenario(
    session: AsyncSession,
    actor: Actor,
    *,
    deal_id: int,
    version: int,
    scenario_id: int,
    path: tuple[str, ...],
) -> Deal:
    deal = await lock_editable_deal(session, deal_id, field=(*path, "dealId"), version=version)
    field = (*path, "scenarioId")
    scenario = await load_owned(
        session, DealScenario, scenario_id, entity="DealScenario", field=field
    )
    if scenario.deal_id != deal.id:
        raise ValidationFailed(
            f"this scenario belongs to another deal than {deal.deal_number}",
            field=field,
            code="SCENARIO_NOT_ON_DEAL",
        )
    if deal.active_scenario_id == scenario.id:
        return deal
    before = snapshot(deal)
    deal.active_scenario_id = scenario.id
    return await _save(session, actor, deal, action="deal.set_active_scenario", before=before)


async def attach_trade_vehicle(
    session: AsyncSession,
    actor: Actor,
    *,
    deal_id: int,
    trade_vehicle_id: int,
    path: tuple[str, ...],
) -> tuple[Deal, TradeVehicle]:
    """Put one of the customer's trade-ins (e.g. from an earlier, lost deal) on this deal."""
    deal = await lock_editable_deal(session, deal_id, field=(*path, "dealId"))
    field = (*path, "tradeVehicleId")
    trade = await load_owned(
        session, TradeVehicle, trade_vehicle_id, entity="TradeVehicle", field=field, for_update=True
    )
    if trade.deal_id == deal.id:
        return deal, trade
    if trade.customer_id is not None and trade.customer_id != deal.customer_id:
        raise ValidationFailed(
            "this trade-in belongs to another customer than the deal's",
            field=field,
            code="TRADE_VEHICLE_OF_ANOTHER_CUSTOMER",
        )
    if trade.deal_id is not None:
        other = await session.scalar(select(Deal.status).where(Deal.id == trade.deal_id))
        if other in LIVE_DEAL_STATUSES:
            raise ValidationFailed(
                "this trade-in is on another live deal; detach it there first",
                field=field,
                code="TRADE_VEHICLE_ON_ANOTHER_DEAL",
            )
    before = snapshot(trade)
    trade.deal_id = deal.id
    trade.customer_id = deal.customer_id
    await flush_and_record(
        session,
        actor,
        trade,
        action="trade_vehicle.attach",
        entity_type="TradeVehicle",
        before=before,
    )
    await touch(session, deal)
    return deal, trade


async def detach_trade_vehicle(
    session: AsyncSession,
    actor: Actor,
    *,
    deal_id: int,
    trade_vehicle_id: int,
    path: tuple[str, ...],
) -> tuple[Deal, TradeVehicle]:
    """Take a trade-in off the deal; it stays with the customer."""
    deal = await lock_editable_deal(session, deal_id, field=(*path, "dealId"))
    field = (*path, "tradeVehicleId")
    trade = await load_owned(
        session, TradeVehicle, trade_vehicle_id, entity="TradeVehicle", field=field, for_update=True
    )
    if trade.deal_id != deal.id:
        raise ValidationFailed(
            f"this trade-in is not on deal {deal.deal_number}",
            field=field,
            code="TRADE_VEHICLE_NOT_ON_DEAL",
        )
    before = snapshot(trade)
    trade.deal_id = None
    await flush_and_record(
        session,
        actor,
        trade,
        action="trade_vehicle.detach",
        entity_type="TradeVehicle",
        before=before,
    )
    await touch(session, deal)
    return deal, trade
