"""Quick quotes: a payment quote on a vehicle before a deal exists, who it was sent to,
and the delivery receipts of those messages.

The monthly payment always comes from db.desking.compute, with the dealership's active fee
templates of the quote's deal type as the fee lines. Sending only records the recipients;
delivering the messages is not this module's business.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Literal, TypedDict

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from db import desking
from db.errors import ValidationFailed
from db.models import (
    Customer,
    DealershipSettings,
    QuickQuote,
    QuickQuoteContact,
    TaxJurisdiction,
    Vehicle,
)
from db.models.enums import DealType, DeliveryStatus, QuickQuoteStatus, VehicleStatus
from db.storage import pagination
from db.storage.audit import Actor, delete_and_record, flush_and_record, record_row, snapshot
from db.storage.customers import CustomerFields
from db.storage.deal_creation import CreatedDeal, create_deal, validate_request
from db.storage.fees import default_fees
from db.storage.ownership import bump_version, check_version, load_owned, require_owned
from db.storage.scenarios import ScenarioFields
from db.storage.taxes import default_jurisdiction
from db.validation import (
    ZERO,
    DecimalRange,
    camel,
    int_in_range,
    nonnegative_money,
    normalize_phone,
    not_null,
    optional_text,
    positive_money,
    require_text,
    required,
)

ENTITY = "QuickQuote"
CONTACT_ENTITY = "QuickQuoteContact"

VALID_FOR = timedelta(days=7)
MAX_CONTACTS = 10
MAX_NAME = 100
EDITABLE = frozenset({QuickQuoteStatus.DRAFT, QuickQuoteStatus.SENT})
UNQUOTABLE_VEHICLES = frozenset({VehicleStatus.SOLD, VehicleStatus.WHOLESALE})

# Delivery receipts move a contact forward only. A receipt may skip SENT (delivered
# implies sent); a repeated receipt changes nothing.
DELIVERY_TRANSITIONS: dict[DeliveryStatus, frozenset[DeliveryStatus]] = {
    DeliveryStatus.PENDING: frozenset(
        {DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.FAILED}
    ),
    DeliveryStatus.SENT: frozenset({DeliveryStatus.DELIVERED, DeliveryStatus.FAILED}),
}

MoneyKey = Literal["vehicle_price", "down_payment", "trade_allowance", "trade_payoff"]
TermKey = Literal["apr", "money_factor", "term_months", "residual_percent"]
_MONEY: tuple[MoneyKey, ...] = ("vehicle_price", "down_payment", "trade_allowance", "trade_payoff")
_TERMS: tuple[TermKey, ...] = ("apr", "money_factor", "term_months", "residual_percent")
_TERMS_OF: dict[DealType, frozenset[TermKey]] = {
    DealType.CASH: frozenset(),
    DealType.FINANCE: frozenset({"apr", "term_months"}),
    DealType.LEASE: frozenset({"money_factor", "term_months", "residual_percent"}),
}
_TERM_MONTHS: dict[DealType, tuple[int, int]] = {
    DealType.FINANCE: (6, 96),
    DealType.LEASE: (12, 72),
}


# Bounds that catch typing errors (7.25 typed as 725) and the columns' scale.
_RATES: dict[Literal["apr", "money_factor", "residual_percent", "tax_rate"], DecimalRange] = {
    "apr": DecimalRange(ZERO, Decimal(30), "apr", places=4, high_inclusive=True),
    "money_factor": DecimalRange(
        ZERO, Decimal("0.01"), "moneyFactor", places=7, high_inclusive=True
    ),
    "residual_percent": DecimalRange(
        ZERO,
        Decimal(100),
        "residualPercent",
        places=4,
        low_inclusive=False,
        high_inclusive=True,
    ),
    "tax_rate": DecimalRange(ZERO, Decimal(25), "taxRate", places=4, high_inclusive=True),
}


class QuoteFields(TypedDict, total=False):
    """What a client may set on a quote. On update, absent keys are left as they are; a
    null vehiclePrice, taxRate, apr or termMonths goes back to its default."""

    vehicle_id: int | None
    customer_id: int | None
    customer_first_name: str | None
    customer_last_name: str | None
    deal_type: DealType | None
    vehicle_price: Decimal | None
    down_payment: Decimal | None
    trade_allowance: Decimal | None
    trade_payoff: Decimal | None
    apr: Decimal | None
    money_factor: Decimal | None
    term_months: int | None
    residual_percent: Decimal | None
    tax_rate: Decimal | None


class QuickQuoteOrderField(StrEnum):
    CREATED_AT = "created_at"
    MONTHLY_PAYMENT = "monthly_payment"


@dataclass(frozen=True)
class QuickQuoteFilter:
    statuses: tuple[QuickQuoteStatus, ...] = ()
    customer_id: int | None = None
    vehicle_id: int | None = None
    created_by_id: int | None = None


@dataclass(frozen=True)
class ContactInput:
    name: str
    phone: str


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def clean_fields(fields: QuoteFields, *, path: tuple[str, ...]) -> QuoteFields:
    """Check each value on its own (ranges, precision, lengths); rules that depend on the
    deal type or on other values are checked once the quote is assembled."""
    clean: QuoteFields = {}
    if "vehicle_id" in fields:
        clean["vehicle_id"] = not_null(fields["vehicle_id"], field=(*path, "vehicleId"))
    if "deal_type" in fields:
        clean["deal_type"] = not_null(fields["deal_type"], field=(*path, "dealType"))
    if "customer_id" in fields:
        clean["customer_id"] = fields["customer_id"]
    if "customer_first_name" in fields:
        clean["customer_first_name"] = optional_text(
            fields["customer_first_name"], field=(*path, "customerFirstName"), max_length=MAX_NAME
        )
    if "customer_last_name" in fields:
        clean["customer_last_name"] = optional_text(
            fields["customer_last_name"], field=(*path, "customerLastName"), max_length=MAX_NAME
        )
    for key in _MONEY:
        if key not in fields:
            continue
        amount, field = fields[key], (*path, camel(key))
        if key == "vehicle_price":  # null price: back to the vehicle's list price
            clean[key] = None if amount is None else positive_money(amount, field=field)
        else:
            clean[key] = nonnegative_money(not_null(amount, field=field), field=field)
    for rate_key, rule in _RATES.items():
        if rate_key in fields:
            rate_value = fields[rate_key]
            field = (*path, camel(rate_key))
            clean[rate_key] = None if rate_value is None else rule.check(rate_value, field=field)
    if "term_months" in fields:
        clean["term_months"] = fields["term_months"]
    return clean


async def _settings(session: AsyncSession) -> DealershipSettings:
    settings: DealershipSettings | None = await session.scalar(select(DealershipSettings))
    assert settings is not None, "every dealership has a settings row"
    return settings


async def _vehicle(
    session: AsyncSession, vehicle_id: int, *, field: tuple[str, ...], check_status: bool
) -> Vehicle:
    vehicle = await load_owned(session, Vehicle, vehicle_id, entity="Vehicle", field=field)
    if check_status and vehicle.status in UNQUOTABLE_VEHICLES:
        raise ValidationFailed(
            f"vehicle {vehicle.stock_number} is {vehicle.status.name} and cannot be quoted",
            field=field,
            code="VEHICLE_UNAVAILABLE",
        )
    return vehicle


def _apply_terms(
    quote: QuickQuote,
    clean: QuoteFields,
    settings: DealershipSettings,
    *,
    path: tuple[str, ...],
) -> None:
    """Set the financing terms the quote's deal type uses and clear the others. Finance
    falls back to the dealership's default APR and term; a lease needs all three terms."""
    deal_type = quote.deal_type
    applicable = _TERMS_OF[deal_type]
    for key in _TERMS:
        name = camel(key)
        if key in applicable:
            if key in clean:
                setattr(quote, key, clean[key])
        elif clean.get(key) is not None:
            raise ValidationFailed(
                f"{name} does not apply to a {deal_type.name} quote",
                field=(*path, name),
                code="NOT_APPLICABLE",
            )
        else:
            setattr(quote, key, None)
    if deal_type is DealType.FINANCE:
        if quote.apr is None:
            quote.apr = settings.default_apr
        if quote.term_months is None:
            quote.term_months = settings.default_term_months
    for key in sorted(applicable):
        if getattr(quote, key) is None:
            raise ValidationFailed(
                f"a {deal_type.name} quote needs {camel(key)}",
                field=(*path, camel(key)),
                code="REQUIRED",
            )
    if deal_type in _TERM_MONTHS:
        low, high = _TERM_MONTHS[deal_type]
        assert quote.term_months is not None
        int_in_range(
            quote.term_months,
            field=(*path, "termMonths"),
            low=low,
            high=high,
            what=f"a {deal_type.name} term in months",
        )


