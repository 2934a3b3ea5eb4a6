"""GraphQL types, inputs and results of inventory vehicles."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from db.models.enums import VehicleCondition, VehicleStatus
from db.storage.permissions import VIEW_GROSS
from db.storage.vehicles import VehicleOrderField
from resolvers.context import Info
from resolvers.permissions import sensitive
from schema.errors import CommonErrors, VersionConflictError
from schema.relay import Node, OrderDirection
from schema.scalars import Money

if TYPE_CHECKING:
    from schema.deals import Deal

strawberry.enum(
    VehicleOrderField,
    description=(
        "What vehicles can be sorted by. RECEIVED_ON ascending lists the longest in stock "
        "first; MAKE_MODEL sorts by make, then model, then year."
    ),
)


@strawberry.type(description="A vehicle in the dealership's inventory.")
class Vehicle(Node):
    pk: strawberry.Private[int]
    dealership_id: strawberry.Private[int]
    vin: str = strawberry.field(description="17 characters, upper case, check digit verified.")
    stock_number: str = strawberry.field(
        description="The dealership's own number for the vehicle, unique, upper case."
    )
    condition: VehicleCondition
    year: int = strawberry.field(description="Model year.")
    make: str
    model: str
    trim: str | None
    body_style: str | None
    exterior_color: str | None
    interior_color: str | None
    mileage: int = strawberry.field(description="Odometer reading in miles.")
    cost: Money | None = strawberry.field(
        description="What the dealership has in the vehicle. Null for roles without "
        "deal.view_gross.",
        extensions=sensitive(VIEW_GROSS),
    )
    list_price: Money = strawberry.field(description="The advertised price.")
    msrp: Money | None = strawberry.field(description="Manufacturer's suggested retail price.")
    status: VehicleStatus
    received_on: date = strawberry.field(description="The day the vehicle came into stock.")
    sold_at: datetime | None
    version: int = strawberry.field(description="Send it back with updates (optimistic locking).")
    created_at: datetime
    updated_at: datetime

    @strawberry.field(description='Year, make, model and trim, e.g. "2022 Honda Civic EX".')
    def title(self) -> str:
        parts = [str(self.year), self.make, self.model, self.trim or ""]
        return " ".join(part for part in parts if part)

    @strawberry.field(
        description=(
            "Whole days since `receivedOn`, counted in the dealership's time zone (its "
            "settings' timeZone): 0 on the day received. The `daysInStock` filters count "
            "the same way."
        )
    )
    async def days_in_stock(self, info: Info) -> int:
        today = await info.context.loaders.dealership_today.load(self.dealership_id)
        return (today - self.received_on).days

    @strawberry.field(description="Deals on this vehicle, newest first.")
    async def deals(self, info: Info) -> list[Annotated[Deal, strawberry.lazy("schema.deals")]]:
        return await info.context.loaders.vehicle_deals.load(self.pk)


@strawberry.type(description="How many vehicles have one status.")
class InventoryCount:
    status: VehicleStatus
    count: int


@strawberry.type(description="Vehicles of one status, with their totals.")
class InventoryStatusSummary:
    status: VehicleStatus
    count: int
    total_list_price: Money
    total_cost: Money | None = strawberry.field(
        description="Null for roles without deal.view_gross.", extensions=sensitive(VIEW_GROSS)
    )


@strawberry.type(description="The whole inventory, sold vehicles included, and per status.")
class InventorySummary:
    total_count: int
    total_list_price: Money
    total_cost: Money | None = strawberry.field(
        description="Null for roles without deal.view_gross.", extensions=sensitive(VIEW_GROSS)
    )
    by_status: list[InventoryStatusSummary] = strawberry.field(
        description="Every status, in a fixed order, zeros included."
    )


@strawberry.input(description="Narrow a vehicle list. All given conditions must hold.")
class VehicleFilter:
    status: list[VehicleStatus] | None = strawberry.field(
        default=None, description="Any of these statuses; null or empty for any."
    )
    condition: list[VehicleCondition] | None = strawberry.field(
        default=None, description="Any of these conditions; null or empty for any."
    )
    year_min: int | None = None
    year_max: int | None = None
    make: str | None = strawberry.field(default=None, description="Exact, any case.")
    model: str | None = strawberry.field(default=None, description="Exact, any case.")
    search: str | None = strawberry.field(
        default=None,
        description=(
            "Each word a partial match on make, model, trim, VIN or stock number (a 4-digit "
            'word also matches the year), e.g. "civic ex" or "042788".'
        ),
    )
    price_min: Money | None = strawberry.field(default=None, description="On the list price.")
    price_max: Money | None = strawberry.field(default=None, description="On the list price.")
    mileage_max: int | None = None
    days_in_stock_min: int | None = strawberry.field(
        default=None, description="Counted as `Vehicle.daysInStock` is."
    )
    days_in_stock_max: int | None = None


@strawberry.input
class VehicleOrder:
    field: VehicleOrderField = VehicleOrderField.MAKE_MODEL
    direction: OrderDirection = OrderDirection.ASC


@strawberry.input
class CreateVehicleInput:
    vin: str
    stock_number: str | None = strawberry.field(
        default=None,
        description=(
            "Leave out to take the dealership's next number from its stock number format "
            "(numbers already in use are skipped)."
        ),
    )
    condition: VehicleCondition
    year: int = strawberry.field(description="Model year: 1900 up to next year.")
    make: str
    model: str
    trim: str | None = None
    body_style: str | None = None
    exterior_color: str | None = None
    interior_color: str | None = None
    mileage: int = strawberry.field(description="0 to 2,000,000.")
    cost: Money
    list_price: Money
    msrp: Money | None = None
    received_on: date | None = strawberry.field(
        default=None, description="Defaults to today in the dealership's time zone."
    )


@strawberry.input(
    description=(
        "Only the fields you send are changed; null clears an optional field (trim, "
        "colours, msrp) and is refused for the others."
    )
)
class UpdateVehicleInput:
    id: strawberry.ID
    version: int = strawberry.field(description="The version you read.")
    vin: str | None = strawberry.UNSET
    stock_number: str | None = strawberry.UNSET
    condition: VehicleCondition | None = strawberry.UNSET
    year: int | None = strawberry.UNSET
    make: str | None = strawberry.UNSET
    model: str | None = strawberry.UNSET
    trim: str | None = strawberry.UNSET
    body_style: str | None = strawberry.UNSET
    exterior_color: str | None = strawberry.UNSET
    interior_color: str | None = strawberry.UNSET
    mileage: int | None = strawberry.UNSET
    cost: Money | None = strawberry.UNSET
    list_price: Money | None = strawberry.UNSET
    msrp: Money | None = strawberry.UNSET
    received_on: date | None = strawberry.UNSET


@strawberry.input
class ChangeVehicleStatusInput:
    id: strawberry.ID
    version: int
    status: VehicleStatus = strawberry.field(
        description="AVAILABLE, ON_HOLD, IN_TRANSIT or WHOLESALE; deals set PENDING and SOLD."
    )


@strawberry.input
class DeleteVehicleInput:
    id: strawberry.ID
    version: int


@strawberry.type
class CreateVehicleSuccess:
    vehicle: Vehicle


@strawberry.type
class UpdateVehicleSuccess:
    vehicle: Vehicle


@strawberry.type
class ChangeVehicleStatusSuccess:
    vehicle: Vehicle


@strawberry.type
class DeleteVehicleSuccess:
    deleted_vehicle_id: strawberry.ID


CreateVehicleResult = Annotated[
    CreateVehicleSuccess | CommonErrors, strawberry.union("CreateVehicleResult")
]
UpdateVehicleResult = Annotated[
    UpdateVehicleSuccess | CommonErrors | VersionConflictError,
    strawberry.union("UpdateVehicleResult"),
]
ChangeVehicleStatusResult = Annotated[
    ChangeVehicleStatusSuccess | CommonErrors | VersionConflictError,
    strawberry.union("ChangeVehicleStatusResult"),
]
DeleteVehicleResult = Annotated[
    DeleteVehicleSuccess | CommonErrors | VersionConflictError,
    strawberry.union("DeleteVehicleResult"),
]
