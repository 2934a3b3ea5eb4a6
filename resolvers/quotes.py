"""Quick quote queries and mutations."""

from __future__ import annotations

from typing import cast

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from db.storage import quotes as storage
from db.storage.audit import Actor
from db.storage.customers import CustomerFields
from db.storage.deal_creation import CREATE_DEAL_TX
from db.storage.pagination import PageArgs
from resolvers.context import Info
from resolvers.deal_creation import salesperson_of
from resolvers.ids import decode_id, decode_optional_id
from resolvers.mutations import mutation, write
from resolvers.pagination import to_connection
from resolvers.permissions import requires
from schema.base import from_row
from schema.deals import Deal
from schema.inputs import provided
from schema.quotes import (
    ConvertQuickQuoteInput,
    ConvertQuickQuoteResult,
    ConvertQuickQuoteSuccess,
    CreateQuickQuoteInput,
    CreateQuickQuoteResult,
    CreateQuickQuoteSuccess,
    DeleteQuickQuoteInput,
    DeleteQuickQuoteResult,
    DeleteQuickQuoteSuccess,
    QuickQuote,
    QuickQuoteContact,
    QuickQuoteFilter,
    QuickQuoteOrder,
    SendQuickQuoteInput,
    SendQuickQuoteResult,
    SendQuickQuoteSuccess,
    UpdateQuickQuoteInput,
    UpdateQuickQuoteResult,
    UpdateQuickQuoteSuccess,
    UpdateQuoteContactDeliveryInput,
    UpdateQuoteContactDeliveryResult,
    UpdateQuoteContactDeliverySuccess,
)
from schema.relay import Connection, OrderDirection

INPUT = ("input",)
FILTER = ("filter",)

# Input fields holding global ids: (python name, GraphQL type, GraphQL field name).
_ID_FIELDS = (
    ("vehicle_id", "Vehicle", "vehicleId"),
    ("customer_id", "Customer", "customerId"),
)


async def quick_quote(info: Info, id: strawberry.ID) -> QuickQuote | None:
    """A quick quote of your dealership by id."""
    return await info.context.loaders.quick_quote.load(decode_id(id, "QuickQuote", field=("id",)))


async def quick_quotes(
    info: Info,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    filter: QuickQuoteFilter | None = None,
    order_by: QuickQuoteOrder | None = None,
) -> Connection[QuickQuote]:
    """Your dealership's quick quotes, newest first unless `orderBy` says otherwise."""
    flt = filter or QuickQuoteFilter()
    criteria = storage.QuickQuoteFilter(
        statuses=tuple(flt.status or ()),
        customer_id=decode_optional_id(flt.customer_id, "Customer", field=(*FILTER, "customerId")),
        vehicle_id=decode_optional_id(flt.vehicle_id, "Vehicle", field=(*FILTER, "vehicleId")),
        created_by_id=decode_optional_id(flt.created_by_id, "User", field=(*FILTER, "createdById")),
    )
    order = order_by or QuickQuoteOrder()
    async with info.context.db.session() as session:
        page = await storage.list_quick_quotes(
            session,
            filter=criteria,
            order=order.field,
            descending=order.direction is OrderDirection.DESC,
            page=PageArgs(first=first, after=after, last=last, before=before),
        )
    return to_connection(
        info,
        page,
        lambda row: from_row(QuickQuote, row),
        lambda session: storage.count_quick_quotes(session, filter=criteria),
    )


def _fields(values: dict[str, object]) -> storage.QuoteFields:
    for name, type_name, graphql_name in _ID_FIELDS:
        if name in values:
            values[name] = decode_optional_id(
                cast(str | None, values[name]), type_name, field=(*INPUT, graphql_name)
            )
    return cast(storage.QuoteFields, values)


@mutation
async def create_quick_quote(info: Info, input: CreateQuickQuoteInput) -> CreateQuickQuoteResult:
    """Quote a monthly payment on a vehicle (taxes and the deal type's fees included); the
    quote is valid for seven days."""
    fields = _fields(provided(input))
    row = await write(
        info,
        lambda session, actor: storage.create_quick_quote(
            session, actor, fields=fields, path=INPUT
        ),
    )
    return CreateQuickQuoteSuccess(quick_quote=from_row(QuickQuote, row))


@mutation
async def update_quick_quote(info: Info, input: UpdateQuickQuoteInput) -> UpdateQuickQuoteResult:
    """Change a draft or sent quote; it is priced again and valid for another seven days."""
    quote_id = decode_id(input.id, "QuickQuote", field=(*INPUT, "id"))
    fields = _fields(provided(input, exclude=("id", "version")))
    row = await write(
        info,
        lambda session, actor: storage.update_quick_quote(
            session, actor, quote_id=quote_id, version=input.version, fields=fields, path=INPUT
        ),
    )
    return UpdateQuickQuoteSuccess(quick_quote=from_row(QuickQuote, row))


