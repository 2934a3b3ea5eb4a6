"""GraphQL types, inputs and results of customers and their notes."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from db.storage.customers import CustomerOrderField
from resolvers.context import Info
from schema.errors import CommonErrors, VersionConflictError
from schema.relay import Node, OrderDirection

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

    @strawberry.field
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

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
