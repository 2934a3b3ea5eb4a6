"""GraphQL types, inputs and results of customers and their notes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from db.storage import customer_sensitive
from db.storage.customers import CustomerOrderField
from resolvers.context import Info
from resolvers.sensitive import (
    cipher_of,
    mask_all,
    mask_date,
    mask_license_number,
    mask_to_null,
    masked,
)
from schema.errors import CommonErrors, VersionConflictError
from schema.relay import Node, OrderDirection
from schema.scalars import Money

if TYPE_CHECKING:
    from schema.appointments import Appointment
    from schema.deals import Deal
    from schema.trade_vehicles import TradeVehicle
    from schema.users import User

strawberry.enum(CustomerOrderField, description="What customers can be sorted by.")


@strawberry.type(description="A person the dealership sells to.")
class Customer(Node):
    pk: strawberry.Private[int]
    first_name: str
    last_name: str
    email: str | None
    phone: str | None = strawberry.field(description="E.164, e.g. +16145550123.")
    alternate_phone: str | None
    address_line1: str | None
    address_line2: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    source: str | None = strawberry.field(description="Lead source, e.g. walk-in, website.")
    archived_at: datetime | None
    version: int = strawberry.field(description="Send it back with updates (optimistic locking).")
    created_at: datetime
    updated_at: datetime
    dealership_id: strawberry.Private[int]
    # Ciphertexts (db/crypto.py); the fields below decrypt and mask them.
    date_of_birth_enc: strawberry.Private[bytes | None]
    drivers_license_number_enc: strawberry.Private[bytes | None]
    drivers_license_state_enc: strawberry.Private[bytes | None]
    ssn_last4_enc: strawberry.Private[bytes | None]
    monthly_income_enc: strawberry.Private[bytes | None]

    def _clear(self, info: Info, column: str) -> str | None:
        return customer_sensitive.decrypt(
            cipher_of(info),
            getattr(self, column),
            column=column,
            dealership_id=self.dealership_id,
            customer_id=self.pk,
        )

    @strawberry.field
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @strawberry.field(
        description="Whether any of the sensitive fields (date of birth, licence, SSN last "
        "four, income) is recorded; visible to everyone who may see the customer."
    )
    def has_sensitive_data(self) -> bool:
        return any(
            getattr(self, column) is not None for column in customer_sensitive.COLUMNS.values()
        )

    @strawberry.field(
        description='YYYY-MM-DD. Sensitive: "****-**-**" without customer.sensitive.read.',
        extensions=masked(mask_date),
    )
    async def date_of_birth(self, info: Info) -> str | None:
        return self._clear(info, "date_of_birth_enc")

    @strawberry.field(
        description='Sensitive: without customer.sensitive.read, "•••••" followed by its last '
        "four characters when it has at least eight.",
        extensions=masked(mask_license_number),
    )
    async def drivers_license_number(self, info: Info) -> str | None:
        return self._clear(info, "drivers_license_number_enc")

    @strawberry.field(
        description='Two letters. Sensitive: "••" without customer.sensitive.read.',
        extensions=masked(mask_all(2)),
    )
    async def drivers_license_state(self, info: Info) -> str | None:
        return self._clear(info, "drivers_license_state_enc")

    @strawberry.field(
        description="The last four digits of the SSN (a full SSN is never stored). "
        'Sensitive: "••••" without customer.sensitive.read.',
        extensions=masked(mask_all(4)),
    )
    async def ssn_last4(self, info: Info) -> str | None:
        return self._clear(info, "ssn_last4_enc")

    @strawberry.field(
        description="Sensitive: null without customer.sensitive.read (see hasSensitiveData).",
        extensions=masked(mask_to_null),
    )
    async def monthly_income(self, info: Info) -> Money | None:
        income = self._clear(info, "monthly_income_enc")
        return None if income is None else Money(Decimal(income))

    @strawberry.field
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @strawberry.field(description="Notes on the customer, newest first.")
    async def notes(self, info: Info) -> list[CustomerNote]:
        return await info.context.loaders.customer_notes.load(self.pk)

    @strawberry.field(description="Deals, appointments, notes and quotes, newest first.")
    async def history(self, info: Info) -> list[CustomerHistoryEntry]:
        return await info.context.loaders.customer_history.load(self.pk)

    @strawberry.field(description="Appointments with the customer, in start order.")
    async def appointments(
        self, info: Info
    ) -> list[Annotated[Appointment, strawberry.lazy("schema.appointments")]]:
        return await info.context.loaders.customer_appointments.load(self.pk)

    @strawberry.field(description="Other customers with the same e-mail or phone.")
    async def possible_duplicates(self, info: Info) -> list[Customer]:
        return await info.context.loaders.customer_duplicates.load(self.pk)

    @strawberry.field(description="The customer's deals, newest first.")
    async def deals(self, info: Info) -> list[Annotated[Deal, strawberry.lazy("schema.deals")]]:
        return await info.context.loaders.customer_deals.load(self.pk)

    @strawberry.field(description="Vehicles the customer has offered in trade, oldest first.")
    async def trade_vehicles(
        self, info: Info
    ) -> list[Annotated[TradeVehicle, strawberry.lazy("schema.trade_vehicles")]]:
        return await info.context.loaders.customer_trade_vehicles.load(self.pk)


@strawberry.type(description="A note a staff member left on a customer.")
class CustomerNote(Node):
    pk: strawberry.Private[int]
    customer_id: strawberry.Private[int]
    author_id: strawberry.Private[int]
    body: str
    created_at: datetime

    @strawberry.field
    async def author(self, info: Info) -> Annotated[User, strawberry.lazy("schema.users")]:
        return await info.context.loaders.user.load_one(self.author_id)

    @strawberry.field
    async def customer(self, info: Info) -> Customer:
        return await info.context.loaders.customer.load_one(self.customer_id)


@strawberry.enum
class CustomerHistoryKind(Enum):
    DEAL = "deal"
    APPOINTMENT = "appointment"
    NOTE = "note"
    QUOTE = "quote"


@strawberry.type(description="One event in a customer's history.")
class CustomerHistoryEntry:
    kind: CustomerHistoryKind
    occurred_at: datetime
    summary: str
    subject_id: strawberry.ID = strawberry.field(description="Global id of the deal, note, ...")


@strawberry.input(description="Narrow a customer list. All given conditions must hold.")
class CustomerFilter:
    search: str | None = strawberry.field(
        default=None, description="Partial match on first or last name, e-mail or phone."
    )
    email: str | None = None
    phone: str | None = None
    include_archived: bool = False


@strawberry.input
class CustomerOrder:
    field: CustomerOrderField = CustomerOrderField.LAST_NAME
    direction: OrderDirection = OrderDirection.ASC


@strawberry.input
class CreateCustomerInput:
    first_name: str
    last_name: str
    email: str | None = None
    phone: str | None = strawberry.field(
        default=None, description="Any common format; stored as E.164."
    )
    alternate_phone: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    source: str | None = None


@strawberry.input(description="Only the fields you send are changed; null clears a field.")
class UpdateCustomerInput:
    id: strawberry.ID
    version: int = strawberry.field(description="The version you read.")
    first_name: str | None = strawberry.UNSET
    last_name: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    alternate_phone: str | None = strawberry.UNSET
    address_line1: str | None = strawberry.UNSET
    address_line2: str | None = strawberry.UNSET
    city: str | None = strawberry.UNSET
    state: str | None = strawberry.UNSET
    postal_code: str | None = strawberry.UNSET
    source: str | None = strawberry.UNSET


@strawberry.input(
    description="Only the fields you send are changed; null clears a field. The values are "
    "encrypted at rest and never written to the audit trail or the logs."
)
class UpdateCustomerSensitiveDataInput:
    id: strawberry.ID
    version: int = strawberry.field(description="The version you read.")
    date_of_birth: date | None = strawberry.field(
        default=strawberry.UNSET, description="In the past; the customer is 16 to 120 years old."
    )
    drivers_license_number: str | None = strawberry.field(
        default=strawberry.UNSET, description="1 to 20 letters and digits."
    )
    drivers_license_state: str | None = strawberry.field(
        default=strawberry.UNSET, description="The issuing state's two-letter code."
    )
    ssn_last4: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Exactly the last four digits; a full SSN is refused (INVALID_SSN_LAST4).",
    )
    monthly_income: Money | None = strawberry.field(
        default=strawberry.UNSET, description="Gross monthly income, zero or more."
    )


@strawberry.input
class ArchiveCustomerInput:
    id: strawberry.ID
    version: int


@strawberry.input
class AddCustomerNoteInput:
    customer_id: strawberry.ID
    body: str


@strawberry.type
class CreateCustomerSuccess:
    customer: Customer
    possible_duplicates: list[Customer] = strawberry.field(
        description="Existing customers with the same e-mail or phone: merge or ignore."
    )


@strawberry.type
class UpdateCustomerSuccess:
    customer: Customer


@strawberry.type
class UpdateCustomerSensitiveDataSuccess:
    customer: Customer


@strawberry.type
class ArchiveCustomerSuccess:
    customer: Customer


@strawberry.type
class AddCustomerNoteSuccess:
    note: CustomerNote


CreateCustomerResult = Annotated[
    CreateCustomerSuccess | CommonErrors, strawberry.union("CreateCustomerResult")
]
UpdateCustomerResult = Annotated[
    UpdateCustomerSuccess | CommonErrors | VersionConflictError,
    strawberry.union("UpdateCustomerResult"),
]
UpdateCustomerSensitiveDataResult = Annotated[
    UpdateCustomerSensitiveDataSuccess | CommonErrors | VersionConflictError,
    strawberry.union("UpdateCustomerSensitiveDataResult"),
]
ArchiveCustomerResult = Annotated[
    ArchiveCustomerSuccess | CommonErrors | VersionConflictError,
    strawberry.union("ArchiveCustomerResult"),
]
AddCustomerNoteResult = Annotated[
    AddCustomerNoteSuccess | CommonErrors, strawberry.union("AddCustomerNoteResult")
]


@strawberry.input
class DeleteCustomerInput:
    id: strawberry.ID
    version: int


@strawberry.input
class DeleteCustomerNoteInput:
    id: strawberry.ID


@strawberry.type
class DeleteCustomerSuccess:
    deleted_customer_id: strawberry.ID


@strawberry.type
class DeleteCustomerNoteSuccess:
    deleted_note_id: strawberry.ID


DeleteCustomerResult = Annotated[
    DeleteCustomerSuccess | CommonErrors | VersionConflictError,
    strawberry.union(
        "DeleteCustomerResult",
        description="Only customers without deals, appointments, quotes or trade-ins can be "
        "deleted (CUSTOMER_HAS_HISTORY); archive the others.",
    ),
]
DeleteCustomerNoteResult = Annotated[
    DeleteCustomerNoteSuccess | CommonErrors, strawberry.union("DeleteCustomerNoteResult")
]
