"""GraphQL types, inputs and results of deal scenarios and their fee lines."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from db.storage.permissions import VIEW_GROSS
from db.storage.scenarios import parse_fees
from db.types import JSONValue
from resolvers.context import Info
from resolvers.permissions import sensitive
from schema.enums import DealType, FeeKind
from schema.errors import CommonErrors, VersionConflictError
from schema.relay import Node
from schema.scalars import Money

if TYPE_CHECKING:
    from schema.deals import Deal


@strawberry.type(description="One fee on a scenario, as it stood when the scenario was desked.")
class FeeLine:
    name: str
    kind: FeeKind
    amount: Money
    taxable: bool = strawberry.field(description="Whether sales tax applies to this fee.")


@strawberry.input(description="A fee line to put on a scenario.")
class FeeLineInput:
    name: str
    amount: Money
    kind: FeeKind = FeeKind.OTHER
    taxable: bool = False


def _kind(value: str) -> FeeKind:
    try:
        return FeeKind(value)
    except ValueError:
        return FeeKind.OTHER


@strawberry.type(
    description=(
        "One way to structure a deal (cash, finance or lease) with its computed figures. "
        "Rates are percents (an APR of 6.99 is 6.99 %)."
    )
)
class DealScenario(Node):
    pk: strawberry.Private[int]
    deal_id: strawberry.Private[int]
    fees: strawberry.Private[list[JSONValue]]
    name: str
    type: DealType
    vehicle_price: Money = strawberry.field(description="Selling price of the vehicle.")
    down_payment: Money
    rebates: Money
    trade_allowance: Money = strawberry.field(description="What the trade-ins are credited at.")
    trade_payoff: Money = strawberry.field(description="What is still owed on the trade-ins.")
    apr: Decimal | None = strawberry.field(description="Finance only: annual rate, percent.")
    money_factor: Decimal | None = strawberry.field(description="Lease only.")
    term_months: int | None = strawberry.field(description="Finance and lease; null for cash.")
    residual_percent: Decimal | None = strawberry.field(
        description="Lease only: residual value as a percent of MSRP (of the price if no MSRP)."
    )
    residual_value: Money | None = strawberry.field(description="Lease only.")
    tax_rate: Decimal = strawberry.field(description="Sales tax, percent.")
    tax_amount: Money
    fees_total: Money
    amount_financed: Money = strawberry.field(
        description="Finance: the loan amount; lease: the adjusted capitalized cost; cash: 0."
    )
    monthly_payment: Money = strawberry.field(description="0 for cash.")
    total_of_payments: Money = strawberry.field(
        description="All payments over the term; for cash, the balance due."
    )
    version: int = strawberry.field(description="Send it back with updates (optimistic locking).")
    created_at: datetime
    updated_at: datetime

    @strawberry.field(name="fees", description="The fee lines, in order.")
    def fee_lines(self) -> list[FeeLine]:
        return [
            FeeLine(name=f.name, kind=_kind(f.kind), amount=f.amount, taxable=f.taxable)
            for f in parse_fees(self.fees)
        ]

    @strawberry.field
    async def deal(self, info: Info) -> Annotated[Deal, strawberry.lazy("schema.deals")]:
        return await info.context.loaders.deal.load_one(self.deal_id)

    @strawberry.field(
        description=(
            "Front gross: the scenario's vehicle price minus what the dealership has in the "
            "deal's vehicle (trade-ins and finance income not included). Null for roles "
            "without deal.view_gross."
        ),
        extensions=sensitive(VIEW_GROSS),
    )
    async def gross_profit(self, info: Info) -> Money | None:
        return await gross_profit(info, self)


async def gross_profit(info: Info, scenario: DealScenario) -> Money | None:
    """The scenario's vehicle price minus its deal's vehicle's cost (two batched loads)."""
    deal = await info.context.loaders.deal.load(scenario.deal_id)
    if deal is None:
        return None
    vehicle = await info.context.loaders.vehicle.load(deal.vehicle_id)
    if vehicle is None or vehicle.cost is None:
        return None
    return Money(scenario.vehicle_price - vehicle.cost)


