"""GraphQL types, inputs and results of lenders and their rate programs."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

import strawberry

from db.storage.lenders import LenderOrderField
from resolvers.context import Info
from schema.enums import DealType
from schema.errors import CommonErrors
from schema.relay import Node, OrderDirection

strawberry.enum(LenderOrderField, description="What lenders can be sorted by.")


@strawberry.type(description="A bank or finance company the dealership sends deals to.")
class Lender(Node):
    pk: strawberry.Private[int]
    name: str
    code: str | None = strawberry.field(description="Short code, upper case, e.g. ALLY.")
    contact_name: str | None
    phone: str | None = strawberry.field(description="E.164, e.g. +16145550123.")
    email: str | None
    max_ltv_percent: Decimal | None = strawberry.field(
        description="Highest loan-to-value the lender advances, in percent of the price."
    )
    is_active: bool
    created_at: datetime
    updated_at: datetime

    @strawberry.field(description="The lender's rate programs, by name.")
    async def programs(self, info: Info) -> list[LenderProgram]:
        return await info.context.loaders.lender_programs.load(self.pk)


@strawberry.type(
    description=(
        "A rate tier of a lender: for deals of this type, credit scores and terms inside "
        "the bands, the lender's buy rate (finance) or money factor (lease)."
    )
)
class LenderProgram(Node):
    pk: strawberry.Private[int]
    lender_id: strawberry.Private[int]
    name: str
    deal_type: DealType = strawberry.field(description="FINANCE or LEASE.")
    min_credit_score: int
    max_credit_score: int
    min_term_months: int
    max_term_months: int
    buy_rate: Decimal | None = strawberry.field(
        description="Finance programs: the lender's rate in percent, before dealer markup."
    )
    money_factor: Decimal | None = strawberry.field(
        description="Lease programs: the lender's money factor, e.g. 0.0025."
    )
    max_advance_percent: Decimal | None = strawberry.field(
        description="Highest amount financed, in percent of the vehicle's value."
    )
    effective_from: date | None = strawberry.field(
        description="First day it applies; null: always."
    )
    effective_to: date | None = strawberry.field(description="Last day it applies; null: open.")
    created_at: datetime
    updated_at: datetime

    @strawberry.field
    async def lender(self, info: Info) -> Lender:
        return await info.context.loaders.lender.load_one(self.lender_id)


@strawberry.input(description="Narrow a lender list. All given conditions must hold.")
class LenderFilter:
    search: str | None = strawberry.field(
        default=None, description="Partial match on name, code or contact name."
    )
    include_inactive: bool = False


@strawberry.input
class LenderOrder:
    field: LenderOrderField = LenderOrderField.NAME
    direction: OrderDirection = OrderDirection.ASC


@strawberry.input
class CreateLenderInput:
    name: str
    code: str | None = None
    contact_name: str | None = None
    phone: str | None = strawberry.field(
        default=None, description="Any common format; stored as E.164."
    )
    email: str | None = None
    max_ltv_percent: Decimal | None = strawberry.field(
        default=None, description="Percent, more than 0 and at most 300."
    )


@strawberry.input(description="Only the fields you send are changed; null clears a field.")
class UpdateLenderInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    code: str | None = strawberry.UNSET
    contact_name: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    max_ltv_percent: Decimal | None = strawberry.UNSET


@strawberry.input
class DeactivateLenderInput:
    id: strawberry.ID


@strawberry.input(
    description="Scores 300..850 and terms 1..120 months, each minimum at most its maximum."
)
class CreateLenderProgramInput:
    lender_id: strawberry.ID
    name: str
    deal_type: DealType = strawberry.field(description="FINANCE or LEASE.")
    min_credit_score: int
    max_credit_score: int
    min_term_months: int
    max_term_months: int
    buy_rate: Decimal | None = strawberry.field(
        default=None, description="Required for FINANCE, refused for LEASE."
    )
    money_factor: Decimal | None = strawberry.field(
        default=None, description="Required for LEASE, refused for FINANCE."
    )
    max_advance_percent: Decimal | None = None
    effective_from: date | None = None
    effective_to: date | None = None


@strawberry.input(
    description=(
        "Only the fields you send are changed; null clears a field. Changing the deal type "
        "clears the other type's rate."
    )
)
class UpdateLenderProgramInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    deal_type: DealType | None = strawberry.UNSET
    min_credit_score: int | None = strawberry.UNSET
    max_credit_score: int | None = strawberry.UNSET
    min_term_months: int | None = strawberry.UNSET
    max_term_months: int | None = strawberry.UNSET
    buy_rate: Decimal | None = strawberry.UNSET
    money_factor: Decimal | None = strawberry.UNSET
    max_advance_percent: Decimal | None = strawberry.UNSET
    effective_from: date | None = strawberry.UNSET
    effective_to: date | None = strawberry.UNSET


@strawberry.input
class DeleteLenderProgramInput:
    id: strawberry.ID


@strawberry.type
class CreateLenderSuccess:
    lender: Lender


@strawberry.type
class UpdateLenderSuccess:
    lender: Lender


@strawberry.type
class DeactivateLenderSuccess:
    lender: Lender


@strawberry.type
class CreateLenderProgramSuccess:
    program: LenderProgram


@strawberry.type
class UpdateLenderProgramSuccess:
    program: LenderProgram


@strawberry.type
class DeleteLenderProgramSuccess:
    deleted_id: strawberry.ID = strawberry.field(description="The id the program had.")
    lender: Lender = strawberry.field(description="Its lender, with the remaining programs.")


CreateLenderResult = Annotated[
    CreateLenderSuccess | CommonErrors, strawberry.union("CreateLenderResult")
]
UpdateLenderResult = Annotated[
    UpdateLenderSuccess | CommonErrors, strawberry.union("UpdateLenderResult")
]
DeactivateLenderResult = Annotated[
    DeactivateLenderSuccess | CommonErrors, strawberry.union("DeactivateLenderResult")
]
CreateLenderProgramResult = Annotated[
    CreateLenderProgramSuccess | CommonErrors, strawberry.union("CreateLenderProgramResult")
]
UpdateLenderProgramResult = Annotated[
    UpdateLenderProgramSuccess | CommonErrors, strawberry.union("UpdateLenderProgramResult")
]
DeleteLenderProgramResult = Annotated[
    DeleteLenderProgramSuccess | CommonErrors, strawberry.union("DeleteLenderProgramResult")
]