def _check_amounts(quote: QuickQuote, *, path: tuple[str, ...]) -> None:
    if quote.down_payment > quote.vehicle_price:
        raise ValidationFailed(
            "the down payment cannot exceed the vehicle price",
            field=(*path, "downPayment"),
            code="DOWN_PAYMENT_TOO_LARGE",
        )


async def _price(
    session: AsyncSession,
    quote: QuickQuote,
    vehicle: Vehicle,
    jurisdiction: TaxJurisdiction | None,
) -> None:
    """Fees and monthly payment from db.desking, with the active fee templates of the
    deal type; a lease's residual is taken on the MSRP when the vehicle has one."""
    figures = desking.compute(
        desking.ScenarioTerms(
            type=quote.deal_type,
            vehicle_price=quote.vehicle_price,
            down_payment=quote.down_payment,
            trade_allowance=quote.trade_allowance,
            trade_payoff=quote.trade_payoff,
            apr=quote.apr,
            money_factor=quote.money_factor,
            term_months=quote.term_months,
            residual_percent=quote.residual_percent,
            msrp=vehicle.msrp,
            tax_rate=quote.tax_rate,
            trade_in_credit=jurisdiction.trade_in_credit if jurisdiction is not None else True,
            fees=await default_fees(session, quote.deal_type),
        )
    )
    quote.fees_total = figures.fees_total
    quote.monthly_payment = figures.monthly_payment


