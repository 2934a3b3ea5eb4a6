"""Deal queries and the mutations that edit a deal."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from datetime import datetime
from typing import Any

import strawberry

from db.storage import deals as storage
from db.storage.pagination import PageArgs
from resolvers.context import Info
from resolvers.ids import decode_id, decode_optional_id
from resolvers.loaders import DEALS, ByIdLoader, ToOne, load_joined
from resolvers.lookahead import selected
from resolvers.mutations import mutation, write
from resolvers.pagination import to_connection
from resolvers.permissions import requires
from schema.base import from_row
from schema.deals import (
    AssignDealCustomerInput,
    AssignDealCustomerResult,
    AssignDealCustomerSuccess,
    AttachTradeVehicleInput,
    AttachTradeVehicleResult,
    AttachTradeVehicleSuccess,
    ChangeDealSalespersonInput,
    ChangeDealSalespersonResult,
    ChangeDealSalespersonSuccess,
    Deal,
    DealFilter,
    DealOrder,
    DealStatusStats,
    DetachTradeVehicleInput,
    DetachTradeVehicleResult,
    DetachTradeVehicleSuccess,
    SetActiveScenarioInput,
    SetActiveScenarioResult,
    SetActiveScenarioSuccess,
    UpdateDealInput,
    UpdateDealResult,
    UpdateDealSuccess,
)
from schema.relay import Connection, OrderDirection
from schema.trade_vehicles import TradeVehicle

INPUT = ("input",)


async def deal(info: Info, id: strawberry.ID) -> Deal | None:
    """A deal of your dealership by id."""
    pk = decode_id(id, "Deal", field=("id",))
    fields = selected(info, ())
    loaders = info.context.loaders
    relations = _to_one(info, [], fields)
    if relations and not loaders.deal.knows(pk):
        # Not loaded yet: the deal and what the query selects of its to-one relations, in
        # one statement.
        await load_joined(info.context.db, DEALS, [pk], relations, parent_loader=loaders.deal)
    found = await loaders.deal.load(pk)
    if found is not None:
        await preload(info, [found], fields)
    return found


async def deal_by_number(info: Info, deal_number: str) -> Deal | None:
    """A deal by its number, e.g. 2025-0314-0007."""
    async with info.context.db.session() as session:
        row = await storage.get_deal_by_number(session, deal_number=deal_number)
    if row is None:
        return None
    found = from_row(Deal, row)
    await preload(info, [found], selected(info, ()))
    return found


def _criteria(flt: DealFilter) -> storage.DealFilter:
    path = ("filter",)
    return storage.DealFilter(
        statuses=tuple(flt.status or ()),
        salesperson_id=decode_optional_id(
            flt.salesperson_id, "User", field=(*path, "salespersonId")
        ),
        customer_id=decode_optional_id(flt.customer_id, "Customer", field=(*path, "customerId")),
        vehicle_id=decode_optional_id(flt.vehicle_id, "Vehicle", field=(*path, "vehicleId")),
        created_after=flt.created_after,
        created_before=flt.created_before,
        search=flt.search,
    )


def _to_one(info: Info, deals: Sequence[Deal], fields: set[str]) -> list[ToOne]:
    """The deals' to-one relations the query selects, except those already loaded for
    every one of these deals (with no deals: every selected one)."""
    loaders = info.context.loaders
    wanted: list[tuple[str, ByIdLoader[Any]]] = []
    if "customer" in fields:
        wanted.append(("customer_id", loaders.customer))
    if "vehicle" in fields or "grossProfit" in fields:
        wanted.append(("vehicle_id", loaders.vehicle))
    for name, column in (
        ("salesperson", "salesperson_id"),
        ("salesManager", "sales_manager_id"),
        ("financeManager", "finance_manager_id"),
    ):
        if name in fields:
            wanted.append((column, loaders.user))
    if "activeScenario" in fields or "grossProfit" in fields:
        wanted.append(("active_scenario_id", loaders.deal_scenario))
    return [
        ToOne(column, loader)
        for column, loader in wanted
        if not deals or any(not loader.knows(getattr(d, column)) for d in deals)
    ]


async def preload(info: Info, deals: Sequence[Deal], fields: set[str]) -> None:
    """Load what the query selects of these deals' relations now - one statement per
    relation (a single deal's to-one relations in one) - so that each deal's fields resolve
    from memory instead of one await each."""
    if not deals or not fields:
        return
    loaders = info.context.loaders
    waits: list[Awaitable[None]] = []
    relations = _to_one(info, deals, fields)
    if len(deals) == 1 and relations:
        waits.append(load_joined(info.context.db, DEALS, [deals[0].pk], relations))
    else:
        # A page's relations one table at a time: joined, PostgreSQL replans the LEFT JOINs
        # under each table's row-level security for every page (1.5-2.5 ms for 50 deals
        # against 0.9 ms for the three lookups by id), more than the round trips cost.
        for column, loader in relations:
            keys = [key for d in deals if (key := getattr(d, column)) is not None]
            waits.append(loader.prefetch(keys))
    ids = [d.pk for d in deals]
    if "scenarios" in fields:
        waits.append(loaders.deal_scenarios.prefetch(ids))
    if "tradeVehicles" in fields:
        waits.append(loaders.deal_trade_vehicles.prefetch(ids))
    if "rateRequests" in fields:
        waits.append(loaders.deal_rate_requests.prefetch(ids))
    if "appointments" in fields:
        waits.append(loaders.deal_appointments.prefetch(ids))
    await asyncio.gather(*waits)


async def deals(
    info: Info,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    filter: DealFilter | None = None,
    order_by: DealOrder | None = None,
) -> Connection[Deal]:
    """Your dealership's deals, newest first unless `orderBy` says otherwise."""
    criteria = _criteria(filter or DealFilter())
    order = order_by or DealOrder()
    async with info.context.db.session() as session:
        page = await storage.list_deals(
            session,
            filter=criteria,
            order=order.field,
            descending=order.direction is OrderDirection.DESC,
            page=PageArgs(first=first, after=after, last=last, before=before),
        )
    connection = to_connection(
        info, page, DEALS.build, lambda session: storage.count_deals(session, filter=criteria)
    )
    await preload(info, connection.nodes(), selected(info, ("nodes",), ("edges", "node")))
    return connection


async def deal_stats(
    info: Info, created_after: datetime | None = None, created_before: datetime | None = None
) -> list[DealStatusStats]:
    """Per status, every status listed (zeros included): how many deals were created in the
    period (inclusive after, exclusive before) and the totals of their active scenarios."""
    async with info.context.db.session() as session:
        totals = await storage.status_totals(
            session, created_after=created_after, created_before=created_before
        )
    return [
        DealStatusStats(
            status=t.status,
            count=t.count,
            priced_count=t.priced_count,
            total_vehicle_price=t.total_vehicle_price,
            average_vehicle_price=t.average_vehicle_price,
            total_down_payment=t.total_down_payment,
            total_amount_financed=t.total_amount_financed,
            total_monthly_payment=t.total_monthly_payment,
        )
        for t in totals
    ]


@mutation
async def update_deal(info: Info, input: UpdateDealInput) -> UpdateDealResult:
    """Notes and managers of an editable deal."""
    deal_id = decode_id(input.id, "Deal", field=(*INPUT, "id"))
    fields: storage.DealFields = {}
    if input.notes is not strawberry.UNSET:
        fields["notes"] = input.notes
    if input.sales_manager_id is not strawberry.UNSET:
        fields["sales_manager_id"] = decode_optional_id(
            input.sales_manager_id, "User", field=(*INPUT, "salesManagerId")
        )
    if input.finance_manager_id is not strawberry.UNSET:
        fields["finance_manager_id"] = decode_optional_id(
            input.finance_manager_id, "User", field=(*INPUT, "financeManagerId")
        )
    row = await write(
        info,
        lambda session, actor: storage.update_deal(
            session, actor, deal_id=deal_id, version=input.version, fields=fields, path=INPUT
        ),
    )
    return UpdateDealSuccess(deal=from_row(Deal, row))


@mutation
async def assign_deal_customer(
    info: Info, input: AssignDealCustomerInput
) -> AssignDealCustomerResult:
    deal_id = decode_id(input.id, "Deal", field=(*INPUT, "id"))
    customer_id = decode_id(input.customer_id, "Customer", field=(*INPUT, "customerId"))
    row = await write(
        info,
        lambda session, actor: storage.assign_customer(
            session,
            actor,
            deal_id=deal_id,
            version=input.version,
            customer_id=customer_id,
            path=INPUT,
        ),
    )
    return AssignDealCustomerSuccess(deal=from_row(Deal, row))


@mutation
async def change_deal_salesperson(
    info: Info, input: ChangeDealSalespersonInput
) -> ChangeDealSalespersonResult:
    deal_id = decode_id(input.id, "Deal", field=(*INPUT, "id"))
    salesperson_id = decode_id(input.salesperson_id, "User", field=(*INPUT, "salespersonId"))
    row = await write(
        info,
        lambda session, actor: storage.change_salesperson(
            session,
            actor,
            deal_id=deal_id,
            version=input.version,
            salesperson_id=salesperson_id,
            path=INPUT,
        ),
    )
    return ChangeDealSalespersonSuccess(deal=from_row(Deal, row))


@mutation
async def set_active_scenario(info: Info, input: SetActiveScenarioInput) -> SetActiveScenarioResult:
    """Choose the scenario the deal goes ahead with."""
    deal_id = decode_id(input.deal_id, "Deal", field=(*INPUT, "dealId"))
    scenario_id = decode_id(input.scenario_id, "DealScenario", field=(*INPUT, "scenarioId"))
    row = await write(
        info,
        lambda session, actor: storage.set_active_scenario(
            session,
            actor,
            deal_id=deal_id,
            version=input.version,
            scenario_id=scenario_id,
            path=INPUT,
        ),
    )
    return SetActiveScenarioSuccess(deal=from_row(Deal, row))


def _trade_ids(
    input: AttachTradeVehicleInput | DetachTradeVehicleInput,
) -> tuple[int, int]:
    return (
        decode_id(input.deal_id, "Deal", field=(*INPUT, "dealId")),
        decode_id(input.trade_vehicle_id, "TradeVehicle", field=(*INPUT, "tradeVehicleId")),
    )


@mutation
async def attach_trade_vehicle(
    info: Info, input: AttachTradeVehicleInput
) -> AttachTradeVehicleResult:
    """Put one of the customer's trade-ins (e.g. from an earlier, lost deal) on the deal.
    Existing scenarios keep their trade figures."""
    deal_id, trade_id = _trade_ids(input)
    row, trade = await write(
        info,
        lambda session, actor: storage.attach_trade_vehicle(
            session, actor, deal_id=deal_id, trade_vehicle_id=trade_id, path=INPUT
        ),
    )
    return AttachTradeVehicleSuccess(
        deal=from_row(Deal, row), trade_vehicle=from_row(TradeVehicle, trade)
    )


@mutation
async def detach_trade_vehicle(
    info: Info, input: DetachTradeVehicleInput
) -> DetachTradeVehicleResult:
    """Take a trade-in off the deal; it stays with the customer. Existing scenarios keep
    their trade figures."""
    deal_id, trade_id = _trade_ids(input)
    row, trade = await write(
        info,
        lambda session, actor: storage.detach_trade_vehicle(
            session, actor, deal_id=deal_id, trade_vehicle_id=trade_id, path=INPUT
        ),
    )
    return DetachTradeVehicleSuccess(
        deal=from_row(Deal, row), trade_vehicle=from_row(TradeVehicle, trade)
    )


@strawberry.type
class DealQuery:
    deal: Deal | None = strawberry.field(resolver=deal, extensions=requires("deal.read"))
    deal_by_number: Deal | None = strawberry.field(
        resolver=deal_by_number, extensions=requires("deal.read")
    )
    deals: Connection[Deal] = strawberry.field(resolver=deals, extensions=requires("deal.read"))
    deal_stats: list[DealStatusStats] = strawberry.field(
        resolver=deal_stats, extensions=requires("deal.read")
    )


@strawberry.type
class DealMutation:
    update_deal: UpdateDealResult = strawberry.field(
        resolver=update_deal, extensions=requires("deal.write")
    )
    assign_deal_customer: AssignDealCustomerResult = strawberry.field(
        resolver=assign_deal_customer, extensions=requires("deal.write")
    )
    change_deal_salesperson: ChangeDealSalespersonResult = strawberry.field(
        resolver=change_deal_salesperson, extensions=requires("deal.assign")
    )
    set_active_scenario: SetActiveScenarioResult = strawberry.field(
        resolver=set_active_scenario, extensions=requires("deal.write")
    )
    attach_trade_vehicle: AttachTradeVehicleResult = strawberry.field(
        resolver=attach_trade_vehicle, extensions=requires("deal.write")
    )
    detach_trade_vehicle: DetachTradeVehicleResult = strawberry.field(
        resolver=detach_trade_vehicle, extensions=requires("deal.write")
    )
