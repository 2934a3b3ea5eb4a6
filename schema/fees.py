"""GraphQL types, inputs and results of fee templates."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from schema.enums import DealType, FeeKind
from schema.errors import CommonErrors
from schema.relay import Node
from schema.scalars import Money


@strawberry.type(description="A fee line the dealership puts on new deals of one type.")
class FeeTemplate(Node):
    pk: strawberry.Private[int]
    name: str
    kind: FeeKind
    deal_type: DealType
    amount: Money
    taxable: bool = strawberry.field(description="Whether sales tax applies to this fee.")
    is_active: bool = strawberry.field(description="Inactive templates are not put on deals.")
    sort_order: int = strawberry.field(description="Position in the deal's fee list.")
    created_at: datetime
    updated_at: datetime


@strawberry.input
class CreateFeeTemplateInput:
    name: str
    kind: FeeKind
    deal_type: DealType
    amount: Money = strawberry.field(description="0 or more, below 100,000.")
    taxable: bool = False
    sort_order: int | None = strawberry.field(
        default=None, description="0 to 10,000; by default after the deal type's last fee."
    )


@strawberry.input(description="Only the fields you send are changed.")
class UpdateFeeTemplateInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    kind: FeeKind | None = strawberry.UNSET
    deal_type: DealType | None = strawberry.UNSET
    amount: Money | None = strawberry.UNSET
    taxable: bool | None = strawberry.UNSET
    sort_order: int | None = strawberry.UNSET


@strawberry.input
class DeleteFeeTemplateInput:
    id: strawberry.ID


@strawberry.input
class DeactivateFeeTemplateInput:
    id: strawberry.ID


@strawberry.input
class ReactivateFeeTemplateInput:
    id: strawberry.ID


@strawberry.type
class CreateFeeTemplateSuccess:
    fee_template: FeeTemplate


@strawberry.type
class UpdateFeeTemplateSuccess:
    fee_template: FeeTemplate


@strawberry.type
class DeactivateFeeTemplateSuccess:
    fee_template: FeeTemplate


@strawberry.type
class ReactivateFeeTemplateSuccess:
    fee_template: FeeTemplate


@strawberry.type
class DeleteFeeTemplateSuccess:
    deleted_id: strawberry.ID = strawberry.field(
        description="Deals already desked keep their own copy of the fee."
    )


CreateFeeTemplateResult = Annotated[
    CreateFeeTemplateSuccess | CommonErrors, strawberry.union("CreateFeeTemplateResult")
]
UpdateFeeTemplateResult = Annotated[
    UpdateFeeTemplateSuccess | CommonErrors, strawberry.union("UpdateFeeTemplateResult")
]
DeactivateFeeTemplateResult = Annotated[
    DeactivateFeeTemplateSuccess | CommonErrors, strawberry.union("DeactivateFeeTemplateResult")
]
ReactivateFeeTemplateResult = Annotated[
    ReactivateFeeTemplateSuccess | CommonErrors, strawberry.union("ReactivateFeeTemplateResult")
]
DeleteFeeTemplateResult = Annotated[
    DeleteFeeTemplateSuccess | CommonErrors, strawberry.union("DeleteFeeTemplateResult")
]