async def create_quick_quote(
    session: AsyncSession,
    actor: Actor,
    *,
    fields: QuoteFields,
    path: tuple[str, ...],
    now: datetime | None = None,
) -> QuickQuote:
    clean = clean_fields(fields, path=path)
    vehicle_id = clean.get("vehicle_id")
    deal_type = clean.get("deal_type")
    if vehicle_id is None:
        raise required((*path, "vehicleId"))
    if deal_type is None:
        raise required((*path, "dealType"))
    if actor.user_id is None:
        raise ValidationFailed("quotes need an author", field=path, code="REQUIRED")
    vehicle = await _vehicle(session, vehicle_id, field=(*path, "vehicleId"), check_status=True)
    customer_id = clean.get("customer_id")
    if customer_id is not None:
        await require_owned(
            session, Customer, customer_id, entity="Customer", field=(*path, "customerId")
        )
    settings = await _settings(session)
    jurisdiction = await default_jurisdiction(session, settings)
    tax_rate = clean.get("tax_rate")
    quote = QuickQuote(
        dealership_id=actor.dealership_id,
        vehicle_id=vehicle.id,
        customer_id=customer_id,
        created_by_id=actor.user_id,
        status=QuickQuoteStatus.DRAFT,
        deal_type=deal_type,
        customer_first_name=clean.get("customer_first_name"),
        customer_last_name=clean.get("customer_last_name"),
        vehicle_price=clean.get("vehicle_price") or vehicle.list_price,
        down_payment=clean.get("down_payment") or desking.ZERO,
        trade_allowance=clean.get("trade_allowance") or desking.ZERO,
        trade_payoff=clean.get("trade_payoff") or desking.ZERO,
        tax_rate=tax_rate
        if tax_rate is not None
        else (jurisdiction.rate if jurisdiction is not None else desking.ZERO),
        expires_at=_now(now) + VALID_FOR,
    )
    _apply_terms(quote, clean, settings, path=path)
    _check_amounts(quote, path=path)
    await _price(session, quote, vehicle, jurisdiction)
    session.add(quote)
    await flush_and_record(
        session, actor, quote, action="quick_quote.create", entity_type=ENTITY, before=None
    )
    return quote


