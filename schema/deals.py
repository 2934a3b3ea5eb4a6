"""GraphQL types, inputs and results of deals (reading and editing)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from db.storage.deals import EDITABLE_STATUSES, DealOrderField
from db.storage.permissions import VIEW_GROSS
from resolvers.context import Context, Info
from resolvers.permissions import sensitive
from schema.enums import DealStatus
from schema.errors import CommonErrors, VersionConflictError
from schema.execution import fast_field
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

    # Relations answer from what the request has already loaded (the deal list loads the
    # relations its query selects up front), else with a load to await.
    @fast_field(graphql_type=Annotated["Customer", strawberry.lazy("schema.customers")])
    def customer(self, context: Context) -> object:
        return context.loaders.customer.peek(self.customer_id)

    @fast_field(graphql_type=Annotated["Vehicle", strawberry.lazy("schema.vehicles")])
    def vehicle(self, context: Context) -> object:
        return context.loaders.vehicle.peek(self.vehicle_id)

    @fast_field(graphql_type=Annotated["User", strawberry.lazy("schema.users")])
    def salesperson(self, context: Context) -> object:
        return context.loaders.user.peek(self.salesperson_id)

    @fast_field(graphql_type=Annotated["User", strawberry.lazy("schema.users")] | None)
    def sales_manager(self, context: Context) -> object:
        if self.sales_manager_id is None:
            return None
        return context.loaders.user.peek(self.sales_manager_id)

    @fast_field(graphql_type=Annotated["User", strawberry.lazy("schema.users")] | None)
    def finance_manager(self, context: Context) -> object:
        if self.finance_manager_id is None:
            return None
        return context.loaders.user.peek(self.finance_manager_id)

    @fast_field(
        graphql_type=DealScenario | None,
        description="The scenario the deal goes ahead with, once one is chosen.",
    )
    def active_scenario(self, context: Context) -> object:
        if self.active_scenario_id is None:
            return None
        return context.loaders.deal_scenario.peek(self.active_scenario_id)

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

    @fast_field(graphql_type=list[DealScenario], description="All its scenarios, oldest first.")
    def scenarios(self, context: Context) -> object:
        return context.loaders.deal_scenarios.peek(self.pk)

    @fast_field(
        graphql_type=list[Annotated["RateRequest", strawberry.lazy("schema.rate_requests")]],
        description="Its rate requests to lenders, oldest first.",
    )
    def rate_requests(self, context: Context) -> object:
        return context.loaders.deal_rate_requests.peek(self.pk)

    @fast_field(
        graphql_type=Annotated["LenderDecision", strawberry.lazy("schema.rate_requests")] | None,
        description="The lender decision the deal goes ahead with, if chosen.",
    )
    def selected_decision(self, context: Context) -> object:
        if self.selected_decision_id is None:
            return None
        return context.loaders.lender_decision.peek(self.selected_decision_id)

    @fast_field(
        graphql_type=list[Annotated["Appointment", strawberry.lazy("schema.appointments")]],
        description="Appointments booked for this deal, in start order.",
    )
    def appointments(self, context: Context) -> object:
        return context.loaders.deal_appointments.peek(self.pk)

    @fast_field(
        graphql_type=list[TradeVehicle], description="The trade-ins on this deal, oldest first."
    )
    def trade_vehicles(self, context: Context) -> object:
        return context.loaders.deal_trade_vehicles.peek(self.pk)


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
