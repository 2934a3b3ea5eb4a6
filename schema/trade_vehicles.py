"""GraphQL types, inputs and results of trade-ins."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from resolvers.context import Info
from schema.errors import CommonErrors
from schema.relay import Node
from schema.scalars import Money

if TYPE_CHECKING:
    from schema.customers import Customer
    from schema.deals import Deal


@strawberry.type(description="A customer's vehicle taken (or offered) in part exchange.")
class TradeVehicle(Node):
    pk: strawberry.Private[int]
    deal_id: strawberry.Private[int | None]
    customer_id: strawberry.Private[int | None]
    vin: str | None
    year: int | None
    make: str | None
    model: str | None
    trim: str | None
    mileage: int | None
    allowance: Money = strawberry.field(description="What the dealership credits for it.")
    actual_cash_value: Money | None = strawberry.field(
        description="What it is really worth to the dealership (appraisal)."
    )
    payoff_amount: Money = strawberry.field(description="What is still owed on it.")
    payoff_lender: str | None
    created_at: datetime
    updated_at: datetime

    @strawberry.field(description="The deal it is on, if any.")
    async def deal(self, info: Info) -> Annotated[Deal, strawberry.lazy("schema.deals")] | None:
        if self.deal_id is None:
            return None
        return await info.context.loaders.deal.load(self.deal_id)

    @strawberry.field(description="Whose vehicle it is.")
    async def customer(
        self, info: Info
    ) -> Annotated[Customer, strawberry.lazy("schema.customers")] | None:
        if self.customer_id is None:
            return None
        return await info.context.loaders.customer.load(self.customer_id)


@strawberry.input(description="A trade-in to add to a deal (and to the deal's customer).")
class AddTradeVehicleInput:
    deal_id: strawberry.ID
    year: int
    make: str
    model: str
    mileage: int
    allowance: Money
    payoff_amount: Money = strawberry.field(description="0 if the vehicle is paid off.")
    vin: str | None = strawberry.field(default=None, description="Checked when given.")
    trim: str | None = None
    actual_cash_value: Money | None = None
    payoff_lender: str | None = None


@strawberry.input(description="Only the fields you send are changed; null clears a field.")
class UpdateTradeVehicleInput:
    id: strawberry.ID
    vin: str | None = strawberry.UNSET
    year: int | None = strawberry.UNSET
    make: str | None = strawberry.UNSET
    model: str | None = strawberry.UNSET
    trim: str | None = strawberry.UNSET
    mileage: int | None = strawberry.UNSET
    allowance: Money | None = strawberry.UNSET
    actual_cash_value: Money | None = strawberry.UNSET
    payoff_amount: Money | None = strawberry.UNSET
    payoff_lender: str | None = strawberry.UNSET


@strawberry.input
class RemoveTradeVehicleInput:
    id: strawberry.ID


@strawberry.type
class AddTradeVehicleSuccess:
    trade_vehicle: TradeVehicle
    deal: Annotated[Deal, strawberry.lazy("schema.deals")]


@strawberry.type
class UpdateTradeVehicleSuccess:
    trade_vehicle: TradeVehicle


@strawberry.type
class RemoveTradeVehicleSuccess:
    removed_trade_vehicle_id: strawberry.ID
    deal: Annotated[Deal, strawberry.lazy("schema.deals")] | None = strawberry.field(
        description="The deal it was on, if any."
    )


AddTradeVehicleResult = Annotated[
    AddTradeVehicleSuccess | CommonErrors, strawberry.union("AddTradeVehicleResult")
]
UpdateTradeVehicleResult = Annotated[
    UpdateTradeVehicleSuccess | CommonErrors, strawberry.union("UpdateTradeVehicleResult")
]
RemoveTradeVehicleResult = Annotated[
    RemoveTradeVehicleSuccess | CommonErrors, strawberry.union("RemoveTradeVehicleResult")
]