async def update_quick_quote(
    session: AsyncSession,
    actor: Actor,
    *,
    quote_id: int,
    version: int,
    fields: QuoteFields,
    path: tuple[str, ...],
    now: datetime | None = None,
) -> QuickQuote:
    """Change a draft or sent quote and price it again. A changed quote is valid for
    another seven days; changing the deal type starts its financing terms afresh."""
    clean = clean_fields(fields, path=path)
    quote = await load_owned(
        session, QuickQuote, quote_id, entity=ENTITY, field=(*path, "id"), for_update=True
    )
    check_version(quote, version, entity=ENTITY)
    if quote.status not in EDITABLE:
        raise ValidationFailed(
            f"a {quote.status.name} quote can no longer be changed",
            field=(*path, "id"),
            code="QUOTE_NOT_EDITABLE",
        )
    before = snapshot(quote)
    new_vehicle = clean.get("vehicle_id")
    if new_vehicle is not None and new_vehicle != quote.vehicle_id:
        vehicle = await _vehicle(
            session, new_vehicle, field=(*path, "vehicleId"), check_status=True
        )
        quote.vehicle_id = vehicle.id
        if "vehicle_price" not in clean:
            quote.vehicle_price = vehicle.list_price
    else:
        vehicle = await _vehicle(session, quote.vehicle_id, field=(*path, "id"), check_status=False)
    if "customer_id" in clean:
        customer_id = clean["customer_id"]
        if customer_id is not None and customer_id != quote.customer_id:
            await require_owned(
                session, Customer, customer_id, entity="Customer", field=(*path, "customerId")
            )
        quote.customer_id = customer_id
    if "customer_first_name" in clean:
        quote.customer_first_name = clean["customer_first_name"]
    if "customer_last_name" in clean:
        quote.customer_last_name = clean["customer_last_name"]
    if "vehicle_price" in clean:
        quote.vehicle_price = clean["vehicle_price"] or vehicle.list_price
    amounts: tuple[MoneyKey, ...] = ("down_payment", "trade_allowance", "trade_payoff")
    for key in amounts:
        amount = clean.get(key)
        if amount is not None:  # clean_fields refuses an explicit null for these
            setattr(quote, key, amount)
    settings = await _settings(session)
    jurisdiction = await default_jurisdiction(session, settings)
    if "tax_rate" in clean:
        tax_rate = clean["tax_rate"]
        quote.tax_rate = (
            tax_rate
            if tax_rate is not None
            else (jurisdiction.rate if jurisdiction is not None else desking.ZERO)
        )
    new_type = clean.get("deal_type")
    if new_type is not None and new_type is not quote.deal_type:
        quote.deal_type = new_type
        for term in _TERMS:
            if term not in clean:
                setattr(quote, term, None)
    _apply_terms(quote, clean, settings, path=path)
    _check_amounts(quote, path=path)
    await _price(session, quote, vehicle, jurisdiction)
    if snapshot(quote) == before:
        return quote  # nothing changed: no new version, no audit row
    quote.expires_at = _now(now) + VALID_FOR
    bump_version(quote)
    await flush_and_record(
        session, actor, quote, action="quick_quote.update", entity_type=ENTITY, before=before
    )
    return quote


def clean_contacts(
    contacts: Sequence[ContactInput], *, path: tuple[str, ...]
) -> list[ContactInput]:
    """Names trimmed, phones in E.164; 1 to 10 recipients, each phone once."""
    field = (*path, "contacts")
    if not contacts:
        raise ValidationFailed(
            "send the quote to at least one contact", field=field, code="REQUIRED"
        )
    if len(contacts) > MAX_CONTACTS:
        raise ValidationFailed(
            f"at most {MAX_CONTACTS} contacts at a time", field=field, code="TOO_MANY_CONTACTS"
        )
    clean: list[ContactInput] = []
    seen: set[str] = set()
    for i, contact in enumerate(contacts):
        name = require_text(contact.name, field=(*field, str(i), "name"), max_length=MAX_NAME)
        phone_field = (*field, str(i), "phone")
        phone = normalize_phone(contact.phone, field=phone_field)
        if phone in seen:
            raise ValidationFailed(
                f"{phone} is listed twice", field=phone_field, code="DUPLICATE_PHONE"
            )
        seen.add(phone)
        clean.append(ContactInput(name=name, phone=phone))
    return clean


