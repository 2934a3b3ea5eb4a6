"""Deal scenario queries and mutations."""

from __future__ import annotations

from typing import cast

import strawberry

from db import desking
from db.storage import scenarios as storage
from resolvers.context import Info
from resolvers.ids import decode_id
from resolvers.mutations import mutation, write
from resolvers.permissions import requires
from schema.base import from_row
from schema.deal_creation import DealScenarioValuesInput
from schema.deals import Deal
from schema.inputs import provided
from schema.relay import to_global_id
from schema.scenarios import (
    CreateDealScenarioInput,
    CreateDealScenarioResult,
    CreateDealScenarioSuccess,
    DealScenario,
    DeleteDealScenarioInput,
    DeleteDealScenarioResult,
    DeleteDealScenarioSuccess,
    DuplicateDealScenarioInput,
    DuplicateDealScenarioResult,
    DuplicateDealScenarioSuccess,
    FeeLineInput,
    UpdateDealScenarioInput,
    UpdateDealScenarioResult,
    UpdateDealScenarioSuccess,
)

INPUT = ("input",)


def scenario_fields(
    input: CreateDealScenarioInput | UpdateDealScenarioInput | DealScenarioValuesInput,
) -> storage.ScenarioFields:
    """What the client sent, the fee lines as desking's own."""
    values = provided(input, exclude=("id", "version", "deal_id"))
    fees = values.get("fees")
    if isinstance(fees, list):
        values["fees"] = [
            desking.FeeLine(name=f.name, kind=f.kind.value, amount=f.amount, taxable=f.taxable)
            for f in cast(list[FeeLineInput], fees)
        ]
    return cast(storage.ScenarioFields, values)


async def deal_scenario(info: Info, id: strawberry.ID) -> DealScenario | None:
    """A scenario of one of your dealership's deals, by id."""
    return await info.context.loaders.deal_scenario.load(
        decode_id(id, "DealScenario", field=("id",))
    )


@mutation
async def create_deal_scenario(
    info: Info, input: CreateDealScenarioInput
) -> CreateDealScenarioResult:
    """Desk a new scenario on an editable deal; its figures are computed."""
    deal_id = decode_id(input.deal_id, "Deal", field=(*INPUT, "dealId"))
    fields = scenario_fields(input)
    row = await write(
        info,
        lambda session, actor: storage.create_scenario(
            session, actor, deal_id=deal_id, fields=fields, path=INPUT
        ),
    )
    return CreateDealScenarioSuccess(scenario=from_row(DealScenario, row))


@mutation
async def update_deal_scenario(
    info: Info, input: UpdateDealScenarioInput
) -> UpdateDealScenarioResult:
    """Change a scenario's terms; its figures are recomputed."""
    scenario_id = decode_id(input.id, "DealScenario", field=(*INPUT, "id"))
    fields = scenario_fields(input)
    row = await write(
        info,
        lambda session, actor: storage.update_scenario(
            session,
            actor,
            scenario_id=scenario_id,
            version=input.version,
            fields=fields,
            path=INPUT,
        ),
    )
    return UpdateDealScenarioSuccess(scenario=from_row(DealScenario, row))


@mutation
async def delete_deal_scenario(
    info: Info, input: DeleteDealScenarioInput
) -> DeleteDealScenarioResult:
    """Delete a scenario other than the deal's active one."""
    scenario_id = decode_id(input.id, "DealScenario", field=(*INPUT, "id"))
    deal = await write(
        info,
        lambda session, actor: storage.delete_scenario(
            session, actor, scenario_id=scenario_id, version=input.version, path=INPUT
        ),
    )
    return DeleteDealScenarioSuccess(
        deleted_scenario_id=to_global_id("DealScenario", scenario_id), deal=from_row(Deal, deal)
    )


@mutation
async def duplicate_deal_scenario(
    info: Info, input: DuplicateDealScenarioInput
) -> DuplicateDealScenarioResult:
    """A copy of a scenario on the same deal, to vary from."""
    scenario_id = decode_id(input.id, "DealScenario", field=(*INPUT, "id"))
    row = await write(
        info,
        lambda session, actor: storage.duplicate_scenario(
            session, actor, scenario_id=scenario_id, name=input.name, path=INPUT
        ),
    )
    return DuplicateDealScenarioSuccess(scenario=from_row(DealScenario, row))


@strawberry.type
class DealScenarioQuery:
    deal_scenario: DealScenario | None = strawberry.field(
        resolver=deal_scenario, extensions=requires("deal.read")
    )


@strawberry.type
class DealScenarioMutation:
    create_deal_scenario: CreateDealScenarioResult = strawberry.field(
        resolver=create_deal_scenario, extensions=requires("scenario.write")
    )
    update_deal_scenario: UpdateDealScenarioResult = strawberry.field(
        resolver=update_deal_scenario, extensions=requires("scenario.write")
    )
    delete_deal_scenario: DeleteDealScenarioResult = strawberry.field(
        resolver=delete_deal_scenario, extensions=requires("scenario.write")
    )
    duplicate_deal_scenario: DuplicateDealScenarioResult = strawberry.field(
        resolver=duplicate_deal_scenario, extensions=requires("scenario.write")
    )
