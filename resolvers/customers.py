"""Customer queries and mutations."""

from __future__ import annotations

from typing import cast

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from db.storage import customer_sensitive
from db.storage import customers as storage
from db.storage.audit import Actor
from db.storage.pagination import PageArgs
from resolvers.context import Info
from resolvers.ids import decode_id
from resolvers.mutations import mutation, write
from resolvers.pagination import to_connection
from resolvers.permissions import requires
from resolvers.sensitive import cipher_of
from schema.base import from_row
from schema.customers import (
    AddCustomerNoteInput,
    AddCustomerNoteResult,
    AddCustomerNoteSuccess,
    ArchiveCustomerInput,
    ArchiveCustomerResult,
    ArchiveCustomerSuccess,
    CreateCustomerInput,
    CreateCustomerResult,
    CreateCustomerSuccess,
    Customer,
    CustomerFilter,
    CustomerNote,
    CustomerOrder,
    DeleteCustomerInput,
    DeleteCustomerNoteInput,
    DeleteCustomerNoteResult,
    DeleteCustomerNoteSuccess,
    DeleteCustomerResult,
    DeleteCustomerSuccess,
    UpdateCustomerInput,
    UpdateCustomerResult,
    UpdateCustomerSensitiveDataInput,
    UpdateCustomerSensitiveDataResult,
    UpdateCustomerSensitiveDataSuccess,
    UpdateCustomerSuccess,
)
from schema.inputs import provided
from schema.relay import Connection, OrderDirection

INPUT = ("input",)


async def customer(info: Info, id: strawberry.ID) -> Customer | None:
    """A customer of your dealership by id."""
    return await info.context.loaders.customer.load(decode_id(id, "Customer", field=("id",)))


async def customers(
    info: Info,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    filter: CustomerFilter | None = None,
    order_by: CustomerOrder | None = None,
) -> Connection[Customer]:
    """Your dealership's customers; archived ones only with `filter.includeArchived`."""
    flt = filter or CustomerFilter()
    criteria = storage.CustomerFilter(
        search=flt.search,
        email=flt.email,
        phone=flt.phone,
        include_archived=flt.include_archived,
    )
    order = order_by or CustomerOrder()
    async with info.context.db.session() as session:
        page = await storage.list_customers(
            session,
            filter=criteria,
            order=order.field,
            descending=order.direction is OrderDirection.DESC,
            page=PageArgs(first=first, after=after, last=last, before=before),
        )
    return to_connection(
        info,
        page,
        lambda row: from_row(Customer, row),
        lambda session: storage.count_customers(session, filter=criteria),
    )


async def find_duplicate_customers(
    info: Info, email: str | None = None, phone: str | None = None
) -> list[Customer]:
    """Customers with this e-mail (any case) or phone (any format): check before creating."""
    async with info.context.db.session() as session:
        rows = await storage.find_duplicates(session, email=email, phone=phone)
    return [from_row(Customer, row) for row in rows]


@mutation
async def create_customer(info: Info, input: CreateCustomerInput) -> CreateCustomerResult:
    fields = cast(storage.CustomerFields, provided(input))

    async def work(session: AsyncSession, actor: Actor) -> CreateCustomerSuccess:
        row = await storage.create_customer(session, actor, fields=fields, path=INPUT)
        duplicates = await storage.find_duplicates(
            session, email=row.email, phone=row.phone, exclude_id=row.id
        )
        return CreateCustomerSuccess(
            customer=from_row(Customer, row),
            possible_duplicates=[from_row(Customer, d) for d in duplicates],
        )

    return await write(info, work)


@mutation
async def update_customer(info: Info, input: UpdateCustomerInput) -> UpdateCustomerResult:
    customer_id = decode_id(input.id, "Customer", field=(*INPUT, "id"))
    fields = cast(storage.CustomerFields, provided(input, exclude=("id", "version")))
    row = await write(
        info,
        lambda session, actor: storage.update_customer(
            session,
            actor,
            customer_id=customer_id,
            version=input.version,
            fields=fields,
            path=INPUT,
        ),
    )
    return UpdateCustomerSuccess(customer=from_row(Customer, row))


