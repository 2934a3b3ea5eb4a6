"""Inventory queries and mutations."""

from __future__ import annotations

from decimal import Decimal
from typing import cast

import strawberry

from db.storage import vehicles as storage
from db.storage.pagination import PageArgs
from resolvers.context import Info
from resolvers.ids import decode_id
from resolvers.mutations import mutation, write
from resolvers.pagination import to_connection
from resolvers.permissions import requires
from schema.base import from_row
from schema.inputs import provided
from schema.relay import Connection, OrderDirection, to_global_id
from schema.scalars import Money
from schema.vehicles import (
    ChangeVehicleStatusInput,
    ChangeVehicleStatusResult,
    ChangeVehicleStatusSuccess,
    CreateVehicleInput,
    CreateVehicleResult,
    CreateVehicleSuccess,
    DeleteVehicleInput,
    DeleteVehicleResult,
    DeleteVehicleSuccess,
    InventoryCount,
    InventoryStatusSummary,
    InventorySummary,
    UpdateVehicleInput,
    UpdateVehicleResult,
    UpdateVehicleSuccess,
    Vehicle,
    VehicleFilter,
    VehicleOrder,
)

INPUT = ("input",)


async def vehicle(info: Info, id: strawberry.ID) -> Vehicle | None:
    """A vehicle of your dealership by id."""
    return await info.context.loaders.vehicle.load(decode_id(id, "Vehicle", field=("id",)))


async def vehicle_by_vin(info: Info, vin: str) -> Vehicle | None:
    """The vehicle with this VIN (any case), or null."""
    async with info.context.db.session() as session:
        row = await storage.get_by_vin(session, vin=vin)
    return None if row is None else from_row(Vehicle, row)


async def vehicle_by_stock_number(info: Info, stock_number: str) -> Vehicle | None:
    """The vehicle with this stock number (any case), or null."""
    async with info.context.db.session() as session:
        row = await storage.get_by_stock_number(session, stock_number=stock_number)
    return None if row is None else from_row(Vehicle, row)


def _criteria(flt: VehicleFilter) -> storage.VehicleFilter:
    return storage.VehicleFilter(
        statuses=tuple(flt.status or ()),
        conditions=tuple(flt.condition or ()),
        year_min=flt.year_min,
        year_max=flt.year_max,
        make=flt.make,
        model=flt.model,
        search=flt.search,
        price_min=flt.price_min,
        price_max=flt.price_max,
        mileage_max=flt.mileage_max,
        days_in_stock_min=flt.days_in_stock_min,
        days_in_stock_max=flt.days_in_stock_max,
    )


async def vehicles(
    info: Info,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    filter: VehicleFilter | None = None,
    order_by: VehicleOrder | None = None,
) -> Connection[Vehicle]:
    """Your dealership's inventory, sold vehicles included (filter by status to leave
    them out)."""
    criteria = _criteria(filter or VehicleFilter())
    order = order_by or VehicleOrder()
    async with info.context.db.session() as session:
        page = await storage.list_vehicles(
            session,
            filter=criteria,
            order=order.field,
            descending=order.direction is OrderDirection.DESC,
            page=PageArgs(first=first, after=after, last=last, before=before),
        )
    return to_connection(
        info,
        page,
        lambda row: from_row(Vehicle, row),
        lambda session: storage.count_vehicles(session, filter=criteria),
    )


async def inventory_counts(info: Info) -> list[InventoryCount]:
    """How many vehicles have each status; every status, zeros included."""
    async with info.context.db.session() as session:
        summaries = await storage.inventory_by_status(session)
    return [InventoryCount(status=s.status, count=s.count) for s in summaries]


async def inventory_summary(info: Info) -> InventorySummary:
    """Counts and list price / cost totals, overall and per status."""
    async with info.context.db.session() as session:
        summaries = await storage.inventory_by_status(session)
    return InventorySummary(
        total_count=sum(s.count for s in summaries),
        total_list_price=Money(sum((s.total_list_price for s in summaries), Decimal(0))),
        total_cost=Money(sum((s.total_cost for s in summaries), Decimal(0))),
        by_status=[
            InventoryStatusSummary(
                status=s.status,
                count=s.count,
                total_list_price=Money(s.total_list_price),
                total_cost=Money(s.total_cost),
            )
            for s in summaries
        ],
    )


