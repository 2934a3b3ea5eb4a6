"""GraphQL input, result and errors of createDeal."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import strawberry

from db.storage.deal_creation import DuplicateDealNumber, VehicleNotAvailable
from schema.deals import Deal
from schema.enums import DealType, VehicleStatus
from schema.errors import (
    Error,
    MultiTenantViolationError,
    OperationTimeoutError,
    PermissionDeniedError,
    ResourceNotFoundError,
    ValidationError,
    field_path,
    register_error,
)
from schema.scalars import Money
from schema.scenarios import FeeLineInput


@strawberry.type(
    description=(
        "The vehicle cannot be sold on this deal: it is not AVAILABLE (pending on another "
        "deal, sold, on hold...). Nothing was created."
    )
)
class VehicleNotAvailableError(Error):
    vehicle_status: VehicleStatus
    held_by_deal_number: str | None = strawberry.field(
        description="The live deal that holds the vehicle, when one does."
    )


@strawberry.type(
    description=(
        "No deal number could be given. Deal numbers are YYYY-MMDD-XXXX, XXXX counting the "
        "dealership's deals of its local day from 0001, taken under a lock in the deal's own "
        "transaction: concurrent createDeal calls never collide and a rolled-back or retried "
        "call gives its number back. This error therefore happens only (1) when all 9999 "
        "numbers of the day are taken, or (2) when the number to be given, and the next two, "
        "already exist - possible only if deal numbers were written outside dealerdesk."
    )
)
class DuplicateDealNumberError(Error):
    deal_number: str | None = strawberry.field(description="The last number tried, if any.")


@strawberry.input(description="A customer to create (or to reuse, if one has this e-mail).")
class NewCustomerInput:
    first_name: str
    last_name: str
    email: str | None = None
    phone: str | None = strawberry.field(default=None, description="Any format; kept as E.164.")
    address_line1: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None


@strawberry.input(
    description=(
        "Terms of the deal's first scenario. Anything left out comes from the dealership's "
        "settings (deal type, term, APR), the vehicle (price), the active fee templates of "
        "the deal type and the default tax jurisdiction."
    )
)
class DealScenarioValuesInput:
    type: DealType | None = None
    name: str | None = None
    vehicle_price: Money | None = None
    down_payment: Money | None = None
    rebates: Money | None = None
    trade_allowance: Money | None = None
    trade_payoff: Money | None = None
    apr: Decimal | None = strawberry.field(default=None, description="Percent, 0 to 40.")
    term_months: int | None = None
    money_factor: Decimal | None = None
    residual_percent: Decimal | None = None
    tax_rate: Decimal | None = None
    fees: list[FeeLineInput] | None = None


@strawberry.input
class CreateDealInput:
    vehicle_id: strawberry.ID = strawberry.field(description="An AVAILABLE vehicle.")
    salesperson_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="An active salesperson, sales manager or finance manager; default: you. "
        "Someone else only if your role may assign deals (deal.assign).",
    )
    customer_id: strawberry.ID | None = strawberry.field(
        default=None, description="An existing customer. Give this or `customer`."
    )
    customer: NewCustomerInput | None = strawberry.field(
        default=None, description="A new customer. Give this or `customerId`."
    )
    scenario: DealScenarioValuesInput | None = None
    notes: str | None = None


@strawberry.type
class CreateDealSuccess:
    deal: Deal = strawberry.field(
        description="The new deal: OPEN, its vehicle PENDING, its first scenario active."
    )
    customer_created: bool = strawberry.field(
        description="False when an existing customer (given, or with the same e-mail) was used."
    )


CreateDealResult = Annotated[
    CreateDealSuccess
    | ValidationError
    | ResourceNotFoundError
    | VehicleNotAvailableError
    | DuplicateDealNumberError
    | MultiTenantViolationError
    | PermissionDeniedError
    | OperationTimeoutError,
    strawberry.union(
        "CreateDealResult",
        description=(
            "PermissionDeniedError: your role may not create deals. OperationTimeoutError: "
            "the creation did not finish within 10 seconds and was rolled back; retry."
        ),
    ),
]


register_error(
    VehicleNotAvailable,
    lambda e: VehicleNotAvailableError(
        message=e.message,
        code=e.code,
        field=field_path(e.field),
        vehicle_status=e.status,
        held_by_deal_number=e.held_by,
    ),
)
register_error(
    DuplicateDealNumber,
    lambda e: DuplicateDealNumberError(
        message=e.message, code=e.code, field=field_path(e.field), deal_number=e.deal_number
    ),
)
