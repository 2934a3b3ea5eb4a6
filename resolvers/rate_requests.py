"""Rate request and lender decision queries and mutations."""

from __future__ import annotations

from typing import cast

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from db.storage import rate_requests as storage
from db.storage.audit import Actor
from resolvers.context import Info
from resolvers.ids import decode_id
from resolvers.mutations import mutation, write
from resolvers.permissions import requires
from schema.base import from_row
from schema.deals import Deal
from schema.inputs import provided
from schema.rate_requests import (
    CreateRateRequestInput,
    CreateRateRequestResult,
    CreateRateRequestSuccess,
    LenderDecision,
    RateRequest,
    RecordLenderDecisionInput,
    RecordLenderDecisionResult,
    RecordLenderDecisionSuccess,
    SelectLenderDecisionInput,
    SelectLenderDecisionResult,
    SelectLenderDecisionSuccess,
)

INPUT = ("input",)


async def rate_request(info: Info, id: strawberry.ID) -> RateRequest | None:
    """A rate request of your dealership by id."""
    return await info.context.loaders.rate_request.load(decode_id(id, "RateRequest", field=("id",)))


async def rate_requests(info: Info, deal_id: strawberry.ID) -> list[RateRequest]:
    """The deal's rate requests, newest first (empty for a deal you cannot see)."""
    pk = decode_id(deal_id, "Deal", field=("dealId",))
    async with info.context.db.session() as session:
        rows = await storage.rate_requests_of_deal(session, deal_id=pk)
    return [from_row(RateRequest, row) for row in rows]


async def approved_lenders(info: Info, deal_id: strawberry.ID) -> list[LenderDecision]:
    """The deal's approved lenders: every decision on its rate requests except declines
    (approved, conditional, counter-offers), lowest APR first."""
    pk = decode_id(deal_id, "Deal", field=("dealId",))
    async with info.context.db.session() as session:
        rows = await storage.approved_decisions_of_deal(session, deal_id=pk)
    return [from_row(LenderDecision, row) for row in rows]


@mutation
async def create_rate_request(info: Info, input: CreateRateRequestInput) -> CreateRateRequestResult:
    """Send a scenario's financing to lenders."""
    scenario_id = decode_id(input.scenario_id, "DealScenario", field=(*INPUT, "scenarioId"))
    fields = cast(storage.RateRequestFields, provided(input, exclude=("scenario_id",)))
    row = await write(
        info,
        lambda session, actor: storage.create_rate_request(
            session, actor, scenario_id=scenario_id, fields=fields, path=INPUT
        ),
    )
    return CreateRateRequestSuccess(rate_request=from_row(RateRequest, row))


@mutation
async def record_lender_decision(
    info: Info, input: RecordLenderDecisionInput
) -> RecordLenderDecisionResult:
    """File a lender's answer to a rate request (one per lender and request)."""
    request_id = decode_id(input.rate_request_id, "RateRequest", field=(*INPUT, "rateRequestId"))
    lender_id = decode_id(input.lender_id, "Lender", field=(*INPUT, "lenderId"))
    fields = cast(storage.DecisionFields, provided(input, exclude=("rate_request_id", "lender_id")))
    row = await write(
        info,
        lambda session, actor: storage.record_decision(
            session,
            actor,
            rate_request_id=request_id,
            lender_id=lender_id,
            fields=fields,
            path=INPUT,
        ),
    )
    return RecordLenderDecisionSuccess(decision=from_row(LenderDecision, row))


@mutation
async def select_lender_decision(
    info: Info, input: SelectLenderDecisionInput
) -> SelectLenderDecisionResult:
    """Choose the approving decision the deal goes ahead with (a new deal version)."""
    decision_id = decode_id(input.decision_id, "LenderDecision", field=(*INPUT, "decisionId"))

    async def work(session: AsyncSession, actor: Actor) -> SelectLenderDecisionSuccess:
        deal, decision = await storage.select_decision(
            session, actor, decision_id=decision_id, version=input.version, path=INPUT
        )
        return SelectLenderDecisionSuccess(
            decision=from_row(LenderDecision, decision), deal=from_row(Deal, deal)
        )

    return await write(info, work)


@strawberry.type
class RateRequestQuery:
    rate_request: RateRequest | None = strawberry.field(
        resolver=rate_request, extensions=requires("rate_request.read")
    )
    rate_requests: list[RateRequest] = strawberry.field(
        resolver=rate_requests,
        description="The deal's rate requests, newest first.",
        extensions=requires("rate_request.read"),
    )
    approved_lenders: list[LenderDecision] = strawberry.field(
        resolver=approved_lenders,
        description=(
            "Every decision on the deal's rate requests except declines (approved, conditional, "
            "counter-offers), lowest APR first."
        ),
        extensions=requires("rate_request.read"),
    )


@strawberry.type
class RateRequestMutation:
    create_rate_request: CreateRateRequestResult = strawberry.field(
        resolver=create_rate_request,
        description="Send a finance or lease scenario's financing to lenders.",
        extensions=requires("rate_request.write"),
    )
    record_lender_decision: RecordLenderDecisionResult = strawberry.field(
        resolver=record_lender_decision,
        description="File a lender's answer to a rate request (one per lender and request).",
        extensions=requires("rate_request.write"),
    )
    select_lender_decision: SelectLenderDecisionResult = strawberry.field(
        resolver=select_lender_decision,
        description="Choose the approving decision the deal goes ahead with (a new deal version).",
        extensions=requires("rate_request.write"),
    )