async def send_quick_quote(
    session: AsyncSession,
    actor: Actor,
    *,
    quote_id: int,
    version: int,
    contacts: Sequence[ContactInput],
    path: tuple[str, ...],
    now: datetime | None = None,
) -> tuple[QuickQuote, list[QuickQuoteContact]]:
    """Record the recipients (delivery PENDING) and mark the quote SENT. A sent quote can
    be sent again, to more recipients; an expired one must be updated (re-priced) first."""
    moment = _now(now)
    recipients = clean_contacts(contacts, path=path)
    quote = await load_owned(
        session, QuickQuote, quote_id, entity=ENTITY, field=(*path, "id"), for_update=True
    )
    check_version(quote, version, entity=ENTITY)
    if quote.status not in EDITABLE:
        raise ValidationFailed(
            f"a quote that is {quote.status.name} cannot become {QuickQuoteStatus.SENT.name}",
            field=(*path, "id"),
            code="ILLEGAL_STATUS_TRANSITION",
        )
    if quote.expires_at is not None and quote.expires_at <= moment:
        raise ValidationFailed(
            "the quote has expired: update it to price it again, then send it",
            field=(*path, "id"),
            code="QUOTE_EXPIRED",
        )
    before = snapshot(quote)
    quote.status = QuickQuoteStatus.SENT
    quote.sent_at = moment
    bump_version(quote)
    rows = [
        QuickQuoteContact(
            dealership_id=actor.dealership_id,
            quick_quote_id=quote.id,
            name=recipient.name,
            phone=recipient.phone,
            delivery_status=DeliveryStatus.PENDING,
        )
        for recipient in recipients
    ]
    session.add_all(rows)
    await flush_and_record(
        session, actor, quote, action="quick_quote.send", entity_type=ENTITY, before=before
    )
    for row in rows:
        await record_row(
            session,
            actor,
            row,
            action="quick_quote_contact.create",
            entity_type=CONTACT_ENTITY,
            before=None,
        )
    return quote, rows


async def record_delivery(
    session: AsyncSession,
    actor: Actor,
    *,
    contact_id: int,
    status: DeliveryStatus,
    path: tuple[str, ...],
    now: datetime | None = None,
) -> QuickQuoteContact:
    """A delivery receipt for one recipient: PENDING -> SENT -> DELIVERED or FAILED."""
    moment = _now(now)
    contact = await load_owned(
        session,
        QuickQuoteContact,
        contact_id,
        entity=CONTACT_ENTITY,
        field=(*path, "contactId"),
        for_update=True,
    )
    current = contact.delivery_status
    if status is current:
        return contact  # a repeated receipt
    if status not in DELIVERY_TRANSITIONS.get(current, frozenset()):
        raise ValidationFailed(
            f"a message that is {current.name} cannot become {status.name}",
            field=(*path, "deliveryStatus"),
            code="ILLEGAL_STATUS_TRANSITION",
        )
    before = snapshot(contact)
    contact.delivery_status = status
    if status in (DeliveryStatus.SENT, DeliveryStatus.DELIVERED) and contact.sent_at is None:
        contact.sent_at = moment
    if status is DeliveryStatus.DELIVERED:
        contact.delivered_at = moment
    await flush_and_record(
        session,
        actor,
        contact,
        action="quick_quote_contact.delivery",
        entity_type=CONTACT_ENTITY,
        before=before,
    )
    return contact


def _filtered(filter: QuickQuoteFilter) -> Select[QuickQuote]:
    conditions: list[ColumnElement[bool]] = []
    if filter.statuses:
        conditions.append(QuickQuote.status.in_(filter.statuses))
    if filter.customer_id is not None:
        conditions.append(QuickQuote.customer_id == filter.customer_id)
    if filter.vehicle_id is not None:
        conditions.append(QuickQuote.vehicle_id == filter.vehicle_id)
    if filter.created_by_id is not None:
        conditions.append(QuickQuote.created_by_id == filter.created_by_id)
    return select(QuickQuote).where(*conditions)


def _sort_keys(order: QuickQuoteOrderField, descending: bool) -> list[pagination.SortKey]:
    columns: dict[QuickQuoteOrderField, pagination.SortColumn] = {
        QuickQuoteOrderField.CREATED_AT: QuickQuote.created_at,
        QuickQuoteOrderField.MONTHLY_PAYMENT: QuickQuote.monthly_payment,
    }
    return [
        pagination.SortKey(columns[order], descending),
        pagination.SortKey(QuickQuote.id, descending),
    ]


