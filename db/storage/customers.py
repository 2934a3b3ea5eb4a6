"""Customers: lookup, search, create, update, archive, duplicates, notes and history."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal, TypedDict

from sqlalchemy import ColumnElement, Select, Text, cast, func, literal, or_, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from db.errors import ValidationFailed
from db.models import Appointment, Customer, CustomerNote, Deal, QuickQuote, TradeVehicle
from db.storage import pagination
from db.storage.audit import Actor, delete_and_record, flush_and_record, snapshot
from db.storage.ownership import bump_version, check_version, load_owned
from db.storage.sql import like_pattern
from db.validation import (
    camel,
    normalize_phone,
    optional_email,
    optional_phone,
    optional_text,
    postal_code,
    require_text,
    required,
    state_code,
)

ENTITY = "Customer"


class CustomerFields(TypedDict, total=False):
    """What a client may set on a customer; absent keys are left as they are."""

    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    alternate_phone: str | None
    address_line1: str | None
    address_line2: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    source: str | None


class CustomerOrderField(StrEnum):
    LAST_NAME = "last_name"
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"


@dataclass(frozen=True)
class CustomerFilter:
    search: str | None = None  # partial match on name, e-mail or phone
    email: str | None = None
    phone: str | None = None
    include_archived: bool = False


_PHONES: tuple[Literal["phone", "alternate_phone"], ...] = ("phone", "alternate_phone")
_OPTIONAL_TEXT: tuple[Literal["address_line1", "address_line2", "city", "source"], ...] = (
    "address_line1",
    "address_line2",
    "city",
    "source",
)


def clean_fields(fields: CustomerFields, *, path: tuple[str, ...]) -> CustomerFields:
    """Validate and normalise what a client sent (names trimmed, e-mail normalised, phones
    in E.164, state and ZIP checked)."""
    clean: CustomerFields = {}
    if "first_name" in fields:
        clean["first_name"] = require_text(fields["first_name"], field=(*path, "firstName"))
    if "last_name" in fields:
        clean["last_name"] = require_text(fields["last_name"], field=(*path, "lastName"))
    if "email" in fields:
        clean["email"] = optional_email(fields["email"], field=(*path, "email"))
    for key in _PHONES:
        if key in fields:
            clean[key] = optional_phone(fields[key], field=(*path, camel(key)))
    for text_key in _OPTIONAL_TEXT:
        if text_key in fields:
            clean[text_key] = optional_text(fields[text_key], field=(*path, camel(text_key)))
    if "state" in fields:
        clean["state"] = state_code(fields["state"], field=(*path, "state"))
    if "postal_code" in fields:
        clean["postal_code"] = postal_code(fields["postal_code"], field=(*path, "postalCode"))
    return clean


def clean_new_customer(fields: CustomerFields, *, path: tuple[str, ...]) -> CustomerFields:
    """clean_fields for a customer about to be created: both names are required."""
    clean = clean_fields(fields, path=path)
    for key in ("first_name", "last_name"):
        if key not in clean:
            raise required((*path, camel(key)))
    return clean


def _filtered(filter: CustomerFilter) -> Select[Customer]:
    stmt = select(Customer)
    if not filter.include_archived:
        stmt = stmt.where(Customer.archived_at.is_(None))
    if filter.email:
        stmt = stmt.where(Customer.email_key == filter.email.strip().lower())
    if filter.phone:
        digits = re.sub(r"\D", "", filter.phone)
        stmt = stmt.where(Customer.phone.contains(digits[-10:]) if digits else literal(False))
    if filter.search and filter.search.strip():
        pattern = like_pattern(filter.search.strip())
        digits = re.sub(r"\D", "", filter.search)
        conditions: list[ColumnElement[bool]] = [
            Customer.first_name.ilike(pattern),
            Customer.last_name.ilike(pattern),
            (Customer.first_name + " " + Customer.last_name).ilike(pattern),
            Customer.email.ilike(pattern),
        ]
        if len(digits) >= 3:
            conditions.append(Customer.phone.contains(digits))
        stmt = stmt.where(or_(*conditions))
    return stmt


def _sort_keys(order: CustomerOrderField, descending: bool) -> list[pagination.SortKey]:
    columns: dict[CustomerOrderField, pagination.SortColumn] = {
        CustomerOrderField.LAST_NAME: Customer.last_name,
        CustomerOrderField.CREATED_AT: Customer.created_at,
        CustomerOrderField.UPDATED_AT: Customer.updated_at,
    }
    column = columns[order]
    keys = [pagination.SortKey(column, descending)]
    if order is CustomerOrderField.LAST_NAME:
        keys.append(pagination.SortKey(Customer.first_name, descending))
    keys.append(pagination.SortKey(Customer.id, descending))
    return keys


async def get_customer(session: AsyncSession, *, customer_id: int) -> Customer | None:
    return await session.scalar(select(Customer).where(Customer.id == customer_id))


async def list_customers(
    session: AsyncSession,
    *,
    filter: CustomerFilter,
    order: CustomerOrderField = CustomerOrderField.LAST_NAME,
    descending: bool = False,
    page: pagination.PageArgs,
) -> pagination.Page[Customer]:
    return await pagination.paginate(
        session, _filtered(filter), _sort_keys(order, descending), page
    )


async def count_customers(session: AsyncSession, *, filter: CustomerFilter) -> int:
    return await pagination.count(session, _filtered(filter))


async def find_duplicates(
    session: AsyncSession,
    *,
    email: str | None,
    phone: str | None,
    exclude_id: int | None = None,
) -> list[Customer]:
    """Customers sharing the e-mail (case-insensitive) or the phone, archived ones included."""
    conditions: list[ColumnElement[bool]] = []
    if email and email.strip():
        conditions.append(Customer.email_key == email.strip().lower())
    if phone and phone.strip():
        with contextlib.suppress(ValidationFailed):
            conditions.append(Customer.phone == normalize_phone(phone, field=("phone",)))
    if not conditions:
        return []
    stmt = select(Customer).where(or_(*conditions)).order_by(Customer.id).limit(50)
    if exclude_id is not None:
        stmt = stmt.where(Customer.id != exclude_id)
    return list((await session.scalars(stmt)).all())


async def create_customer(
    session: AsyncSession, actor: Actor, *, fields: CustomerFields, path: tuple[str, ...]
) -> Customer:
    clean = clean_new_customer(fields, path=path)
    customer = Customer(dealership_id=actor.dealership_id, **clean)
    session.add(customer)
    await flush_and_record(
        session, actor, customer, action="customer.create", entity_type=ENTITY, before=None
    )
    return customer


async def update_customer(
    session: AsyncSession,
    actor: Actor,
    *,
    customer_id: int,
    version: int,
    fields: CustomerFields,
    path: tuple[str, ...],
) -> Customer:
    clean = clean_fields(fields, path=path)
    customer = await load_owned(
        session, Customer, customer_id, entity=ENTITY, field=(*path, "id"), for_update=True
    )
    check_version(customer, version, entity=ENTITY)
    before = snapshot(customer)
    for key, value in clean.items():
        setattr(customer, key, value)
    if snapshot(customer) == before:
        return customer  # nothing changed: no new version, no audit row
    bump_version(customer)
    await flush_and_record(
        session, actor, customer, action="customer.update", entity_type=ENTITY, before=before
    )
    return customer


async def set_archived(
    session: AsyncSession,
    actor: Actor,
    *,
    customer_id: int,
    version: int,
    archived: bool,
    path: tuple[str, ...],
) -> Customer:
    customer = await load_owned(
        session, Customer, customer_id, entity=ENTITY, field=(*path, "id"), for_update=True
    )
    check_version(customer, version, entity=ENTITY)
    if (customer.archived_at is not None) == archived:
        return customer
    before = snapshot(customer)
    customer.archived_at = datetime.now(UTC) if archived else None
    bump_version(customer)
    await flush_and_record(
        session,
        actor,
        customer,
        action="customer.archive" if archived else "customer.restore",
        entity_type=ENTITY,
        before=before,
    )
    return customer


async def add_note(
    session: AsyncSession, actor: Actor, *, customer_id: int, body: str, path: tuple[str, ...]
) -> CustomerNote:
    text = require_text(body, field=(*path, "body"), max_length=5000)
    await load_owned(session, Customer, customer_id, entity=ENTITY, field=(*path, "customerId"))
    if actor.user_id is None:
        raise ValidationFailed("notes need an author", field=path, code="REQUIRED")
    note = CustomerNote(
        dealership_id=actor.dealership_id,
        customer_id=customer_id,
        author_id=actor.user_id,
        body=text,
    )
    session.add(note)
    await flush_and_record(
        session, actor, note, action="customer_note.create", entity_type="CustomerNote", before=None
    )
    return note


@dataclass(frozen=True)
class HistoryEntry:
    customer_id: int
    kind: str  # "deal" | "appointment" | "note" | "quote"
    entity_type: str
    entity_id: int
    occurred_at: datetime
    summary: str


def _text(column: ColumnElement[StrEnum] | QueryableAttribute[StrEnum]) -> ColumnElement[str]:
    # Enum-typed columns must become text before they are concatenated.
    return cast(column, Text)


async def histories(
    session: AsyncSession, *, customer_ids: Sequence[int], limit: int = 100
) -> list[list[HistoryEntry]]:
    """Each customer's deals, appointments, notes and quotes, newest first (one statement
    for all the customers)."""
    ids = list(customer_ids)
    parts = union_all(
        select(
            Deal.customer_id.label("customer_id"),
            literal("deal").label("kind"),
            literal("Deal").label("entity_type"),
            Deal.id.label("entity_id"),
            Deal.created_at.label("occurred_at"),
            ("Deal " + Deal.deal_number + " (" + _text(Deal.status) + ")").label("summary"),
        ).where(Deal.customer_id.in_(ids)),
        select(
            Appointment.customer_id,
            literal("appointment"),
            literal("Appointment"),
            Appointment.id,
            Appointment.starts_at,
            (_text(Appointment.type) + " appointment (" + _text(Appointment.status) + ")"),
        ).where(Appointment.customer_id.in_(ids)),
        select(
            CustomerNote.customer_id,
            literal("note"),
            literal("CustomerNote"),
            CustomerNote.id,
            CustomerNote.created_at,
            func.left(CustomerNote.body, 140),
        ).where(CustomerNote.customer_id.in_(ids)),
        select(
            QuickQuote.customer_id,
            literal("quote"),
            literal("QuickQuote"),
            QuickQuote.id,
            QuickQuote.created_at,
            ("Quick quote (" + _text(QuickQuote.status) + ")"),
        ).where(QuickQuote.customer_id.in_(ids)),
    ).subquery()
    ranked = select(
        parts,
        func.row_number()
        .over(
            partition_by=parts.c.customer_id,
            order_by=(parts.c.occurred_at.desc(), parts.c.entity_id.desc()),
        )
        .label("rank"),
    ).subquery()
    stmt = (
        select(ranked).where(ranked.c.rank <= limit).order_by(ranked.c.customer_id, ranked.c.rank)
    )
    grouped: dict[int, list[HistoryEntry]] = {i: [] for i in ids}
    for r in (await session.execute(stmt)).all():
        grouped[r.customer_id].append(
            HistoryEntry(
                r.customer_id, r.kind, r.entity_type, r.entity_id, r.occurred_at, r.summary
            )
        )
    return [grouped[i] for i in ids]


async def duplicates_of(
    session: AsyncSession, *, customer_ids: Sequence[int]
) -> list[list[Customer]]:
    """For each customer, the others sharing its e-mail (case-insensitive) or phone."""
    ids = list(customer_ids)
    me = select(Customer).where(Customer.id.in_(ids)).subquery()
    other = (
        select(Customer, me.c.id.label("of_id"))
        .join(
            me,
            or_(
                Customer.email_key == me.c.email_key,
                Customer.phone == me.c.phone,
            ),
        )
        .where(Customer.id != me.c.id)
        .order_by(me.c.id, Customer.id)
    )
    grouped: dict[int, list[Customer]] = {i: [] for i in ids}
    for customer, of_id in (await session.execute(other)).all():
        grouped[of_id].append(customer)
    return [grouped[i] for i in ids]


async def delete_customer(
    session: AsyncSession, actor: Actor, *, customer_id: int, version: int, path: tuple[str, ...]
) -> None:
    """Erase a customer who has no deals, appointments, quotes or trade-ins (their notes go
    with them); anyone with history is archived instead, so the history stays whole."""
    customer = await load_owned(
        session, Customer, customer_id, entity=ENTITY, field=(*path, "id"), for_update=True
    )
    check_version(customer, version, entity=ENTITY)
    uses = []
    for model, what in (
        (Deal, "deals"),
        (Appointment, "appointments"),
        (QuickQuote, "quick quotes"),
        (TradeVehicle, "trade-ins"),
    ):
        found = await session.scalar(
            select(model.__table__.c.id)
            .where(model.__table__.c.customer_id == customer_id)
            .limit(1)
        )
        if found is not None:
            uses.append(what)
    if uses:
        raise ValidationFailed(
            f"this customer has {', '.join(uses)}: archive them instead",
            field=(*path, "id"),
            code="CUSTOMER_HAS_HISTORY",
        )
    try:
        async with session.begin_nested():
            await delete_and_record(
                session, actor, customer, action="customer.delete", entity_type=ENTITY
            )
    except IntegrityError:
        # Records the caller may not see (a salesperson sees only their own deals) still
        # refer to the customer: the foreign keys refuse the delete.
        raise ValidationFailed(
            "this customer has history: archive them instead",
            field=(*path, "id"),
            code="CUSTOMER_HAS_HISTORY",
        ) from None


async def delete_note(
    session: AsyncSession, actor: Actor, *, note_id: int, path: tuple[str, ...]
) -> None:
    note = await load_owned(
        session,
        CustomerNote,
        note_id,
        entity="CustomerNote",
        field=(*path, "id"),
        for_update=True,
    )
    await delete_and_record(
        session, actor, note, action="customer_note.delete", entity_type="CustomerNote"
    )
