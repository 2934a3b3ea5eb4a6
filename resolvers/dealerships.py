"""The dealership's profile and settings: reading and changing them."""

from __future__ import annotations

from typing import cast

import strawberry

from db.storage import dealerships as storage
from resolvers.context import Info
from resolvers.ids import decode_optional_id
from resolvers.mutations import mutation, write
from resolvers.permissions import requires
from schema.base import from_row
from schema.dealerships import (
    Dealership,
    DealershipSettings,
    UpdateDealershipInput,
    UpdateDealershipResult,
    UpdateDealershipSettingsInput,
    UpdateDealershipSettingsResult,
    UpdateDealershipSettingsSuccess,
    UpdateDealershipSuccess,
    settings_from_row,
)
from schema.inputs import provided

INPUT = ("input",)


async def dealership_settings(info: Info) -> DealershipSettings:
    """Your dealership's defaults for new deals and inventory."""
    principal = info.context.require_principal()
    found = await info.context.loaders.dealership_settings.load(principal.dealership_id)
    if found is None:
        raise LookupError(f"dealership {principal.dealership_id} has no settings")
    return found


@mutation
async def update_dealership_settings(
    info: Info, input: UpdateDealershipSettingsInput
) -> UpdateDealershipSettingsResult:
    """Change your dealership's settings; send the version you read."""
    fields = cast(storage.SettingsFields, provided(input, exclude=("version",)))
    if "default_tax_jurisdiction_id" in fields:
        fields["default_tax_jurisdiction_id"] = decode_optional_id(
            input.default_tax_jurisdiction_id,
            "TaxJurisdiction",
            field=(*INPUT, "defaultTaxJurisdictionId"),
        )
    row = await write(
        info,
        lambda session, actor: storage.update_settings(
            session, actor, version=input.version, fields=fields, path=INPUT
        ),
    )
    return UpdateDealershipSettingsSuccess(settings=settings_from_row(row))


@mutation
async def update_dealership(info: Info, input: UpdateDealershipInput) -> UpdateDealershipResult:
    """Change your dealership's name, contact details or address."""
    fields = cast(storage.DealershipFields, provided(input))
    row = await write(
        info,
        lambda session, actor: storage.update_dealership(session, actor, fields=fields, path=INPUT),
    )
    return UpdateDealershipSuccess(dealership=from_row(Dealership, row))


@strawberry.type
class DealershipQuery:
    dealership_settings: DealershipSettings = strawberry.field(
        resolver=dealership_settings,
        description="Your dealership's defaults for new deals and inventory.",
        extensions=requires("settings.read"),
    )


@strawberry.type
class DealershipMutation:
    update_dealership_settings: UpdateDealershipSettingsResult = strawberry.field(
        resolver=update_dealership_settings,
        description="Change your dealership's settings; send the version you read.",
        extensions=requires("settings.manage"),
    )
    update_dealership: UpdateDealershipResult = strawberry.field(
        resolver=update_dealership,
        description="Change your dealership's name, contact details or address.",
        extensions=requires("settings.manage"),
    )