async def list_quick_quotes(
    session: AsyncSession,
    *,
    filter: QuickQuoteFilter,
    order: QuickQuoteOrderField = QuickQuoteOrderField.CREATED_AT,
    descending: bool = True,
    page: pagination.PageArgs,
) -> pagination.Page[QuickQuote]:
    return await pagination.paginate(
        session, _filtered(filter), _sort_keys(order, descending), page
    )


async def count_quick_quotes(session: AsyncSession, *, filter: QuickQuoteFilter) -> int:
    return await pagination.count(session, _filtered(filter))


async def convert_quick_quote(
    session: AsyncSession,
    actor: Actor,
    *,
    quote_id: int,
    version: int,
    salesperson_id: int,
    customer_id: int | None,
    new_customer: CustomerFields | None,
    path: tuple[str, ...],
    now: datetime | None = None,
) -> tuple[QuickQuote, CreatedDeal]:
    """Turn a draft or sent quote into a deal (through createDeal, in this transaction):
    the quote's vehicle, its terms as the first scenario, and its customer - or the one given,
    which a walk-in quote without a customer record needs."""
    quote = await load_owned(
        session, QuickQuote, quote_id, entity=ENTITY, field=(*path, "id"), for_update=True
    )
    check_version(quote, version, entity=ENTITY)
    if quote.status not in EDITABLE:
        raise ValidationFailed(
            f"a {quote.status.name} quote cannot be converted",
            field=(*path, "id"),
            code="QUOTE_NOT_CONVERTIBLE",
        )
    moment = _now(now)
    if quote.expires_at is not None and quote.expires_at <= moment:
        raise ValidationFailed(
            "the quote has expired: update it to price it again, then convert it",
            field=(*path, "id"),
            code="QUOTE_EXPIRED",
        )
    if customer_id is None and new_customer is None:
        if quote.customer_id is None:
            raise ValidationFailed(
                "this quote has no customer record: give customerId or customer",
                field=(*path, "customerId"),
                code="CUSTOMER_REQUIRED",
            )
        customer_id = quote.customer_id
    scenario: ScenarioFields = {
        "name": "From quick quote",
        "type": quote.deal_type,
        "vehicle_price": quote.vehicle_price,
        "down_payment": quote.down_payment,
        "trade_allowance": quote.trade_allowance,
        "trade_payoff": quote.trade_payoff,
        "apr": quote.apr,
        "money_factor": quote.money_factor,
        "residual_percent": quote.residual_percent,
        "term_months": quote.term_months,
        "tax_rate": quote.tax_rate,
    }
    request = validate_request(
        vehicle_id=quote.vehicle_id,
        salesperson_id=salesperson_id,
        customer_id=customer_id,
        new_customer=new_customer,
        scenario=scenario,
        notes=None,
    )
    created = await create_deal(session, actor, request, now=moment)
    before = snapshot(quote)
    quote.status = QuickQuoteStatus.CONVERTED
    quote.converted_deal_id = created.deal.id
    quote.converted_at = moment
    if quote.customer_id is None:
        quote.customer_id = created.deal.customer_id
    bump_version(quote)
    await flush_and_record(
        session, actor, quote, action="quick_quote.convert", entity_type=ENTITY, before=before
    )
    return quote, created


async def delete_quick_quote(
    session: AsyncSession, actor: Actor, *, quote_id: int, version: int, path: tuple[str, ...]
) -> None:
    """Delete a draft (its recipients go with it). Sent quotes stay: a customer has them."""
    quote = await load_owned(
        session, QuickQuote, quote_id, entity=ENTITY, field=(*path, "id"), for_update=True
    )
    check_version(quote, version, entity=ENTITY)
    if quote.status is not QuickQuoteStatus.DRAFT:
        raise ValidationFailed(
            f"only draft quotes can be deleted; this one is {quote.status.name}",
            field=(*path, "id"),
            code="QUOTE_NOT_DELETABLE",
        )
    await delete_and_record(session, actor, quote, action="quick_quote.delete", entity_type=ENTITY)