@mutation
async def update_customer_sensitive_data(
    info: Info, input: UpdateCustomerSensitiveDataInput
) -> UpdateCustomerSensitiveDataResult:
    """Record or change what identifies a customer for credit (encrypted at rest)."""
    customer_id = decode_id(input.id, "Customer", field=(*INPUT, "id"))
    fields = cast(customer_sensitive.SensitiveFields, provided(input, exclude=("id", "version")))
    cipher = cipher_of(info)
    row = await write(
        info,
        lambda session, actor: customer_sensitive.update_sensitive_data(
            session,
            actor,
            cipher=cipher,
            customer_id=customer_id,
            version=input.version,
            fields=fields,
            path=INPUT,
        ),
    )
    return UpdateCustomerSensitiveDataSuccess(customer=from_row(Customer, row))


async def _set_archived(info: Info, input: ArchiveCustomerInput, archived: bool) -> Customer:
    customer_id = decode_id(input.id, "Customer", field=(*INPUT, "id"))
    row = await write(
        info,
        lambda session, actor: storage.set_archived(
            session,
            actor,
            customer_id=customer_id,
            version=input.version,
            archived=archived,
            path=INPUT,
        ),
    )
    return from_row(Customer, row)


@mutation
async def archive_customer(info: Info, input: ArchiveCustomerInput) -> ArchiveCustomerResult:
    """Hide a customer from lists and searches; their history stays."""
    return ArchiveCustomerSuccess(customer=await _set_archived(info, input, True))


@mutation
async def restore_customer(info: Info, input: ArchiveCustomerInput) -> ArchiveCustomerResult:
    """Bring an archived customer back."""
    return ArchiveCustomerSuccess(customer=await _set_archived(info, input, False))


@mutation
async def add_customer_note(info: Info, input: AddCustomerNoteInput) -> AddCustomerNoteResult:
    customer_id = decode_id(input.customer_id, "Customer", field=(*INPUT, "customerId"))
    row = await write(
        info,
        lambda session, actor: storage.add_note(
            session, actor, customer_id=customer_id, body=input.body, path=INPUT
        ),
    )
    return AddCustomerNoteSuccess(note=from_row(CustomerNote, row))


@mutation
async def delete_customer(info: Info, input: DeleteCustomerInput) -> DeleteCustomerResult:
    """Erase a customer who has no history; archive the others."""
    customer_id = decode_id(input.id, "Customer", field=(*INPUT, "id"))
    await write(
        info,
        lambda session, actor: storage.delete_customer(
            session, actor, customer_id=customer_id, version=input.version, path=INPUT
        ),
    )
    return DeleteCustomerSuccess(deleted_customer_id=input.id)


@mutation
async def delete_customer_note(
    info: Info, input: DeleteCustomerNoteInput
) -> DeleteCustomerNoteResult:
    note_id = decode_id(input.id, "CustomerNote", field=(*INPUT, "id"))
    await write(
        info,
        lambda session, actor: storage.delete_note(session, actor, note_id=note_id, path=INPUT),
    )
    return DeleteCustomerNoteSuccess(deleted_note_id=input.id)


@strawberry.type
class CustomerQuery:
    customer: Customer | None = strawberry.field(
        resolver=customer, extensions=requires("customer.read")
    )
    customers: Connection[Customer] = strawberry.field(
        resolver=customers, extensions=requires("customer.read")
    )
    find_duplicate_customers: list[Customer] = strawberry.field(
        resolver=find_duplicate_customers, extensions=requires("customer.read")
    )


@strawberry.type
class CustomerMutation:
    create_customer: CreateCustomerResult = strawberry.field(
        resolver=create_customer, extensions=requires("customer.write")
    )
    update_customer: UpdateCustomerResult = strawberry.field(
        resolver=update_customer, extensions=requires("customer.write")
    )
    update_customer_sensitive_data: UpdateCustomerSensitiveDataResult = strawberry.field(
        resolver=update_customer_sensitive_data, extensions=requires("customer.sensitive.write")
    )
    archive_customer: ArchiveCustomerResult = strawberry.field(
        resolver=archive_customer, extensions=requires("customer.write")
    )
    restore_customer: ArchiveCustomerResult = strawberry.field(
        resolver=restore_customer, extensions=requires("customer.write")
    )
    add_customer_note: AddCustomerNoteResult = strawberry.field(
        resolver=add_customer_note, extensions=requires("customer.write")
    )
    delete_customer: DeleteCustomerResult = strawberry.field(
        resolver=delete_customer, extensions=requires("customer.write")
    )
    delete_customer_note: DeleteCustomerNoteResult = strawberry.field(
        resolver=delete_customer_note, extensions=requires("customer.write")
    )
