"""createDeal: validate, then run the whole creation as one unit of work."""

from __future__ import annotations

from typing import cast

import strawberry
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from db.storage import deal_creation as storage
from db.storage.audit import Actor
from db.storage.customers import CustomerFields
from db.storage.scenarios import ScenarioFields
from resolvers.context import Info
from resolvers.ids import decode_id, decode_optional_id
from resolvers.mutations import counted, mutation, write
from resolvers.permissions import requires
from resolvers.scenarios import scenario_fields
from schema.base import from_row
from schema.deal_creation import CreateDealInput, CreateDealResult, CreateDealSuccess
from schema.deals import Deal
from schema.inputs import provided

INPUT = ("input",)

CREATE_DEAL_OUTCOMES = Counter(
    "dealerdesk_create_deal_outcomes_total",
    "createDeal answers by CreateDealResult member (__typename), or error for a top-level error",
    ["outcome"],
)


def salesperson_of(info: Info, salesperson_id: strawberry.ID | None) -> int:
    """The deal's salesperson: the one given, or the caller."""
    if salesperson_id is None:
        return info.context.require_principal().user_id
    return decode_id(salesperson_id, "User", field=(*INPUT, "salespersonId"))


def request_of(info: Info, input: CreateDealInput) -> storage.DealRequest:
    """Step 1: decode and validate everything before the database is touched."""
    return storage.validate_request(
        vehicle_id=decode_id(input.vehicle_id, "Vehicle", field=(*INPUT, "vehicleId")),
        salesperson_id=salesperson_of(info, input.salesperson_id),
        customer_id=decode_optional_id(input.customer_id, "Customer", field=(*INPUT, "customerId")),
        new_customer=(
            None if input.customer is None else cast(CustomerFields, provided(input.customer))
        ),
        scenario=(
            cast(ScenarioFields, {}) if input.scenario is None else scenario_fields(input.scenario)
        ),
        notes=input.notes,
    )


@counted(CREATE_DEAL_OUTCOMES)
@mutation
async def create_deal(info: Info, input: CreateDealInput) -> CreateDealResult:
    """Open a deal for a customer on a vehicle, atomically: the customer (new or existing),
    the day's next deal number, the deal, the vehicle held (PENDING), the first scenario made
    active and one audit row - or, on any refusal, nothing at all."""
    request = request_of(info, input)

    async def work(session: AsyncSession, actor: Actor) -> storage.CreatedDeal:
        return await storage.create_deal(session, actor, request)

    created = await write(info, work, storage.CREATE_DEAL_TX)
    return CreateDealSuccess(
        deal=from_row(Deal, created.deal), customer_created=created.customer_created
    )


@strawberry.type
class DealCreationMutation:
    create_deal: CreateDealResult = strawberry.field(
        resolver=create_deal, extensions=requires("deal.write")
    )
