"""GraphQL types, inputs and results of quick quotes and their recipients."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from db.storage.quotes import QuickQuoteOrderField
from resolvers.context import Info
from schema.deal_creation import (
    DuplicateDealNumberError,
    NewCustomerInput,
    VehicleNotAvailableError,
)
from schema.enums import DealType, DeliveryStatus, QuickQuoteStatus
from schema.errors import CommonErrors, VersionConflictError
from schema.relay import Node, OrderDirection
from schema.scalars import Money

if TYPE_CHECKING:
    from schema.customers import Customer
    from schema.deals import Deal
    from schema.users import User
    from schema.vehicles import Vehicle

strawberry.enum(QuickQuoteOrderField, description="What quick quotes can be sorted by.")


@strawberry.type(
    description=(
        "A fast payment quote on a vehicle, before a deal exists. "
        "draft -> sent -> converted (to a deal)."
    )
)
class QuickQuote(Node):
    pk: strawberry.Private[int]
    vehicle_id: strawberry.Private[int]
    customer_id: strawberry.Private[int | None]
    created_by_id: strawberry.Private[int]
    converted_deal_id: strawberry.Private[int | None]
    status: QuickQuoteStatus
    deal_type: DealType
    customer_first_name: str | None = strawberry.field(
        description="For a walk-in without a customer record."
    )
    customer_last_name: str | None
    vehicle_price: Money
    down_payment: Money
    trade_allowance: Money
    trade_payoff: Money
    apr: Decimal | None = strawberry.field(description="Percent, e.g. 6.99 (finance only).")
    money_factor: Decimal | None = strawberry.field(description="Lease only, e.g. 0.00250.")
    term_months: int | None = strawberry.field(description="Finance and lease only.")
    residual_percent: Decimal | None = strawberry.field(
        description="Percent of MSRP (of the price when MSRP is unknown); lease only."
    )
    tax_rate: Decimal = strawberry.field(description="Sales tax percent, e.g. 7.25.")
    fees_total: Money = strawberry.field(description="The active fee templates of the deal type.")
    monthly_payment: Money = strawberry.field(description="Zero for a cash quote.")
    expires_at: datetime | None
    sent_at: datetime | None
    converted_at: datetime | None
    version: int = strawberry.field(description="Send it back with updates (optimistic locking).")
    created_at: datetime
    updated_at: datetime

    @strawberry.field
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= datetime.now(UTC)

    @strawberry.field(description="The deal it became, once converted.")
    async def converted_deal(
        self, info: Info
    ) -> Annotated[Deal, strawberry.lazy("schema.deals")] | None:
        if self.converted_deal_id is None:
            return None
        return await info.context.loaders.deal.load(self.converted_deal_id)

    @strawberry.field
    async def vehicle(self, info: Info) -> Annotated[Vehicle, strawberry.lazy("schema.vehicles")]:
        return await info.context.loaders.vehicle.load_one(self.vehicle_id)

    @strawberry.field(description="The customer record, if the quote has one.")
    async def customer(
        self, info: Info
    ) -> Annotated[Customer, strawberry.lazy("schema.customers")] | None:
        if self.customer_id is None:
            return None
        return await info.context.loaders.customer.load(self.customer_id)

    @strawberry.field(description="The staff member who made the quote.")
    async def created_by(self, info: Info) -> Annotated[User, strawberry.lazy("schema.users")]:
        return await info.context.loaders.user.load_one(self.created_by_id)

    @strawberry.field(description="Everyone the quote was sent to, in the order added.")
    async def contacts(self, info: Info) -> list[QuickQuoteContact]:
        return await info.context.loaders.quick_quote_contacts.load(self.pk)


@strawberry.type(description="A recipient of a quick quote and the delivery of its message.")
class QuickQuoteContact(Node):
    pk: strawberry.Private[int]
    quick_quote_id: strawberry.Private[int]
    name: str
    phone: str = strawberry.field(description="E.164, e.g. +16145550123.")
    delivery_status: DeliveryStatus
    sent_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime

    @strawberry.field
    async def quick_quote(self, info: Info) -> QuickQuote:
        return await info.context.loaders.quick_quote.load_one(self.quick_quote_id)


@strawberry.input(description="Narrow a quick quote list. All given conditions must hold.")
class QuickQuoteFilter:
    status: list[QuickQuoteStatus] | None = strawberry.field(
        default=None, description="Any of these statuses (any status when omitted or empty)."
    )
    customer_id: strawberry.ID | None = None
    vehicle_id: strawberry.ID | None = None
    created_by_id: strawberry.ID | None = strawberry.field(
        default=None, description="The User id of the quote's author."
    )


@strawberry.input
class QuickQuoteOrder:
    field: QuickQuoteOrderField = QuickQuoteOrderField.CREATED_AT
    direction: OrderDirection = OrderDirection.DESC


@strawberry.input(
    description=(
        "Quote a payment. Finance uses `apr` and `termMonths` (the dealership's defaults when "
        "omitted); a lease needs `moneyFactor`, `residualPercent` and `termMonths`; cash none."
    )
)
class CreateQuickQuoteInput:
    vehicle_id: strawberry.ID
    deal_type: DealType
    customer_id: strawberry.ID | None = None
    customer_first_name: str | None = None
    customer_last_name: str | None = None
    vehicle_price: Money | None = strawberry.field(
        default=None, description="The vehicle's list price when omitted."
    )
    down_payment: Money = Money(Decimal("0"))
    trade_allowance: Money = Money(Decimal("0"))
    trade_payoff: Money = Money(Decimal("0"))
    apr: Decimal | None = None
    money_factor: Decimal | None = None
    term_months: int | None = None
    residual_percent: Decimal | None = None
    tax_rate: Decimal | None = strawberry.field(
        default=None,
        description="The rate of the dealership's default tax jurisdiction when omitted, else 0.",
    )


@strawberry.input(
    description=(
        "Only the fields you send are changed, and the quote is priced again. Null sends "
        "vehiclePrice, taxRate, apr and termMonths back to their defaults; a new dealType "
        "starts the financing terms afresh."
    )
)
class UpdateQuickQuoteInput:
    id: strawberry.ID
    version: int = strawberry.field(description="The version you read.")
    vehicle_id: strawberry.ID | None = strawberry.UNSET
    deal_type: DealType | None = strawberry.UNSET
    customer_id: strawberry.ID | None = strawberry.UNSET
    customer_first_name: str | None = strawberry.UNSET
    customer_last_name: str | None = strawberry.UNSET
    vehicle_price: Money | None = strawberry.UNSET
    down_payment: Money | None = strawberry.UNSET
    trade_allowance: Money | None = strawberry.UNSET
    trade_payoff: Money | None = strawberry.UNSET
    apr: Decimal | None = strawberry.UNSET
    money_factor: Decimal | None = strawberry.UNSET
    term_months: int | None = strawberry.UNSET
    residual_percent: Decimal | None = strawberry.UNSET
    tax_rate: Decimal | None = strawberry.UNSET


@strawberry.input
class QuickQuoteContactInput:
    name: str
    phone: str = strawberry.field(description="Any common format; stored as E.164.")


@strawberry.input(description="Record who the quote goes to (1 to 10 recipients).")
class SendQuickQuoteInput:
    id: strawberry.ID
    version: int
    contacts: list[QuickQuoteContactInput]


@strawberry.input(description="A delivery receipt: PENDING -> SENT -> DELIVERED or FAILED.")
class UpdateQuoteContactDeliveryInput:
    contact_id: strawberry.ID
    delivery_status: DeliveryStatus


@strawberry.type
class CreateQuickQuoteSuccess:
    quick_quote: QuickQuote


@strawberry.type
class UpdateQuickQuoteSuccess:
    quick_quote: QuickQuote


@strawberry.type
class SendQuickQuoteSuccess:
    quick_quote: QuickQuote
    added_contacts: list[QuickQuoteContact] = strawberry.field(
        description="The recipients this call added."
    )


@strawberry.type
class UpdateQuoteContactDeliverySuccess:
    contact: QuickQuoteContact


CreateQuickQuoteResult = Annotated[
    CreateQuickQuoteSuccess | CommonErrors, strawberry.union("CreateQuickQuoteResult")
]
UpdateQuickQuoteResult = Annotated[
    UpdateQuickQuoteSuccess | CommonErrors | VersionConflictError,
    strawberry.union("UpdateQuickQuoteResult"),
]


@strawberry.input(
    description=(
        "The quote becomes a deal through createDeal: its vehicle, its terms as the first "
        "scenario, and its customer. A walk-in quote without a customer record needs "
        "customerId or customer."
    )
)
class ConvertQuickQuoteInput:
    id: strawberry.ID
    version: int = strawberry.field(description="The version you read.")
    salesperson_id: strawberry.ID | None = strawberry.field(
        default=None, description="As in createDeal: default you."
    )
    customer_id: strawberry.ID | None = None
    customer: NewCustomerInput | None = None


@strawberry.type
class ConvertQuickQuoteSuccess:
    quick_quote: QuickQuote = strawberry.field(description="Now CONVERTED.")
    deal: Annotated[Deal, strawberry.lazy("schema.deals")]
    customer_created: bool


ConvertQuickQuoteResult = Annotated[
    ConvertQuickQuoteSuccess
    | CommonErrors
    | VersionConflictError
    | VehicleNotAvailableError
    | DuplicateDealNumberError,
    strawberry.union("ConvertQuickQuoteResult"),
]
SendQuickQuoteResult = Annotated[
    SendQuickQuoteSuccess | CommonErrors | VersionConflictError,
    strawberry.union("SendQuickQuoteResult"),
]
UpdateQuoteContactDeliveryResult = Annotated[
    UpdateQuoteContactDeliverySuccess | CommonErrors,
    strawberry.union("UpdateQuoteContactDeliveryResult"),
]


@strawberry.input
class DeleteQuickQuoteInput:
    id: strawberry.ID
    version: int


@strawberry.type
class DeleteQuickQuoteSuccess:
    deleted_quick_quote_id: strawberry.ID


DeleteQuickQuoteResult = Annotated[
    DeleteQuickQuoteSuccess | CommonErrors | VersionConflictError,
    strawberry.union("DeleteQuickQuoteResult", description="Only DRAFT quotes can be deleted."),
]
