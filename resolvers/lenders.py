"""Lender and lender program queries and mutations."""

from __future__ import annotations

from typing import cast

import strawberry

from db.models.enums import DealType
from db.storage import lenders as storage
from db.storage.pagination import PageArgs
from resolvers.context import Info
from resolvers.ids import decode_id
from resolvers.mutations import mutation, write
from resolvers.pagination import to_connection
from resolvers.permissions import requires
from schema.base import from_row
from schema.inputs import provided
from schema.lenders import (
    CreateLenderInput,
    CreateLenderProgramInput,
    CreateLenderProgramResult,
    CreateLenderProgramSuccess,
    CreateLenderResult,
    CreateLenderSuccess,
    DeactivateLenderInput,
    DeactivateLenderResult,
    DeactivateLenderSuccess,
    DeleteLenderProgramInput,
    DeleteLenderProgramResult,
    DeleteLenderProgramSuccess,
    Lender,
    LenderFilter,
    LenderOrder,
    LenderProgram,
    UpdateLenderInput,
    UpdateLenderProgramInput,
    UpdateLenderProgramResult,
    UpdateLenderProgramSuccess,
    UpdateLenderResult,
    UpdateLenderSuccess,
)
from schema.relay import Connection, OrderDirection, to_global_id

INPUT = ("input",)


async def lender(info: Info, id: strawberry.ID) -> Lender | None:
    """A lender of your dealership by id (inactive ones included)."""
    return await info.context.loaders.lender.load(decode_id(id, "Lender", field=("id",)))


async def lenders(
    info: Info,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    filter: LenderFilter | None = None,
    order_by: LenderOrder | None = None,
) -> Connection[Lender]:
    """Your dealership's lenders; inactive ones only with `filter.includeInactive`."""
    flt = filter or LenderFilter()
    criteria = storage.LenderFilter(search=flt.search, include_inactive=flt.include_inactive)
    order = order_by or LenderOrder()
    async with info.context.db.session() as session:
        page = await storage.list_lenders(
            session,
            filter=criteria,
            order=order.field,
            descending=order.direction is OrderDirection.DESC,
            page=PageArgs(first=first, after=after, last=last, before=before),
        )
    return to_connection(
        info,
        page,
        lambda row: from_row(Lender, row),
        lambda session: storage.count_lenders(session, filter=criteria),
    )


async def matching_lender_programs(
    info: Info, deal_type: DealType, credit_score: int, term_months: int
) -> list[LenderProgram]:
    """Programs of active lenders that take this deal: the credit score and the term inside
    their bands, in effect today (the dealership's day). Cheapest buy rate (finance) or
    money factor (lease) first."""
    async with info.context.db.session() as session:
        rows = await storage.matching_programs(
            session, deal_type=deal_type, score=credit_score, months=term_months
        )
    return [from_row(LenderProgram, row) for row in rows]


@mutation
async def create_lender(info: Info, input: CreateLenderInput) -> CreateLenderResult:
    fields = cast(storage.LenderFields, provided(input))
    row = await write(
        info,
        lambda session, actor: storage.create_lender(session, actor, fields=fields, path=INPUT),
    )
    return CreateLenderSuccess(lender=from_row(Lender, row))


@mutation
async def update_lender(info: Info, input: UpdateLenderInput) -> UpdateLenderResult:
    lender_id = decode_id(input.id, "Lender", field=(*INPUT, "id"))
    fields = cast(storage.LenderFields, provided(input, exclude=("id",)))
    row = await write(
        info,
        lambda session, actor: storage.update_lender(
            session, actor, lender_id=lender_id, fields=fields, path=INPUT
        ),
    )
    return UpdateLenderSuccess(lender=from_row(Lender, row))


@mutation
async def deactivate_lender(info: Info, input: DeactivateLenderInput) -> DeactivateLenderResult:
    """Stop offering a lender: its programs no longer match deals. Past decisions stay."""
    lender_id = decode_id(input.id, "Lender", field=(*INPUT, "id"))
    row = await write(
        info,
        lambda session, actor: storage.deactivate_lender(
            session, actor, lender_id=lender_id, path=INPUT
        ),
    )
    return DeactivateLenderSuccess(lender=from_row(Lender, row))


@mutation
async def create_lender_program(
    info: Info, input: CreateLenderProgramInput
) -> CreateLenderProgramResult:
    lender_id = decode_id(input.lender_id, "Lender", field=(*INPUT, "lenderId"))
    fields = cast(storage.LenderProgramFields, provided(input, exclude=("lender_id",)))
    row = await write(
        info,
        lambda session, actor: storage.create_program(
            session, actor, lender_id=lender_id, fields=fields, path=INPUT
        ),
    )
    return CreateLenderProgramSuccess(program=from_row(LenderProgram, row))


@mutation
async def update_lender_program(
    info: Info, input: UpdateLenderProgramInput
) -> UpdateLenderProgramResult:
    program_id = decode_id(input.id, "LenderProgram", field=(*INPUT, "id"))
    fields = cast(storage.LenderProgramFields, provided(input, exclude=("id",)))
    row = await write(
        info,
        lambda session, actor: storage.update_program(
            session, actor, program_id=program_id, fields=fields, path=INPUT
        ),
    )
    return UpdateLenderProgramSuccess(program=from_row(LenderProgram, row))


@mutation
async def delete_lender_program(
    info: Info, input: DeleteLenderProgramInput
) -> DeleteLenderProgramResult:
    """Remove a program for good (the audit trail keeps what it was)."""
    program_id = decode_id(input.id, "LenderProgram", field=(*INPUT, "id"))
    row = await write(
        info,
        lambda session, actor: storage.delete_program(
            session, actor, program_id=program_id, path=INPUT
        ),
    )
    return DeleteLenderProgramSuccess(
        deleted_id=to_global_id("LenderProgram", program_id),
        lender=await info.context.loaders.lender.load_one(row.lender_id),
    )


@strawberry.type
class LenderQuery:
    lender: Lender | None = strawberry.field(resolver=lender, extensions=requires("lender.read"))
    lenders: Connection[Lender] = strawberry.field(
        resolver=lenders, extensions=requires("lender.read")
    )
    matching_lender_programs: list[LenderProgram] = strawberry.field(
        resolver=matching_lender_programs,
        description=(
            "Programs of active lenders that take the deal: score and term inside their bands, "
            "in effect today. Cheapest buy rate (finance) or money factor (lease) first."
        ),
        extensions=requires("lender.read"),
    )


@strawberry.type
class LenderMutation:
    create_lender: CreateLenderResult = strawberry.field(
        resolver=create_lender, extensions=requires("lender.manage")
    )
    update_lender: UpdateLenderResult = strawberry.field(
        resolver=update_lender, extensions=requires("lender.manage")
    )
    deactivate_lender: DeactivateLenderResult = strawberry.field(
        resolver=deactivate_lender,
        description="Stop offering a lender: its programs no longer match. Past decisions stay.",
        extensions=requires("lender.manage"),
    )
    create_lender_program: CreateLenderProgramResult = strawberry.field(
        resolver=create_lender_program, extensions=requires("lender.manage")
    )
    update_lender_program: UpdateLenderProgramResult = strawberry.field(
        resolver=update_lender_program, extensions=requires("lender.manage")
    )
    delete_lender_program: DeleteLenderProgramResult = strawberry.field(
        resolver=delete_lender_program,
        description="Remove a program for good (the audit trail keeps what it was).",
        extensions=requires("lender.manage"),
    )