@mutation
async def create_vehicle(info: Info, input: CreateVehicleInput) -> CreateVehicleResult:
    """Add a vehicle to inventory as AVAILABLE."""
    fields = cast(storage.VehicleFields, provided(input))
    row = await write(
        info,
        lambda session, actor: storage.create_vehicle(session, actor, fields=fields, path=INPUT),
    )
    return CreateVehicleSuccess(vehicle=from_row(Vehicle, row))


@mutation
async def update_vehicle(info: Info, input: UpdateVehicleInput) -> UpdateVehicleResult:
    """Correct or complete a vehicle's details, VIN and stock number included."""
    vehicle_id = decode_id(input.id, "Vehicle", field=(*INPUT, "id"))
    fields = cast(storage.VehicleFields, provided(input, exclude=("id", "version")))
    row = await write(
        info,
        lambda session, actor: storage.update_vehicle(
            session,
            actor,
            vehicle_id=vehicle_id,
            version=input.version,
            fields=fields,
            path=INPUT,
        ),
    )
    return UpdateVehicleSuccess(vehicle=from_row(Vehicle, row))


@mutation
async def change_vehicle_status(
    info: Info, input: ChangeVehicleStatusInput
) -> ChangeVehicleStatusResult:
    """Put a vehicle on hold, in transit, to wholesale or back to available. Refused for
    PENDING and SOLD (deals set those) and while a live deal holds the vehicle."""
    vehicle_id = decode_id(input.id, "Vehicle", field=(*INPUT, "id"))
    row = await write(
        info,
        lambda session, actor: storage.change_status(
            session,
            actor,
            vehicle_id=vehicle_id,
            version=input.version,
            status=input.status,
            path=INPUT,
        ),
    )
    return ChangeVehicleStatusSuccess(vehicle=from_row(Vehicle, row))


@mutation
async def delete_vehicle(info: Info, input: DeleteVehicleInput) -> DeleteVehicleResult:
    """Remove a vehicle entered by mistake. Refused once a deal or quick quote refers to
    it: mark it WHOLESALE instead."""
    vehicle_id = decode_id(input.id, "Vehicle", field=(*INPUT, "id"))
    deleted = await write(
        info,
        lambda session, actor: storage.delete_vehicle(
            session, actor, vehicle_id=vehicle_id, version=input.version, path=INPUT
        ),
    )
    return DeleteVehicleSuccess(deleted_vehicle_id=to_global_id("Vehicle", deleted))


@strawberry.type
class VehicleQuery:
    vehicle: Vehicle | None = strawberry.field(
        resolver=vehicle, extensions=requires("vehicle.read")
    )
    vehicle_by_vin: Vehicle | None = strawberry.field(
        resolver=vehicle_by_vin, extensions=requires("vehicle.read")
    )
    vehicle_by_stock_number: Vehicle | None = strawberry.field(
        resolver=vehicle_by_stock_number, extensions=requires("vehicle.read")
    )
    vehicles: Connection[Vehicle] = strawberry.field(
        resolver=vehicles, extensions=requires("vehicle.read")
    )
    inventory_counts: list[InventoryCount] = strawberry.field(
        resolver=inventory_counts, extensions=requires("vehicle.read")
    )
    inventory_summary: InventorySummary = strawberry.field(
        resolver=inventory_summary, extensions=requires("vehicle.read")
    )


@strawberry.type
class VehicleMutation:
    create_vehicle: CreateVehicleResult = strawberry.field(
        resolver=create_vehicle, extensions=requires("vehicle.write")
    )
    update_vehicle: UpdateVehicleResult = strawberry.field(
        resolver=update_vehicle, extensions=requires("vehicle.write")
    )
    change_vehicle_status: ChangeVehicleStatusResult = strawberry.field(
        resolver=change_vehicle_status, extensions=requires("vehicle.write")
    )
    delete_vehicle: DeleteVehicleResult = strawberry.field(
        resolver=delete_vehicle, extensions=requires("vehicle.delete")
    )
