"""GraphQL types, inputs and results of rate requests and lender decisions."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from db.storage.permissions import VIEW_GROSS
from resolvers.context import Info
from resolvers.permissions import sensitive
from schema.enums import LenderDecisionType, RateRequestStatus
from schema.errors import CommonErrors, VersionConflictError
from schema.relay import Node
from schema.scalars import Money

if TYPE_CHECKING:
    from schema.deals import Deal
    from schema.lenders import Lender
    from schema.scenarios import DealScenario
    from schema.users import User


@strawberry.type(description="A deal's financing, sent to lenders for their decisions.")
class RateRequest(Node):
    pk: strawberry.Private[int]
    deal_id: strawberry.Private[int]
    scenario_id: strawberry.Private[int | None]
    requested_by_id: strawberry.Private[int]
    status: RateRequestStatus = strawberry.field(
        description="SUBMITTED when filed; DECISIONED once a lender has answered."
    )
    credit_score: int
    amount_requested: Money
    down_payment: Money
    trade_value: Money
    trade_payoff: Money
    term_months: int
    monthly_income: Money | None
    monthly_debt: Money | None = strawberry.field(
        description="The applicant's other monthly debt payments."
    )
    submitted_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @strawberry.field
    async def deal(self, info: Info) -> Annotated[Deal, strawberry.lazy("schema.deals")]:
        return await info.context.loaders.deal.load_one(self.deal_id)

    @strawberry.field(description="The scenario it was made from; null if since deleted.")
    async def scenario(
        self, info: Info
    ) -> Annotated[DealScenario, strawberry.lazy("schema.scenarios")] | None:
        if self.scenario_id is None:
            return None
        return await info.context.loaders.deal_scenario.load(self.scenario_id)

    @strawberry.field
    async def requested_by(self, info: Info) -> Annotated[User, strawberry.lazy("schema.users")]:
        return await info.context.loaders.user.load_one(self.requested_by_id)

    @strawberry.field(description="The lenders' decisions, in the order they came in.")
    async def decisions(self, info: Info) -> list[LenderDecision]:
        return await info.context.loaders.rate_request_decisions.load(self.pk)


@strawberry.type(description="A lender's answer to a rate request.")
class LenderDecision(Node):
    pk: strawberry.Private[int]
    rate_request_id: strawberry.Private[int]
    lender_id: strawberry.Private[int]
    decision: LenderDecisionType
    approved_amount: Money | None
    apr: Decimal | None = strawberry.field(description="Contract APR in percent.")
    buy_rate: Decimal | None = strawberry.field(
        description="The lender's rate in percent, before the dealer's markup (with the APR, "
        "it gives the reserve away). Null for roles without deal.view_gross.",
        extensions=sensitive(VIEW_GROSS),
    )
    dealer_reserve: Money | None = strawberry.field(
        description=(
            "What the dealer earns on the markup: 70% of the difference between the finance "
            "charges at the APR and at the buy rate. Null for roles without deal.view_gross."
        ),
        extensions=sensitive(VIEW_GROSS),
    )
    term_months: int | None
    monthly_payment: Money | None
    ltv_percent: Decimal | None = strawberry.field(
        description="Approved amount as a percentage of the scenario's vehicle price."
    )
    dti_percent: Decimal | None = strawberry.field(
        description="(Other monthly debt + this payment) as a percentage of monthly income."
    )
    stipulations: list[str] = strawberry.field(
        description="Conditions the lender set, e.g. proof of income."
    )
    money_factor: Decimal | None = strawberry.field(description="Lease decisions.")
    decided_at: datetime
    created_at: datetime

    @strawberry.field
    async def lender(self, info: Info) -> Annotated[Lender, strawberry.lazy("schema.lenders")]:
        return await info.context.loaders.lender.load_one(self.lender_id)

    @strawberry.field
    async def rate_request(self, info: Info) -> RateRequest:
        return await info.context.loaders.rate_request.load_one(self.rate_request_id)


@strawberry.input(description="Left-out figures come from the scenario.")
class CreateRateRequestInput:
    scenario_id: strawberry.ID = strawberry.field(
        description="A finance or lease scenario of an open, pending-approval or approved deal."
    )
    credit_score: int = strawberry.field(description="300..850.")
    amount_requested: Money | None = strawberry.field(
        default=None, description="More than 0; default: the scenario's amount financed."
    )
    down_payment: Money | None = strawberry.field(
        default=None, description="Default: the scenario's down payment."
    )
    trade_value: Money | None = strawberry.field(
        default=None, description="Default: the scenario's trade allowance."
    )
    trade_payoff: Money | None = strawberry.field(
        default=None, description="Default: the scenario's trade payoff."
    )
    term_months: int | None = strawberry.field(
        default=None, description="1..120; default: the scenario's term."
    )
    monthly_income: Money | None = None
    monthly_debt: Money | None = None


@strawberry.input(
    description=(
        "APPROVED, CONDITIONAL and COUNTER_OFFER decisions need approvedAmount, apr and "
        "termMonths. The monthly payment (when left out), the dealer reserve, LTV and DTI "
        "are worked out where the figures allow."
    )
)
class RecordLenderDecisionInput:
    rate_request_id: strawberry.ID
    lender_id: strawberry.ID
    decision: LenderDecisionType
    approved_amount: Money | None = None
    apr: Decimal | None = None
    buy_rate: Decimal | None = None
    term_months: int | None = None
    monthly_payment: Money | None = None
    stipulations: list[str] = strawberry.field(default_factory=list)
    money_factor: Decimal | None = None


@strawberry.input
class SelectLenderDecisionInput:
    decision_id: strawberry.ID
    version: int | None = strawberry.field(
        default=None, description="The deal version you read; checked when given."
    )


@strawberry.type
class CreateRateRequestSuccess:
    rate_request: RateRequest


@strawberry.type
class RecordLenderDecisionSuccess:
    decision: LenderDecision


@strawberry.type
class SelectLenderDecisionSuccess:
    decision: LenderDecision
    deal: Annotated[Deal, strawberry.lazy("schema.deals")] = strawberry.field(
        description="The deal, at its new version."
    )


CreateRateRequestResult = Annotated[
    CreateRateRequestSuccess | CommonErrors, strawberry.union("CreateRateRequestResult")
]
RecordLenderDecisionResult = Annotated[
    RecordLenderDecisionSuccess | CommonErrors, strawberry.union("RecordLenderDecisionResult")
]
SelectLenderDecisionResult = Annotated[
    SelectLenderDecisionSuccess | CommonErrors | VersionConflictError,
    strawberry.union("SelectLenderDecisionResult"),
]