@mutation
async def send_quick_quote(info: Info, input: SendQuickQuoteInput) -> SendQuickQuoteResult:
    """Record the recipients of the quote (delivery PENDING) and mark it SENT. Delivering
    the messages happens elsewhere and reports back through updateQuoteContactDelivery."""
    quote_id = decode_id(input.id, "QuickQuote", field=(*INPUT, "id"))
    contacts = [storage.ContactInput(name=c.name, phone=c.phone) for c in input.contacts]
    quote, added = await write(
        info,
        lambda session, actor: storage.send_quick_quote(
            session,
            actor,
            quote_id=quote_id,
            version=input.version,
            contacts=contacts,
            path=INPUT,
        ),
    )
    return SendQuickQuoteSuccess(
        quick_quote=from_row(QuickQuote, quote),
        added_contacts=[from_row(QuickQuoteContact, c) for c in added],
    )


@mutation
async def update_quote_contact_delivery(
    info: Info, input: UpdateQuoteContactDeliveryInput
) -> UpdateQuoteContactDeliveryResult:
    """Record a delivery receipt for one recipient; a repeated receipt changes nothing."""
    contact_id = decode_id(input.contact_id, "QuickQuoteContact", field=(*INPUT, "contactId"))
    row = await write(
        info,
        lambda session, actor: storage.record_delivery(
            session, actor, contact_id=contact_id, status=input.delivery_status, path=INPUT
        ),
    )
    return UpdateQuoteContactDeliverySuccess(contact=from_row(QuickQuoteContact, row))


@strawberry.type
class QuickQuoteQuery:
    quick_quote: QuickQuote | None = strawberry.field(
        resolver=quick_quote, extensions=requires("quote.read")
    )
    quick_quotes: Connection[QuickQuote] = strawberry.field(
        resolver=quick_quotes, extensions=requires("quote.read")
    )


@mutation
async def convert_quick_quote(info: Info, input: ConvertQuickQuoteInput) -> ConvertQuickQuoteResult:
    """Turn a draft or sent quote into a deal, atomically (see createDeal)."""
    quote_id = decode_id(input.id, "QuickQuote", field=(*INPUT, "id"))
    salesperson_id = salesperson_of(info, input.salesperson_id)
    customer_id = decode_optional_id(input.customer_id, "Customer", field=(*INPUT, "customerId"))
    new_customer = (
        None if input.customer is None else cast(CustomerFields, provided(input.customer))
    )

    async def work(session: AsyncSession, actor: Actor) -> ConvertQuickQuoteSuccess:
        quote, created = await storage.convert_quick_quote(
            session,
            actor,
            quote_id=quote_id,
            version=input.version,
            salesperson_id=salesperson_id,
            customer_id=customer_id,
            new_customer=new_customer,
            path=INPUT,
        )
        return ConvertQuickQuoteSuccess(
            quick_quote=from_row(QuickQuote, quote),
            deal=from_row(Deal, created.deal),
            customer_created=created.customer_created,
        )

    return await write(info, work, CREATE_DEAL_TX)


@mutation
async def delete_quick_quote(info: Info, input: DeleteQuickQuoteInput) -> DeleteQuickQuoteResult:
    """Delete a draft quote."""
    quote_id = decode_id(input.id, "QuickQuote", field=(*INPUT, "id"))
    await write(
        info,
        lambda session, actor: storage.delete_quick_quote(
            session, actor, quote_id=quote_id, version=input.version, path=INPUT
        ),
    )
    return DeleteQuickQuoteSuccess(deleted_quick_quote_id=input.id)


@strawberry.type
class QuickQuoteMutation:
    create_quick_quote: CreateQuickQuoteResult = strawberry.field(
        resolver=create_quick_quote, extensions=requires("quote.write")
    )
    update_quick_quote: UpdateQuickQuoteResult = strawberry.field(
        resolver=update_quick_quote, extensions=requires("quote.write")
    )
    send_quick_quote: SendQuickQuoteResult = strawberry.field(
        resolver=send_quick_quote, extensions=requires("quote.write")
    )
    update_quote_contact_delivery: UpdateQuoteContactDeliveryResult = strawberry.field(
        resolver=update_quote_contact_delivery, extensions=requires("quote.write")
    )
    delete_quick_quote: DeleteQuickQuoteResult = strawberry.field(
        resolver=delete_quick_quote, extensions=requires("quote.write")
    )
    convert_quick_quote: ConvertQuickQuoteResult = strawberry.field(
        resolver=convert_quick_quote, extensions=requires("deal.write")
    )
