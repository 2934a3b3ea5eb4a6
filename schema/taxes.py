"""GraphQL types, inputs and results of sales-tax jurisdictions."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import strawberry

from db.storage.taxes import TaxJurisdictionOrderField
from schema.errors import CommonErrors
from schema.relay import Node, OrderDirection
from schema.scalars import Money

strawberry.enum(TaxJurisdictionOrderField, description="What tax jurisdictions can be sorted by.")


@strawberry.type(
    description=(
        "A sales-tax jurisdiction: a state, optionally narrowed to a county, a city or a ZIP "
        "code, with its combined rate."
    )
)
class TaxJurisdiction(Node):
    pk: strawberry.Private[int]
    name: str
    state: str = strawberry.field(description="Two-letter state code, e.g. OH.")
    county: str | None
    city: str | None
    postal_code: str | None = strawberry.field(description="5-digit ZIP or ZIP+4.")
    rate: Decimal = strawberry.field(
        description='Combined rate in percent with up to 4 decimals, e.g. "7.2500".'
    )
    trade_in_credit: bool = strawberry.field(
        description="Whether the trade-in allowance is deducted from the taxable price."
    )
    max_taxable_amount: Money | None = strawberry.field(
        description="Tax applies to at most this much of the price; null: no cap."
    )
    is_active: bool
    created_at: datetime
    updated_at: datetime


@strawberry.input(description="Narrow a jurisdiction list. All given conditions must hold.")
class TaxJurisdictionFilter:
    state: str | None = strawberry.field(default=None, description="Two-letter state code.")
    search: str | None = strawberry.field(
        default=None, description="Partial match on name, county, city or ZIP code."
    )
    include_inactive: bool = False


@strawberry.input
class TaxJurisdictionOrder:
    field: TaxJurisdictionOrderField = TaxJurisdictionOrderField.NAME
    direction: OrderDirection = OrderDirection.ASC


@strawberry.input
class CreateTaxJurisdictionInput:
    name: str
    state: str = strawberry.field(description="Two-letter state code, e.g. OH.")
    rate: Decimal = strawberry.field(description="Percent: 0 <= rate < 30, up to 4 decimals.")
    county: str | None = None
    city: str | None = None
    postal_code: str | None = strawberry.field(default=None, description="5 digits or ZIP+4.")
    trade_in_credit: bool = True
    max_taxable_amount: Money | None = None


@strawberry.input(description="Only the fields you send are changed; null clears a field.")
class UpdateTaxJurisdictionInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    state: str | None = strawberry.UNSET
    county: str | None = strawberry.UNSET
    city: str | None = strawberry.UNSET
    postal_code: str | None = strawberry.UNSET
    rate: Decimal | None = strawberry.UNSET
    trade_in_credit: bool | None = strawberry.UNSET
    max_taxable_amount: Money | None = strawberry.UNSET


@strawberry.input
class DeactivateTaxJurisdictionInput:
    id: strawberry.ID


@strawberry.type
class CreateTaxJurisdictionSuccess:
    tax_jurisdiction: TaxJurisdiction


@strawberry.type
class UpdateTaxJurisdictionSuccess:
    tax_jurisdiction: TaxJurisdiction


@strawberry.type
class DeactivateTaxJurisdictionSuccess:
    tax_jurisdiction: TaxJurisdiction


CreateTaxJurisdictionResult = Annotated[
    CreateTaxJurisdictionSuccess | CommonErrors, strawberry.union("CreateTaxJurisdictionResult")
]
UpdateTaxJurisdictionResult = Annotated[
    UpdateTaxJurisdictionSuccess | CommonErrors, strawberry.union("UpdateTaxJurisdictionResult")
]
DeactivateTaxJurisdictionResult = Annotated[
    DeactivateTaxJurisdictionSuccess | CommonErrors,
    strawberry.union("DeactivateTaxJurisdictionResult"),
]
