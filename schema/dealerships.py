"""GraphQL types of dealerships and their settings, and the inputs and results of changing
them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from db.models import DealershipSettings as SettingsRow
from resolvers.context import Info
from schema.enums import DealType
from schema.errors import CommonErrors, VersionConflictError
from schema.relay import Node, to_global_id
from schema.scalars import Money

if TYPE_CHECKING:
    from schema.taxes import TaxJurisdiction


@strawberry.type(description="A dealership: the tenant every other record belongs to.")
class Dealership(Node):
    pk: strawberry.Private[int]
    code: str
    name: str
    legal_name: str | None
    phone: str | None = strawberry.field(description="E.164, e.g. +16145550123.")
    email: str | None
    address_line1: str | None
    address_line2: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    is_active: bool

    @strawberry.field(description="The dealership's defaults for new deals and inventory.")
    async def settings(self, info: Info) -> DealershipSettings:
        found = await info.context.loaders.dealership_settings.load(self.pk)
        if found is None:
            raise LookupError(f"dealership {self.pk} has no settings")
        return found


@strawberry.type(description="A dealership's defaults for new deals and inventory.")
class DealershipSettings(Node):
    pk: strawberry.Private[int]  # the dealership's id
    time_zone: str = strawberry.field(description="IANA name, e.g. America/New_York.")
    default_tax_jurisdiction_id: strawberry.Private[int | None]
    default_deal_type: DealType
    default_term_months: int
    default_apr: Decimal = strawberry.field(description="Percent, e.g. 6.9900.")
    doc_fee: Money
    stock_number_format: str = strawberry.field(
        description="Format of new stock numbers: {seq} the sequence, {yy} / {yyyy} the year, "
        "e.g. S{yy}{seq:05d} gives S2500001."
    )
    version: int = strawberry.field(description="Send it back with updates (optimistic locking).")
    updated_at: datetime

    @strawberry.field(description="The jurisdiction whose tax new deals and quotes use.")
    async def default_tax_jurisdiction(
        self, info: Info
    ) -> Annotated[TaxJurisdiction, strawberry.lazy("schema.taxes")] | None:
        if self.default_tax_jurisdiction_id is None:
            return None
        return await info.context.loaders.tax_jurisdiction.load(self.default_tax_jurisdiction_id)


def settings_from_row(row: SettingsRow) -> DealershipSettings:
    return DealershipSettings(
        id=to_global_id("DealershipSettings", row.dealership_id),
        pk=row.dealership_id,
        time_zone=row.time_zone,
        default_tax_jurisdiction_id=row.default_tax_jurisdiction_id,
        default_deal_type=row.default_deal_type,
        default_term_months=row.default_term_months,
        default_apr=row.default_apr,
        doc_fee=Money(row.doc_fee),
        stock_number_format=row.stock_number_format,
        version=row.version,
        updated_at=row.updated_at,
    )


@strawberry.input(
    description="Only the fields you send are changed; null clears the tax jurisdiction and "
    "is refused elsewhere."
)
class UpdateDealershipSettingsInput:
    version: int = strawberry.field(description="The version you read.")
    time_zone: str | None = strawberry.UNSET
    default_tax_jurisdiction_id: strawberry.ID | None = strawberry.UNSET
    default_deal_type: DealType | None = strawberry.UNSET
    default_term_months: int | None = strawberry.field(
        default=strawberry.UNSET, description="1 to 120."
    )
    default_apr: Decimal | None = strawberry.field(
        default=strawberry.UNSET, description="0 to 40 percent, at most 4 decimal places."
    )
    doc_fee: Money | None = strawberry.field(default=strawberry.UNSET, description="0 or more.")
    stock_number_format: str | None = strawberry.UNSET


@strawberry.input(description="Only the fields you send are changed; null clears a field.")
class UpdateDealershipInput:
    name: str | None = strawberry.UNSET
    legal_name: str | None = strawberry.UNSET
    phone: str | None = strawberry.field(
        default=strawberry.UNSET, description="Any common format; stored as E.164."
    )
    email: str | None = strawberry.UNSET
    address_line1: str | None = strawberry.UNSET
    address_line2: str | None = strawberry.UNSET
    city: str | None = strawberry.UNSET
    state: str | None = strawberry.UNSET
    postal_code: str | None = strawberry.UNSET


@strawberry.type
class UpdateDealershipSettingsSuccess:
    settings: DealershipSettings


@strawberry.type
class UpdateDealershipSuccess:
    dealership: Dealership


UpdateDealershipSettingsResult = Annotated[
    UpdateDealershipSettingsSuccess | CommonErrors | VersionConflictError,
    strawberry.union("UpdateDealershipSettingsResult"),
]
UpdateDealershipResult = Annotated[
    UpdateDealershipSuccess | CommonErrors, strawberry.union("UpdateDealershipResult")
]
