"""GraphQL types, inputs and results of deals (reading and editing)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from db.storage.deals import EDITABLE_STATUSES, DealOrderField
from db.storage.permissions import VIEW_GROSS
from resolvers.context import Info
from resolvers.permissions import sensitive
from schema.enums import DealStatus
from schema.errors import CommonErrors, VersionConflictError
from schema.relay import Node, OrderDirection
from schema.scalars import Money
from schema.scenarios import DealScenario
from schema.scenarios import gross_profit as scenario_gross_profit
from schema.trade_vehicles import TradeVehicle

if TYPE_CHECKING:
    from schema.appointments import Appointment
    from schema.customers import Customer
    from schema.rate_requests import LenderDecision, RateRequest
    from schema.users import User
    from schema.vehicles import Vehicle

strawberry.enum(DealOrderField, description="What deals can be sorted by.")


@strawberry.type(description="A sale: a customer, a vehicle, and the ways to structure it.")
class Deal(Node):
    pk: strawberry.Private[int]
    customer_id: strawberry.Private[int]
    vehicle_id: strawberry.Private[int]
    salesperson_id: strawberry.Private[int]
    sales_manager_id: strawberry.Private[int | None]
    finance_manager_id: strawberry.Private[int | None]
    active_scenario_id: strawberry.Private[int | None]
    selected_decision_id: strawberry.Private[int | None]
    deal_number: str = strawberry.field(
        description="YYYY-MMDD-NNNN: the day it was opened (dealership time) and a sequence."
    )
    status: DealStatus
    notes: str | None
    lost_reason: str | None
    contracted_at: datetime | None
    delivered_at: datetime | None
    closed_at: datetime | None = strawberry.field(
        description="When it was lost, cancelled or unwound."
    )
    version: int = strawberry.field(description="Send it back with updates (optimistic locking).")
    created_at: datetime
    updated_at: datetime

    @strawberry.field(
        description="Whether its status (open, pending approval, approved) lets it be edited."
    )
    def is_editable(self) -> bool:
        return self.status in EDITABLE_STATUSES

    @strawberry.field
    async def customer(
        self, info: Info
    ) -> Annotated[Customer, strawberry.lazy("schema.customers")]:
        return await info.context.loaders.customer.load_one(self.customer_id)

    @strawberry.field
    async def vehicle(self, info: Info) -> Annotated[Vehicle, strawberry.lazy("schema.vehicles")]:
        return await info.context.loaders.vehicle.load_one(self.vehicle_id)

    @strawberry.field
    async def salesperson(self, info: Info) -> Annotated[User, strawberry.lazy("schema.users")]:
        return await info.context.loaders.user.load_one(self.salesperson_id)

    @strawberry.field
    async def sales_manager(
        self, info: Info
    ) -> Annotated[User, strawberry.lazy("schema.users")] | None:
        if self.sales_manager_id is None:
            return None
        return await info.context.loaders.user.load(self.sales_manager_id)

    @strawberry.field
    async def finance_manager(
        self, info: Info
    ) -> Annotated[User, strawberry.lazy("schema.users")] | None:
        if self.finance_manager_id is None:
            return None
        return await info.context.loaders.user.load(self.finance_manager_id)

    @strawberry.field(description="The scenario the deal goes ahead with, once one is chosen.")
    async def active_scenario(self, info: Info) -> DealScenario | None:
        if self.active_scenario_id is None:
            return None
        return await info.context.loaders.deal_scenario.load(self.active_scenario_id)

    @strawberry.field(
        description="Front gross of the active scenario (see DealScenario.grossProfit). Null "
        "without an active scenario, and for roles without deal.view_gross.",
        extensions=sensitive(VIEW_GROSS),
    )
    async def gross_profit(self, info: Info) -> Money | None:
        if self.active_scenario_id is None:
            return None
        scenario = await info.context.loaders.deal_scenario.load(self.active_scenario_id)
        return None if scenario is None else await scenario_gross_profit(info, scenario)

    @strawberry.field(description="All its scenarios, oldest first.")
    async def scenarios(self, info: Info) -> list[DealScenario]:
        return await info.context.loaders.deal_scenarios.load(self.pk)

    @strawberry.field(description="Its rate requests to lenders, oldest first.")
    async def rate_requests(
        self, info: Info
    ) -> list[Annotated[RateRequest, strawberry.lazy("schema.rate_requests")]]:
        return await info.context.loaders.deal_rate_requests.load(self.pk)

    @strawberry.field(description="The lender decision the deal goes ahead with, if chosen.")
    async def selected_decision(
        self, info: Info
    ) -> Annotated[LenderDecision, strawberry.lazy("schema.rate_requests")] | None:
        if self.selected_decision_id is None:
            return None
        return await info.context.loaders.lender_decision.load(self.selected_decision_id)

    @strawberry.field(description="Appointments booked for this deal, in start order.")
    async def appointments(
        self, info: Info
    ) -> list[Annotated[Appointment, strawberry.lazy("schema.appointments")]]:
        return await info.context.loaders.deal_appointments.load(self.pk)

    @strawberry.field(description="The trade-ins on this deal, oldest first.")
    async def trade_vehicles(self, info: Info) -> list[TradeVehicle]:
        return await info.context.loaders.deal_trade_vehicles.load(self.pk)


@strawberry.type(
    description=(
        "The deals in one status and the summed figures of their active scenarios "
        "(deals without an active scenario count, but add nothing to the sums)."
    )
)
class DealStatusStats:
    status: DealStatus
    count: int
    priced_count: int = strawberry.field(description="How many have an active scenario.")
    total_vehicle_price: Money
    average_vehicle_price: Money = strawberry.field(
        description="Over the deals with an active scenario; 0 if there are none."
    )
    total_down_payment: Money
    total_amount_financed: Money
    total_monthly_payment: Money


@strawberry.input(description="Narrow a deal list. All given conditions must hold.")
class DealFilter:
    status: list[DealStatus] | None = strawberry.field(
        default=None, description="Any of these statuses."
    )
    salesperson_id: strawberry.ID | None = None
    customer_id: strawberry.ID | None = None
    vehicle_id: strawberry.ID | None = None
    created_after: datetime | None = strawberry.field(default=None, description="Inclusive.")
    created_before: datetime | None = strawberry.field(default=None, description="Exclusive.")
    search: str | None = strawberry.field(
        default=None, description="Partial match on the deal number or the customer's name."
    )


@strawberry.input(description="STATUS sorts by the status's name, then by creation time.")
class DealOrder:
    field: DealOrderField = DealOrderField.CREATED_AT
    direction: OrderDirection = OrderDirection.DESC


@strawberry.input(description="Only the fields you send are changed; null clears a field.")
class UpdateDealInput:
    id: strawberry.ID
    version: int = strawberry.field(description="The version you read.")
    notes: str | None = strawberry.UNSET
    sales_manager_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="An active sales manager or admin."
    )
    finance_manager_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="An active finance manager or admin."
    )


@strawberry.input(description="Put the deal on another customer; its trade-ins move along.")
class AssignDealCustomerInput:
    id: strawberry.ID
    version: int
    customer_id: strawberry.ID


@strawberry.input
class ChangeDealSalespersonInput:
    id: strawberry.ID
    version: int
    salesperson_id: strawberry.ID = strawberry.field(
        description="An active salesperson, sales manager or finance manager."
    )


@strawberry.input
class SetActiveScenarioInput:
    deal_id: strawberry.ID
    version: int = strawberry.field(description="The deal's version you read.")
    scenario_id: strawberry.ID


@strawberry.input(description="Put one of the customer's trade-ins on the deal.")
class AttachTradeVehicleInput:
    deal_id: strawberry.ID
    trade_vehicle_id: strawberry.ID


@strawberry.input(description="Take a trade-in off the deal; it stays with the customer.")
class DetachTradeVehicleInput:
    deal_id: strawberry.ID
    trade_vehicle_id: strawberry.ID


@strawberry.type
class UpdateDealSuccess:
    deal: Deal


@strawberry.type
class AssignDealCustomerSuccess:
    deal: Deal


@strawberry.type
class ChangeDealSalespersonSuccess:
    deal: Deal


@strawberry.type
class SetActiveScenarioSuccess:
    deal: Deal


@strawberry.type
class AttachTradeVehicleSuccess:
    deal: Deal
    trade_vehicle: TradeVehicle


@strawberry.type
class DetachTradeVehicleSuccess:
    deal: Deal
    trade_vehicle: TradeVehicle


UpdateDealResult = Annotated[
    UpdateDealSuccess | CommonErrors | VersionConflictError, strawberry.union("UpdateDealResult")
]
AssignDealCustomerResult = Annotated[
    AssignDealCustomerSuccess | CommonErrors | VersionConflictError,
    strawberry.union("AssignDealCustomerResult"),
]
ChangeDealSalespersonResult = Annotated[
    ChangeDealSalespersonSuccess | CommonErrors | VersionConflictError,
    strawberry.union("ChangeDealSalespersonResult"),
]
SetActiveScenarioResult = Annotated[
    SetActiveScenarioSuccess | CommonErrors | VersionConflictError,
    strawberry.union("SetActiveScenarioResult"),
]
AttachTradeVehicleResult = Annotated[
    AttachTradeVehicleSuccess | CommonErrors, strawberry.union("AttachTradeVehicleResult")
]
DetachTradeVehicleResult = Annotated[
    DetachTradeVehicleSuccess | CommonErrors, strawberry.union("DetachTradeVehicleResult")
]
