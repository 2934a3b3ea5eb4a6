"""Fee template queries and mutations."""

from __future__ import annotations

from typing import cast

import strawberry

from db.storage import fees as storage
from resolvers.context import Info
from resolvers.ids import decode_id
from resolvers.mutations import mutation, write
from resolvers.permissions import requires
from schema.base import from_row
from schema.enums import DealType
from schema.fees import (
    CreateFeeTemplateInput,
    CreateFeeTemplateResult,
    CreateFeeTemplateSuccess,
    DeactivateFeeTemplateInput,
    DeactivateFeeTemplateResult,
    DeactivateFeeTemplateSuccess,
    DeleteFeeTemplateInput,
    DeleteFeeTemplateResult,
    DeleteFeeTemplateSuccess,
    FeeTemplate,
    ReactivateFeeTemplateInput,
    ReactivateFeeTemplateResult,
    ReactivateFeeTemplateSuccess,
    UpdateFeeTemplateInput,
    UpdateFeeTemplateResult,
    UpdateFeeTemplateSuccess,
)
from schema.inputs import provided
from schema.relay import to_global_id

INPUT = ("input",)


async def fee_templates(
    info: Info, deal_type: DealType | None = None, include_inactive: bool = False
) -> list[FeeTemplate]:
    """Your dealership's fee templates (of one deal type, if given), in deal order."""
    async with info.context.db.session() as session:
        rows = await storage.list_fee_templates(
            session, deal_type=deal_type, include_inactive=include_inactive
        )
    return [from_row(FeeTemplate, row) for row in rows]


async def fee_template(info: Info, id: strawberry.ID) -> FeeTemplate | None:
    """A fee template of your dealership by id."""
    return await info.context.loaders.fee_template.load(decode_id(id, "FeeTemplate", field=("id",)))


@mutation
async def create_fee_template(info: Info, input: CreateFeeTemplateInput) -> CreateFeeTemplateResult:
    fields = cast(storage.FeeTemplateFields, provided(input))
    if fields.get("sort_order", 0) is None:
        del fields["sort_order"]  # null: the default place, after the last fee
    row = await write(
        info,
        lambda session, actor: storage.create_fee_template(
            session, actor, fields=fields, path=INPUT
        ),
    )
    return CreateFeeTemplateSuccess(fee_template=from_row(FeeTemplate, row))


@mutation
async def update_fee_template(info: Info, input: UpdateFeeTemplateInput) -> UpdateFeeTemplateResult:
    fee_id = decode_id(input.id, "FeeTemplate", field=(*INPUT, "id"))
    fields = cast(storage.FeeTemplateFields, provided(input, exclude=("id",)))
    row = await write(
        info,
        lambda session, actor: storage.update_fee_template(
            session, actor, fee_id=fee_id, fields=fields, path=INPUT
        ),
    )
    return UpdateFeeTemplateSuccess(fee_template=from_row(FeeTemplate, row))


@mutation
async def deactivate_fee_template(
    info: Info, input: DeactivateFeeTemplateInput
) -> DeactivateFeeTemplateResult:
    """Stop putting this fee on new deals, keeping the template."""
    fee_id = decode_id(input.id, "FeeTemplate", field=(*INPUT, "id"))
    row = await write(
        info,
        lambda session, actor: storage.set_active(
            session, actor, fee_id=fee_id, active=False, path=INPUT
        ),
    )
    return DeactivateFeeTemplateSuccess(fee_template=from_row(FeeTemplate, row))


@mutation
async def reactivate_fee_template(
    info: Info, input: ReactivateFeeTemplateInput
) -> ReactivateFeeTemplateResult:
    fee_id = decode_id(input.id, "FeeTemplate", field=(*INPUT, "id"))
    row = await write(
        info,
        lambda session, actor: storage.set_active(
            session, actor, fee_id=fee_id, active=True, path=INPUT
        ),
    )
    return ReactivateFeeTemplateSuccess(fee_template=from_row(FeeTemplate, row))


@mutation
async def delete_fee_template(info: Info, input: DeleteFeeTemplateInput) -> DeleteFeeTemplateResult:
    """Delete a fee template for good; deals already desked keep their copy of the fee."""
    fee_id = decode_id(input.id, "FeeTemplate", field=(*INPUT, "id"))
    deleted = await write(
        info,
        lambda session, actor: storage.delete_fee_template(
            session, actor, fee_id=fee_id, path=INPUT
        ),
    )
    return DeleteFeeTemplateSuccess(deleted_id=to_global_id("FeeTemplate", deleted))


@strawberry.type
class FeeQuery:
    fee_templates: list[FeeTemplate] = strawberry.field(
        resolver=fee_templates,
        description="Your fee templates (of one deal type, if given), in the order deals "
        "list them.",
        extensions=requires("fee.read"),
    )
    fee_template: FeeTemplate | None = strawberry.field(
        resolver=fee_template, extensions=requires("fee.read")
    )


@strawberry.type
class FeeMutation:
    create_fee_template: CreateFeeTemplateResult = strawberry.field(
        resolver=create_fee_template, extensions=requires("fee.manage")
    )
    update_fee_template: UpdateFeeTemplateResult = strawberry.field(
        resolver=update_fee_template, extensions=requires("fee.manage")
    )
    deactivate_fee_template: DeactivateFeeTemplateResult = strawberry.field(
        resolver=deactivate_fee_template,
        description="Stop putting this fee on new deals, keeping the template.",
        extensions=requires("fee.manage"),
    )
    reactivate_fee_template: ReactivateFeeTemplateResult = strawberry.field(
        resolver=reactivate_fee_template, extensions=requires("fee.manage")
    )
    delete_fee_template: DeleteFeeTemplateResult = strawberry.field(
        resolver=delete_fee_template,
        description="Delete a fee template for good; deals already desked keep their copy.",
        extensions=requires("fee.manage"),
    )
