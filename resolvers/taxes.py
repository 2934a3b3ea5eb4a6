"""Tax jurisdiction queries and mutations."""

from __future__ import annotations

from typing import cast

import strawberry

from db.storage import taxes as storage
from db.storage.pagination import PageArgs
from resolvers.context import Info
from resolvers.ids import decode_id
from resolvers.mutations import mutation, write
from resolvers.pagination import to_connection
from resolvers.permissions import requires
from schema.base import from_row
from schema.inputs import provided
from schema.relay import Connection, OrderDirection
from schema.taxes import (
    CreateTaxJurisdictionInput,
    CreateTaxJurisdictionResult,
    CreateTaxJurisdictionSuccess,
    DeactivateTaxJurisdictionInput,
    DeactivateTaxJurisdictionResult,
    DeactivateTaxJurisdictionSuccess,
    TaxJurisdiction,
    TaxJurisdictionFilter,
    TaxJurisdictionOrder,
    UpdateTaxJurisdictionInput,
    UpdateTaxJurisdictionResult,
    UpdateTaxJurisdictionSuccess,
)

INPUT = ("input",)
ENTITY = "TaxJurisdiction"


async def tax_jurisdiction(info: Info, id: strawberry.ID) -> TaxJurisdiction | None:
    """A tax jurisdiction of your dealership by id (inactive ones included)."""
    return await info.context.loaders.tax_jurisdiction.load(decode_id(id, ENTITY, field=("id",)))


async def tax_jurisdictions(
    info: Info,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    filter: TaxJurisdictionFilter | None = None,
    order_by: TaxJurisdictionOrder | None = None,
) -> Connection[TaxJurisdiction]:
    """Your dealership's tax jurisdictions; inactive ones only with `filter.includeInactive`."""
    flt = filter or TaxJurisdictionFilter()
    criteria = storage.TaxJurisdictionFilter(
        state=flt.state, search=flt.search, include_inactive=flt.include_inactive
    )
    order = order_by or TaxJurisdictionOrder()
    async with info.context.db.session() as session:
        page = await storage.list_tax_jurisdictions(
            session,
            filter=criteria,
            order=order.field,
            descending=order.direction is OrderDirection.DESC,
            page=PageArgs(first=first, after=after, last=last, before=before),
        )
    return to_connection(
        info,
        page,
        lambda row: from_row(TaxJurisdiction, row),
        lambda session: storage.count_tax_jurisdictions(session, filter=criteria),
    )


async def lookup_tax_jurisdiction(
    info: Info,
    state: str,
    county: str | None = None,
    city: str | None = None,
    postal_code: str | None = None,
) -> TaxJurisdiction | None:
    """The active jurisdiction that applies to an address, most specific first: one naming
    its ZIP code beats one naming its city, which beats one naming its county, which beats
    a state-wide one (ties: the oldest). Null when none applies."""
    async with info.context.db.session() as session:
        row = await storage.lookup_tax_jurisdiction(
            session, state=state, county=county, city=city, postal=postal_code
        )
    return None if row is None else from_row(TaxJurisdiction, row)


@mutation
async def create_tax_jurisdiction(
    info: Info, input: CreateTaxJurisdictionInput
) -> CreateTaxJurisdictionResult:
    fields = cast(storage.TaxJurisdictionFields, provided(input))
    row = await write(
        info,
        lambda session, actor: storage.create_tax_jurisdiction(
            session, actor, fields=fields, path=INPUT
        ),
    )
    return CreateTaxJurisdictionSuccess(tax_jurisdiction=from_row(TaxJurisdiction, row))


@mutation
async def update_tax_jurisdiction(
    info: Info, input: UpdateTaxJurisdictionInput
) -> UpdateTaxJurisdictionResult:
    jurisdiction_id = decode_id(input.id, ENTITY, field=(*INPUT, "id"))
    fields = cast(storage.TaxJurisdictionFields, provided(input, exclude=("id",)))
    row = await write(
        info,
        lambda session, actor: storage.update_tax_jurisdiction(
            session, actor, jurisdiction_id=jurisdiction_id, fields=fields, path=INPUT
        ),
    )
    return UpdateTaxJurisdictionSuccess(tax_jurisdiction=from_row(TaxJurisdiction, row))


@mutation
async def deactivate_tax_jurisdiction(
    info: Info, input: DeactivateTaxJurisdictionInput
) -> DeactivateTaxJurisdictionResult:
    """Stop applying a jurisdiction to new deals; deals that used it keep their tax."""
    jurisdiction_id = decode_id(input.id, ENTITY, field=(*INPUT, "id"))
    row = await write(
        info,
        lambda session, actor: storage.deactivate_tax_jurisdiction(
            session, actor, jurisdiction_id=jurisdiction_id, path=INPUT
        ),
    )
    return DeactivateTaxJurisdictionSuccess(tax_jurisdiction=from_row(TaxJurisdiction, row))


@strawberry.type
class TaxQuery:
    tax_jurisdiction: TaxJurisdiction | None = strawberry.field(
        resolver=tax_jurisdiction, extensions=requires("tax.read")
    )
    tax_jurisdictions: Connection[TaxJurisdiction] = strawberry.field(
        resolver=tax_jurisdictions, extensions=requires("tax.read")
    )
    lookup_tax_jurisdiction: TaxJurisdiction | None = strawberry.field(
        resolver=lookup_tax_jurisdiction,
        description=(
            "The active jurisdiction for an address, most specific first: ZIP, then city, then "
            "county, then state-wide (ties: the oldest). Null when none applies."
        ),
        extensions=requires("tax.read"),
    )


@strawberry.type
class TaxMutation:
    create_tax_jurisdiction: CreateTaxJurisdictionResult = strawberry.field(
        resolver=create_tax_jurisdiction, extensions=requires("tax.manage")
    )
    update_tax_jurisdiction: UpdateTaxJurisdictionResult = strawberry.field(
        resolver=update_tax_jurisdiction, extensions=requires("tax.manage")
    )
    deactivate_tax_jurisdiction: DeactivateTaxJurisdictionResult = strawberry.field(
        resolver=deactivate_tax_jurisdiction,
        description="Stop applying a jurisdiction to new deals; deals that used it keep their tax.",
        extensions=requires("tax.manage"),
    )