@strawberry.input(
    description=(
        "A new scenario. Whatever you leave out defaults: the price to the vehicle's list price, "
        "down payment and rebates to 0, trade allowance and payoff to the sums of the deal's "
        "trade-ins, a finance APR and term to the dealership's defaults, the tax rate to the "
        "dealership's default tax jurisdiction (0 without one), the fees to the active fee "
        "templates of the type. A lease needs moneyFactor, residualPercent and termMonths."
    )
)
class CreateDealScenarioInput:
    deal_id: strawberry.ID
    type: DealType
    name: str | None = strawberry.field(default=None, description='Default e.g. "Finance 72 mo".')
    vehicle_price: Money | None = None
    down_payment: Money | None = None
    rebates: Money | None = None
    trade_allowance: Money | None = None
    trade_payoff: Money | None = None
    apr: Decimal | None = strawberry.field(default=None, description="Percent, 0 to 40.")
    term_months: int | None = strawberry.field(default=None, description="1 to 120.")
    money_factor: Decimal | None = None
    residual_percent: Decimal | None = None
    tax_rate: Decimal | None = strawberry.field(default=None, description="Percent.")
    fees: list[FeeLineInput] | None = None


@strawberry.input(
    description=(
        "Only the fields you send change (no defaults apply); the figures are recomputed. "
        "Changing the type may require the new type's fields."
    )
)
class UpdateDealScenarioInput:
    id: strawberry.ID
    version: int = strawberry.field(description="The version you read.")
    name: str | None = strawberry.UNSET
    type: DealType | None = strawberry.UNSET
    vehicle_price: Money | None = strawberry.UNSET
    down_payment: Money | None = strawberry.UNSET
    rebates: Money | None = strawberry.UNSET
    trade_allowance: Money | None = strawberry.UNSET
    trade_payoff: Money | None = strawberry.UNSET
    apr: Decimal | None = strawberry.UNSET
    term_months: int | None = strawberry.UNSET
    money_factor: Decimal | None = strawberry.UNSET
    residual_percent: Decimal | None = strawberry.UNSET
    tax_rate: Decimal | None = strawberry.UNSET
    fees: list[FeeLineInput] | None = strawberry.UNSET


@strawberry.input
class DeleteDealScenarioInput:
    id: strawberry.ID
    version: int


@strawberry.input
class DuplicateDealScenarioInput:
    id: strawberry.ID
    name: str | None = strawberry.field(default=None, description='Default "<name> (copy)".')


@strawberry.type
class CreateDealScenarioSuccess:
    scenario: DealScenario


@strawberry.type
class UpdateDealScenarioSuccess:
    scenario: DealScenario


@strawberry.type
class DeleteDealScenarioSuccess:
    deleted_scenario_id: strawberry.ID
    deal: Annotated[Deal, strawberry.lazy("schema.deals")]


@strawberry.type
class DuplicateDealScenarioSuccess:
    scenario: DealScenario


CreateDealScenarioResult = Annotated[
    CreateDealScenarioSuccess | CommonErrors, strawberry.union("CreateDealScenarioResult")
]
UpdateDealScenarioResult = Annotated[
    UpdateDealScenarioSuccess | CommonErrors | VersionConflictError,
    strawberry.union("UpdateDealScenarioResult"),
]
DeleteDealScenarioResult = Annotated[
    DeleteDealScenarioSuccess | CommonErrors | VersionConflictError,
    strawberry.union("DeleteDealScenarioResult"),
]
DuplicateDealScenarioResult = Annotated[
    DuplicateDealScenarioSuccess | CommonErrors, strawberry.union("DuplicateDealScenarioResult")
]
