"""Quick quotes through the real app: pricing through db.desking with the dealership's
fees and tax, updates with optimistic locking, sending to contacts, delivery receipts,
lists, tenancy and the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from starlette.applications import Starlette

from db import desking
from db.models.enums import DealType, Role
from schema.relay import to_global_id
from tests.conftest import GraphQLClient
from tests.factories import Factory, Tenant
from tests.helpers import count_statements, pk, rows, scalar

QUOTE = """id status dealType customerFirstName customerLastName vehiclePrice downPayment
           tradeAllowance tradePayoff apr moneyFactor termMonths residualPercent taxRate
           feesTotal monthlyPayment expiresAt isExpired sentAt convertedAt convertedDeal { id }
           version createdAt vehicle { id listPrice } customer { id } createdBy { id }
           contacts { id name phone deliveryStatus sentAt deliveredAt }"""

CREATE = f"""
mutation($input: CreateQuickQuoteInput!) {{
  createQuickQuote(input: $input) {{
    __typename
    ... on CreateQuickQuoteSuccess {{ quickQuote {{ {QUOTE} }} }}
    ... on Error {{ message code field }}
  }}
}}"""

UPDATE = f"""
mutation($input: UpdateQuickQuoteInput!) {{
  updateQuickQuote(input: $input) {{
    __typename
    ... on UpdateQuickQuoteSuccess {{ quickQuote {{ {QUOTE} }} }}
    ... on VersionConflictError {{ currentVersion }}
    ... on Error {{ message code field }}
  }}
}}"""

SEND = f"""
mutation($input: SendQuickQuoteInput!) {{
  sendQuickQuote(input: $input) {{
    __typename
    ... on SendQuickQuoteSuccess {{ quickQuote {{ {QUOTE} }} addedContacts {{ id name phone }} }}
    ... on VersionConflictError {{ currentVersion }}
    ... on Error {{ message code field }}
  }}
}}"""

DELIVERY = """
mutation($input: UpdateQuoteContactDeliveryInput!) {
  updateQuoteContactDelivery(input: $input) {
    __typename
    ... on UpdateQuoteContactDeliverySuccess {
      contact { id deliveryStatus sentAt deliveredAt quickQuote { id } } }
    ... on Error { message code field }
  }
}"""

LIST_PRICE = Decimal("21995.00")
MSRP = Decimal("23500.00")


@dataclass
class Shop:
    """A tenant with a vehicle, a customer, fee templates and a default tax rate of 7.25."""

    tenant: Tenant
    vehicle: int
    customer: int
    fees: dict[DealType, tuple[desking.FeeLine, ...]]

    @property
    def token(self) -> str:
        return self.tenant.token

    @property
    def vehicle_id(self) -> str:
        return to_global_id("Vehicle", self.vehicle)


async def shop(factory: Factory, *, tax: Decimal | None = Decimal("7.25")) -> Shop:
    tenant = await factory.tenant()
    vehicle = await factory.vehicle(tenant, list_price=LIST_PRICE, msrp=MSRP)
    customer = await factory.customer(tenant)
    lines = {
        DealType.FINANCE: (
            desking.FeeLine("Documentation fee", "doc", Decimal("499.00"), True),
            desking.FeeLine("Title fee", "title", Decimal("77.00"), False),
        ),
        DealType.LEASE: (desking.FeeLine("Acquisition fee", "other", Decimal("895.00"), True),),
        DealType.CASH: (desking.FeeLine("Documentation fee", "doc", Decimal("499.00"), True),),
    }
    for deal_type, fee_lines in lines.items():
        for line in fee_lines:
            await factory.fee_template(
                tenant,
                deal_type=deal_type.value,
                amount=line.amount,
                name=line.name,
                kind=line.kind,
                taxable=line.taxable,
            )
    # Neither an inactive template nor another deal type's fees apply.
    await factory.fee_template(
        tenant, deal_type="finance", amount=Decimal("1000.00"), kind="other", is_active=False
    )
    if tax is not None:
        await factory.tax_jurisdiction(tenant, rate=tax)
    return Shop(tenant, vehicle, customer, lines)


def payment(s: Shop, deal_type: DealType, **terms: Any) -> Decimal:
    """What db.desking says the monthly payment is."""
    values: dict[str, Any] = {
        "vehicle_price": LIST_PRICE,
        "tax_rate": Decimal("7.25"),
        "fees": s.fees[deal_type],
        **terms,
    }
    return desking.compute(desking.ScenarioTerms(type=deal_type, **values)).monthly_payment


async def create(client: GraphQLClient, s: Shop, **values: object) -> dict[str, Any]:
    payload: dict[str, object] = {"vehicleId": s.vehicle_id, "dealType": "FINANCE", **values}
    data = await client.data(CREATE, {"input": payload}, token=s.token)
    result = data["createQuickQuote"]
    assert isinstance(result, dict)
    return result


async def created(client: GraphQLClient, s: Shop, **values: object) -> dict[str, Any]:
    result = await create(client, s, **values)
    assert result["__typename"] == "CreateQuickQuoteSuccess", result
    quote = result["quickQuote"]
    assert isinstance(quote, dict)
    return quote


async def mutate(
    client: GraphQLClient, query: str, name: str, token: str, **input: object
) -> dict[str, Any]:
    data = await client.data(query, {"input": input}, token=token)
    result = data[name]
    assert isinstance(result, dict)
    return result


async def audit(engine: AsyncEngine, tenant: Tenant) -> list[object]:
    found = await rows(
        engine,
        tenant.dealership_id,
        "SELECT action FROM audit_logs WHERE entity_type LIKE 'QuickQuote%' ORDER BY id",
    )
    return [r["action"] for r in found]


async def quote_count(engine: AsyncEngine, tenant: Tenant) -> object:
    return await scalar(engine, tenant.dealership_id, "SELECT count(*) FROM quick_quotes")


async def execute_sql(factory: Factory, tenant: Tenant, sql: str, **params: object) -> None:
    async def work(session: AsyncSession) -> None:
        await session.execute(text(sql), params)

    await factory.run(tenant.dealership_id, work)


# --- create -------------------------------------------------------------------------------


async def test_create_finance_with_the_dealerships_defaults(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    s = await shop(factory)
    before = datetime.now(UTC)
    quote = await created(client, s, downPayment="2000.00", customerFirstName=" Walk ")
    assert quote["status"] == "DRAFT"
    assert quote["dealType"] == "FINANCE"
    assert quote["vehiclePrice"] == "21995.00"
    assert quote["downPayment"] == "2000.00"
    assert quote["tradeAllowance"] == "0.00"
    assert Decimal(quote["apr"]) == Decimal("6.99")
    assert quote["termMonths"] == 72
    assert quote["moneyFactor"] is None
    assert quote["residualPercent"] is None
    assert Decimal(quote["taxRate"]) == Decimal("7.25")
    assert quote["feesTotal"] == "576.00"
    expected = payment(
        s, DealType.FINANCE, down_payment=Decimal(2000), apr=Decimal("6.99"), term_months=72
    )
    assert Decimal(quote["monthlyPayment"]) == expected
    assert quote["customerFirstName"] == "Walk"
    assert quote["customer"] is None
    assert quote["createdBy"]["id"] == to_global_id("User", s.tenant.users[Role.SALES_MANAGER])
    assert quote["vehicle"] == {"id": s.vehicle_id, "listPrice": "21995.00"}
    assert quote["version"] == 1
    assert quote["contacts"] == []
    assert quote["sentAt"] is None
    assert quote["convertedDeal"] is None
    assert quote["isExpired"] is False
    expires = datetime.fromisoformat(quote["expiresAt"])
    assert before + timedelta(days=7) <= expires <= datetime.now(UTC) + timedelta(days=7)
    logged = await rows(
        engine,
        s.tenant.dealership_id,
        "SELECT action, entity_type, entity_id, user_id, changes FROM audit_logs",
    )
    assert [(a["action"], a["entity_type"]) for a in logged] == [
        ("quick_quote.create", "QuickQuote")
    ]
    assert logged[0]["entity_id"] == pk(quote["id"])
    assert logged[0]["changes"]["monthly_payment"]["after"] == str(expected)


async def test_a_known_payment(client: GraphQLClient, factory: Factory) -> None:
    """12,000 over 60 months at 0% with no tax and no fees is 200.00 a month."""
    tenant = await factory.tenant()
    vehicle = await factory.vehicle(tenant, list_price=Decimal("12000.00"))
    s = Shop(tenant, vehicle, await factory.customer(tenant), {})
    quote = await created(client, s, apr="0", termMonths=60)
    assert quote["monthlyPayment"] == "200.00"
    assert quote["taxRate"] == "0.0000"  # no default tax jurisdiction
    assert quote["feesTotal"] == "0.00"


async def test_create_lease_takes_the_residual_on_msrp(
    client: GraphQLClient, factory: Factory
) -> None:
    s = await shop(factory)
    quote = await created(
        client,
        s,
        dealType="LEASE",
        vehiclePrice="22500.00",
        downPayment="1500",
        tradeAllowance="3000.00",
        tradePayoff="1000.00",
        moneyFactor="0.00250",
        residualPercent="58",
        termMonths=36,
        customerId=to_global_id("Customer", s.customer),
    )
    expected = payment(
        s,
        DealType.LEASE,
        vehicle_price=Decimal("22500.00"),
        down_payment=Decimal(1500),
        trade_allowance=Decimal(3000),
        trade_payoff=Decimal(1000),
        money_factor=Decimal("0.0025"),
        residual_percent=Decimal(58),
        term_months=36,
        msrp=MSRP,
    )
    assert Decimal(quote["monthlyPayment"]) == expected
    assert quote["feesTotal"] == "895.00"
    assert quote["apr"] is None
    assert Decimal(quote["moneyFactor"]) == Decimal("0.0025")
    assert quote["customer"] == {"id": to_global_id("Customer", s.customer)}


async def test_create_cash_has_no_monthly_payment(client: GraphQLClient, factory: Factory) -> None:
    s = await shop(factory, tax=None)
    await factory.tax_jurisdiction(s.tenant, rate=Decimal("6.5"), default=False)
    quote = await created(client, s, dealType="CASH", taxRate="5.75")
    assert quote["monthlyPayment"] == "0.00"
    assert quote["termMonths"] is None
    assert quote["apr"] is None
    assert quote["feesTotal"] == "499.00"
    assert Decimal(quote["taxRate"]) == Decimal("5.75")


async def test_a_jurisdiction_without_trade_in_credit_taxes_the_full_price(
    client: GraphQLClient, factory: Factory
) -> None:
    s = await shop(factory, tax=None)
    await factory.tax_jurisdiction(s.tenant, rate=Decimal("7.25"), trade_in_credit=False)
    quote = await created(client, s, tradeAllowance="5000.00", apr="4.9", termMonths=60)
    without_credit = payment(
        s,
        DealType.FINANCE,
        trade_allowance=Decimal(5000),
        apr=Decimal("4.9"),
        term_months=60,
        trade_in_credit=False,
    )
    with_credit = payment(
        s, DealType.FINANCE, trade_allowance=Decimal(5000), apr=Decimal("4.9"), term_months=60
    )
    assert Decimal(quote["monthlyPayment"]) == without_credit
    assert without_credit > with_credit


@pytest.mark.parametrize(
    ("values", "field", "code"),
    [
        ({"vehiclePrice": "0"}, ["input", "vehiclePrice"], "MUST_BE_POSITIVE"),
        ({"downPayment": "-1.00"}, ["input", "downPayment"], "MUST_NOT_BE_NEGATIVE"),
        ({"tradePayoff": "-0.01"}, ["input", "tradePayoff"], "MUST_NOT_BE_NEGATIVE"),
        ({"downPayment": "30000"}, ["input", "downPayment"], "DOWN_PAYMENT_TOO_LARGE"),
        ({"apr": "31"}, ["input", "apr"], "OUT_OF_RANGE"),
        ({"apr": "-1"}, ["input", "apr"], "OUT_OF_RANGE"),
        ({"apr": "6.12345"}, ["input", "apr"], "TOO_PRECISE"),
        ({"apr": "NaN"}, ["input", "apr"], "INVALID_NUMBER"),
        ({"termMonths": 120}, ["input", "termMonths"], "OUT_OF_RANGE"),
        ({"termMonths": 0}, ["input", "termMonths"], "OUT_OF_RANGE"),
        ({"moneyFactor": "0.002"}, ["input", "moneyFactor"], "NOT_APPLICABLE"),
        ({"dealType": "CASH", "apr": "5"}, ["input", "apr"], "NOT_APPLICABLE"),
        ({"dealType": "CASH", "termMonths": 60}, ["input", "termMonths"], "NOT_APPLICABLE"),
        (
            {"dealType": "LEASE", "residualPercent": "55", "termMonths": 36},
            ["input", "moneyFactor"],
            "REQUIRED",
        ),
        (
            {"dealType": "LEASE", "moneyFactor": "0.002", "termMonths": 36},
            ["input", "residualPercent"],
            "REQUIRED",
        ),
        (
            {"dealType": "LEASE", "moneyFactor": "0.002", "residualPercent": "55"},
            ["input", "termMonths"],
            "REQUIRED",
        ),
        (
            {"dealType": "LEASE", "moneyFactor": "0.02", "residualPercent": "55", "termMonths": 36},
            ["input", "moneyFactor"],
            "OUT_OF_RANGE",
        ),
        (
            {"dealType": "LEASE", "moneyFactor": "0.002", "residualPercent": "0", "termMonths": 36},
            ["input", "residualPercent"],
            "OUT_OF_RANGE",
        ),
        (
            {
                "dealType": "LEASE",
                "moneyFactor": "0.002",
                "residualPercent": "55",
                "termMonths": 84,
            },
            ["input", "termMonths"],
            "OUT_OF_RANGE",
        ),
        ({"taxRate": "26"}, ["input", "taxRate"], "OUT_OF_RANGE"),
        ({"customerFirstName": "x" * 101}, ["input", "customerFirstName"], "TOO_LONG"),
        ({"vehicleId": "nonsense"}, ["input", "vehicleId"], "INVALID_ID"),
        ({"customerId": "USER"}, ["input", "customerId"], "INVALID_ID"),
    ],
)
async def test_create_validation_errors_name_the_field(
    client: GraphQLClient,
    factory: Factory,
    engine: AsyncEngine,
    values: dict[str, object],
    field: list[str],
    code: str,
) -> None:
    s = await shop(factory)
    if values.get("customerId") == "USER":
        values = {**values, "customerId": to_global_id("User", 1)}
    result = await create(client, s, **values)
    assert result["__typename"] == "ValidationError", result
    assert (result["field"], result["code"]) == (field, code)
    assert await quote_count(engine, s.tenant) == 0
    assert await audit(engine, s.tenant) == []


async def test_a_sold_vehicle_cannot_be_quoted(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    s = await shop(factory)
    await execute_sql(factory, s.tenant, "UPDATE vehicles SET status = 'sold'")
    result = await create(client, s)
    assert (result["code"], result["field"]) == ("VEHICLE_UNAVAILABLE", ["input", "vehicleId"])
    assert await quote_count(engine, s.tenant) == 0


async def test_unknown_and_foreign_references(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    s, other = await shop(factory), await shop(factory)
    for name, type_name, foreign in (
        ("vehicleId", "Vehicle", other.vehicle),
        ("customerId", "Customer", other.customer),
    ):
        missing = await create(client, s, **{name: to_global_id(type_name, 999_999_999)})
        assert missing["__typename"] == "ResourceNotFoundError", name
        assert missing["field"] == ["input", name]
        theirs = await create(client, s, **{name: to_global_id(type_name, foreign)})
        assert theirs["__typename"] == "MultiTenantViolationError", name
        assert theirs["field"] == ["input", name]
    assert await quote_count(engine, s.tenant) == 0
    assert await quote_count(engine, other.tenant) == 0
    events = await rows(engine, s.tenant.dealership_id, "SELECT event FROM security_audit_logs")
    assert [e["event"] for e in events] == ["tenant.cross_tenant_write"] * 2


# --- update -------------------------------------------------------------------------------


async def test_update_prices_again_with_the_version_read(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    s = await shop(factory)
    quote = await created(client, s)
    await execute_sql(
        factory,
        s.tenant,
        "UPDATE quick_quotes SET expires_at = now() + interval '1 day' WHERE id = :id",
        id=pk(quote["id"]),
    )
    result = await mutate(
        client,
        UPDATE,
        "updateQuickQuote",
        s.token,
        id=quote["id"],
        version=1,
        downPayment="3000.00",
        termMonths=60,
    )
    assert result["__typename"] == "UpdateQuickQuoteSuccess", result
    updated = result["quickQuote"]
    assert updated["version"] == 2
    assert updated["termMonths"] == 60
    expected = payment(
        s, DealType.FINANCE, down_payment=Decimal(3000), apr=Decimal("6.99"), term_months=60
    )
    assert Decimal(updated["monthlyPayment"]) == expected
    # A changed quote is valid for another seven days.
    assert datetime.fromisoformat(updated["expiresAt"]) > datetime.now(UTC) + timedelta(days=6)

    stale = await mutate(
        client, UPDATE, "updateQuickQuote", s.token, id=quote["id"], version=1, apr="3.9"
    )
    assert stale["__typename"] == "VersionConflictError"
    assert stale["currentVersion"] == 2

    # Sending what is already there: no new version, no audit row.
    same = await mutate(
        client, UPDATE, "updateQuickQuote", s.token, id=quote["id"], version=2, termMonths=60
    )
    assert same["quickQuote"]["version"] == 2
    assert await audit(engine, s.tenant) == ["quick_quote.create", "quick_quote.update"]
    changes = await scalar(
        engine,
        s.tenant.dealership_id,
        "SELECT changes FROM audit_logs WHERE action = 'quick_quote.update'",
    )
    assert isinstance(changes, dict)
    assert changes["down_payment"] == {"before": "0.00", "after": "3000.00"}
    assert changes["monthly_payment"]["after"] == str(expected)


async def test_update_switches_deal_type_and_vehicle(
    client: GraphQLClient, factory: Factory
) -> None:
    s = await shop(factory)
    quote = await created(client, s, vehiclePrice="20000.00", apr="5.5")

    async def update(version: int, **values: object) -> dict[str, Any]:
        return await mutate(
            client, UPDATE, "updateQuickQuote", s.token, id=quote["id"], version=version, **values
        )

    needs_terms = await update(1, dealType="LEASE")
    assert (needs_terms["code"], needs_terms["field"]) == ("REQUIRED", ["input", "moneyFactor"])
    lease = await update(
        1, dealType="LEASE", moneyFactor="0.0021", residualPercent="60", termMonths=36
    )
    assert lease["__typename"] == "UpdateQuickQuoteSuccess", lease
    assert lease["quickQuote"]["apr"] is None
    assert lease["quickQuote"]["feesTotal"] == "895.00"
    assert Decimal(lease["quickQuote"]["monthlyPayment"]) == payment(
        s,
        DealType.LEASE,
        vehicle_price=Decimal(20000),
        money_factor=Decimal("0.0021"),
        residual_percent=Decimal(60),
        term_months=36,
        msrp=MSRP,
    )
    # Back to finance: the dealership's default APR and term, not the old 5.5.
    finance = await update(2, dealType="FINANCE", vehiclePrice=None)
    assert Decimal(finance["quickQuote"]["apr"]) == Decimal("6.99")
    assert finance["quickQuote"]["termMonths"] == 72
    assert finance["quickQuote"]["moneyFactor"] is None
    assert finance["quickQuote"]["vehiclePrice"] == "21995.00"  # null: the list price

    other_vehicle = await factory.vehicle(s.tenant, list_price=Decimal("30500.00"))
    moved = await update(3, vehicleId=to_global_id("Vehicle", other_vehicle))
    assert moved["quickQuote"]["vehicle"]["id"] == to_global_id("Vehicle", other_vehicle)
    assert moved["quickQuote"]["vehiclePrice"] == "30500.00"
    customer = await update(4, customerId=to_global_id("Customer", s.customer))
    assert customer["quickQuote"]["customer"] == {"id": to_global_id("Customer", s.customer)}
    cleared = await update(5, customerId=None, taxRate=None)
    assert cleared["quickQuote"]["customer"] is None
    assert cleared["__typename"] == "UpdateQuickQuoteSuccess"
    assert cleared["quickQuote"]["version"] == 6
    assert Decimal(cleared["quickQuote"]["taxRate"]) == Decimal("7.25")  # null: the default


async def test_update_refusals(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    s, other = await shop(factory), await shop(factory)
    quote = await created(client, s)

    async def update(token: str = s.token, **values: object) -> dict[str, Any]:
        return await mutate(
            client, UPDATE, "updateQuickQuote", token, id=quote["id"], version=1, **values
        )

    for values, field, code in (
        ({"dealType": None}, ["input", "dealType"], "REQUIRED"),
        ({"vehicleId": None}, ["input", "vehicleId"], "REQUIRED"),
        ({"downPayment": None}, ["input", "downPayment"], "REQUIRED"),
        ({"downPayment": "25000"}, ["input", "downPayment"], "DOWN_PAYMENT_TOO_LARGE"),
        ({"residualPercent": "50"}, ["input", "residualPercent"], "NOT_APPLICABLE"),
        ({"taxRate": "7.12345"}, ["input", "taxRate"], "TOO_PRECISE"),
    ):
        result = await update(**values)
        assert (result["__typename"], result["code"], result["field"]) == (
            "ValidationError",
            code,
            field,
        ), values
    foreign_ref = await update(vehicleId=to_global_id("Vehicle", other.vehicle))
    assert foreign_ref["__typename"] == "MultiTenantViolationError"
    assert foreign_ref["field"] == ["input", "vehicleId"]
    foreign = await update(other.token, downPayment="1.00")
    assert foreign["__typename"] == "MultiTenantViolationError"
    assert foreign["field"] == ["input", "id"]
    missing = await mutate(
        client,
        UPDATE,
        "updateQuickQuote",
        s.token,
        id=to_global_id("QuickQuote", 999_999_999),
        version=1,
    )
    assert missing["__typename"] == "ResourceNotFoundError"

    await execute_sql(factory, s.tenant, "UPDATE quick_quotes SET status = 'converted'")
    converted = await update(downPayment="1.00")
    assert (converted["code"], converted["field"]) == ("QUOTE_NOT_EDITABLE", ["input", "id"])
    assert "CONVERTED" in converted["message"]
    version = await scalar(engine, s.tenant.dealership_id, "SELECT version FROM quick_quotes")
    assert version == 1
    assert await audit(engine, s.tenant) == ["quick_quote.create"]


# --- send and delivery --------------------------------------------------------------------


async def test_send_records_contacts_and_marks_the_quote_sent(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    s = await shop(factory)
    quote = await created(client, s)
    contacts = [
        {"name": " Dana Lopez ", "phone": "(614) 555-0142"},
        {"name": "Chris Lopez", "phone": "+1 614 555 0199"},
    ]
    result = await mutate(
        client, SEND, "sendQuickQuote", s.token, id=quote["id"], version=1, contacts=contacts
    )
    assert result["__typename"] == "SendQuickQuoteSuccess", result
    sent = result["quickQuote"]
    assert sent["status"] == "SENT"
    assert sent["sentAt"] is not None
    assert sent["version"] == 2
    assert [(c["name"], c["phone"], c["deliveryStatus"]) for c in sent["contacts"]] == [
        ("Dana Lopez", "+16145550142", "PENDING"),
        ("Chris Lopez", "+16145550199", "PENDING"),
    ]
    assert [c["id"] for c in result["addedContacts"]] == [c["id"] for c in sent["contacts"]]

    # A sent quote can go to more people.
    again = await mutate(
        client,
        SEND,
        "sendQuickQuote",
        s.token,
        id=quote["id"],
        version=2,
        contacts=[{"name": "Pat", "phone": "614-555-0100"}],
    )
    assert len(again["quickQuote"]["contacts"]) == 3
    assert [c["name"] for c in again["addedContacts"]] == ["Pat"]
    assert await audit(engine, s.tenant) == [
        "quick_quote.create",
        "quick_quote.send",
        "quick_quote_contact.create",
        "quick_quote_contact.create",
        "quick_quote.send",
        "quick_quote_contact.create",
    ]


@pytest.mark.parametrize(
    ("contacts", "field", "code"),
    [
        ([], ["input", "contacts"], "REQUIRED"),
        (
            [{"name": f"P{i}", "phone": f"614-555-01{i:02d}"} for i in range(11)],
            ["input", "contacts"],
            "TOO_MANY_CONTACTS",
        ),
        ([{"name": "  ", "phone": "614-555-0100"}], ["input", "contacts", "0", "name"], "REQUIRED"),
        (
            [{"name": "A", "phone": "614-555-0100"}, {"name": "B", "phone": "12"}],
            ["input", "contacts", "1", "phone"],
            "INVALID_PHONE",
        ),
        (
            [{"name": "A", "phone": "614-555-0100"}, {"name": "B", "phone": "+16145550100"}],
            ["input", "contacts", "1", "phone"],
            "DUPLICATE_PHONE",
        ),
    ],
)
async def test_send_validation_errors_name_the_contact(
    client: GraphQLClient,
    factory: Factory,
    engine: AsyncEngine,
    contacts: list[dict[str, str]],
    field: list[str],
    code: str,
) -> None:
    s = await shop(factory)
    quote = await created(client, s)
    result = await mutate(
        client, SEND, "sendQuickQuote", s.token, id=quote["id"], version=1, contacts=contacts
    )
    assert result["__typename"] == "ValidationError"
    assert (result["field"], result["code"]) == (field, code)
    assert (
        await scalar(engine, s.tenant.dealership_id, "SELECT status FROM quick_quotes") == "draft"
    )
    count = await scalar(
        engine, s.tenant.dealership_id, "SELECT count(*) FROM quick_quote_contacts"
    )
    assert count == 0
    assert await audit(engine, s.tenant) == ["quick_quote.create"]


async def test_ten_contacts_are_allowed(client: GraphQLClient, factory: Factory) -> None:
    s = await shop(factory)
    quote = await created(client, s)
    contacts = [{"name": f"P{i}", "phone": f"614-555-01{i:02d}"} for i in range(10)]
    result = await mutate(
        client, SEND, "sendQuickQuote", s.token, id=quote["id"], version=1, contacts=contacts
    )
    assert len(result["quickQuote"]["contacts"]) == 10


async def test_send_refusals(client: GraphQLClient, factory: Factory, engine: AsyncEngine) -> None:
    s, other = await shop(factory), await shop(factory)
    quote = await created(client, s)
    contacts = [{"name": "Dana", "phone": "614-555-0142"}]

    async def send(token: str = s.token, version: int = 1) -> dict[str, Any]:
        return await mutate(
            client,
            SEND,
            "sendQuickQuote",
            token,
            id=quote["id"],
            version=version,
            contacts=contacts,
        )

    stale = await send(version=7)
    assert (stale["__typename"], stale["currentVersion"]) == ("VersionConflictError", 1)
    foreign = await send(other.token)
    assert (foreign["__typename"], foreign["field"]) == (
        "MultiTenantViolationError",
        ["input", "id"],
    )
    await execute_sql(
        factory, s.tenant, "UPDATE quick_quotes SET expires_at = now() - interval '1 minute'"
    )
    expired = await send()
    assert (expired["code"], expired["field"]) == ("QUOTE_EXPIRED", ["input", "id"])
    read = await client.data(
        "query($id: ID!) { quickQuote(id: $id) { isExpired } }", {"id": quote["id"]}, token=s.token
    )
    assert read["quickQuote"]["isExpired"] is True
    # Updating re-prices and renews an expired quote; then it can be sent.
    renewed = await mutate(
        client, UPDATE, "updateQuickQuote", s.token, id=quote["id"], version=1, termMonths=60
    )
    assert renewed["quickQuote"]["isExpired"] is False
    assert (await send(version=2))["__typename"] == "SendQuickQuoteSuccess"

    await execute_sql(factory, s.tenant, "UPDATE quick_quotes SET status = 'converted'")
    converted = await send(version=3)
    assert (converted["code"], converted["field"]) == ("ILLEGAL_STATUS_TRANSITION", ["input", "id"])
    assert "CONVERTED" in converted["message"]
    assert "SENT" in converted["message"]
    count = await scalar(
        engine, s.tenant.dealership_id, "SELECT count(*) FROM quick_quote_contacts"
    )
    assert count == 1


async def test_delivery_receipts(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    s, other = await shop(factory), await shop(factory)
    quote = await created(client, s)
    sent = await mutate(
        client,
        SEND,
        "sendQuickQuote",
        s.token,
        id=quote["id"],
        version=1,
        contacts=[
            {"name": "A", "phone": "614-555-0101"},
            {"name": "B", "phone": "614-555-0102"},
            {"name": "C", "phone": "614-555-0103"},
        ],
    )
    a, b, c = (contact["id"] for contact in sent["quickQuote"]["contacts"])

    async def receipt(contact: str, status: str, token: str = s.token) -> dict[str, Any]:
        return await mutate(
            client,
            DELIVERY,
            "updateQuoteContactDelivery",
            token,
            contactId=contact,
            deliveryStatus=status,
        )

    first = await receipt(a, "SENT")
    assert first["contact"]["deliveryStatus"] == "SENT"
    assert first["contact"]["sentAt"] is not None
    assert first["contact"]["deliveredAt"] is None
    assert first["contact"]["quickQuote"] == {"id": quote["id"]}
    delivered = await receipt(a, "DELIVERED")
    assert delivered["contact"]["deliveredAt"] is not None
    assert delivered["contact"]["sentAt"] == first["contact"]["sentAt"]
    repeated = await receipt(a, "DELIVERED")  # a duplicate receipt changes nothing
    assert repeated["contact"] == delivered["contact"]
    skipped = await receipt(b, "DELIVERED")  # delivered implies sent
    assert skipped["contact"]["sentAt"] is not None
    failed = await receipt(c, "FAILED")
    assert failed["contact"]["deliveryStatus"] == "FAILED"
    assert failed["contact"]["sentAt"] is None

    for contact, status, current in (
        (a, "FAILED", "DELIVERED"),
        (c, "SENT", "FAILED"),
        (a, "PENDING", "DELIVERED"),
    ):
        illegal = await receipt(contact, status)
        assert illegal["__typename"] == "ValidationError"
        assert (illegal["code"], illegal["field"]) == (
            "ILLEGAL_STATUS_TRANSITION",
            ["input", "deliveryStatus"],
        )
        assert current in illegal["message"]
        assert status in illegal["message"]
    foreign = await receipt(a, "FAILED", other.token)
    assert (foreign["__typename"], foreign["field"]) == (
        "MultiTenantViolationError",
        ["input", "contactId"],
    )
    missing = await receipt(to_global_id("QuickQuoteContact", 999_999_999), "SENT")
    assert missing["__typename"] == "ResourceNotFoundError"
    wrong = await receipt(quote["id"], "SENT")
    assert (wrong["code"], wrong["field"]) == ("INVALID_ID", ["input", "contactId"])
    statuses = await rows(
        engine,
        s.tenant.dealership_id,
        "SELECT delivery_status FROM quick_quote_contacts ORDER BY id",
    )
    assert [r["delivery_status"] for r in statuses] == ["delivered", "delivered", "failed"]
    assert (await audit(engine, s.tenant))[-4:] == ["quick_quote_contact.delivery"] * 4


# --- reads --------------------------------------------------------------------------------


async def test_read_by_id_and_node_and_not_another_dealerships(
    client: GraphQLClient, factory: Factory
) -> None:
    s, other = await shop(factory), await shop(factory)
    quote = await created(client, s)
    sent = await mutate(
        client,
        SEND,
        "sendQuickQuote",
        s.token,
        id=quote["id"],
        version=1,
        contacts=[{"name": "A", "phone": "614-555-0101"}],
    )
    contact = sent["addedContacts"][0]["id"]
    query = """query($id: ID!, $contact: ID!) {
      quickQuote(id: $id) { id status }
      node(id: $id) { ... on QuickQuote { id } }
      contact: node(id: $contact) { ... on QuickQuoteContact { name quickQuote { id } } } }"""
    variables = {"id": quote["id"], "contact": contact}
    mine = await client.data(query, variables, token=s.token)
    assert mine["quickQuote"] == {"id": quote["id"], "status": "SENT"}
    assert mine["node"] == {"id": quote["id"]}
    assert mine["contact"] == {"name": "A", "quickQuote": {"id": quote["id"]}}
    theirs = await client.data(query, variables, token=other.token)
    assert theirs == {"quickQuote": None, "node": None, "contact": None}
    listed = await client.data("{ quickQuotes { totalCount } }", token=other.token)
    assert listed["quickQuotes"]["totalCount"] == 0


LIST = """
query($first: Int, $after: String, $last: Int, $before: String, $filter: QuickQuoteFilter,
      $orderBy: QuickQuoteOrder) {
  quickQuotes(first: $first, after: $after, last: $last, before: $before, filter: $filter,
              orderBy: $orderBy) {
    totalCount
    nodes { id downPayment monthlyPayment }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""


async def listed(client: GraphQLClient, s: Shop, **variables: object) -> dict[str, Any]:
    data = await client.data(LIST, variables, token=s.token)
    result = data["quickQuotes"]
    assert isinstance(result, dict)
    return result


def downs(page: dict[str, Any]) -> list[str]:
    return [n["downPayment"] for n in page["nodes"]]


async def test_pagination_edges(client: GraphQLClient, factory: Factory) -> None:
    s = await shop(factory)
    empty = await listed(client, s, first=5)
    assert empty["totalCount"] == 0
    assert empty["nodes"] == []
    assert empty["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": False,
        "startCursor": None,
        "endCursor": None,
    }
    for down in (1000, 5000, 3000, 2000, 4000):
        await created(client, s, downPayment=str(down))
    # Newest first by default.
    page1 = await listed(client, s, first=2)
    assert downs(page1) == ["4000.00", "2000.00"]
    assert page1["totalCount"] == 5
    page2 = await listed(client, s, first=2, after=page1["pageInfo"]["endCursor"])
    assert downs(page2) == ["3000.00", "5000.00"]
    last = await listed(client, s, first=2, after=page2["pageInfo"]["endCursor"])
    assert downs(last) == ["1000.00"]
    assert last["pageInfo"]["hasNextPage"] is False
    assert last["pageInfo"]["hasPreviousPage"] is True
    back = await listed(client, s, last=2, before=last["pageInfo"]["startCursor"])
    assert downs(back) == ["3000.00", "5000.00"]
    # The bigger the down payment, the smaller the monthly payment.
    cheapest = await listed(client, s, first=3, orderBy={"field": "MONTHLY_PAYMENT"})
    assert downs(cheapest) == ["1000.00", "2000.00", "3000.00"]
    ascending = await listed(
        client, s, first=3, orderBy={"field": "MONTHLY_PAYMENT", "direction": "ASC"}
    )
    assert downs(ascending) == ["5000.00", "4000.00", "3000.00"]
    rest = await listed(
        client,
        s,
        first=3,
        after=ascending["pageInfo"]["endCursor"],
        orderBy={"field": "MONTHLY_PAYMENT", "direction": "ASC"},
    )
    assert downs(rest) == ["2000.00", "1000.00"]


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"first": 101}, "PAGE_SIZE_OUT_OF_RANGE"),
        ({"last": 0}, "PAGE_SIZE_OUT_OF_RANGE"),
        ({"first": 1, "last": 1}, "INVALID_ARGUMENTS"),
        ({"before": "garbage"}, "INVALID_CURSOR"),
        ({"filter": {"vehicleId": "garbage"}}, "INVALID_ID"),
        ({"filter": {"createdById": to_global_id("Customer", 1)}}, "INVALID_ID"),
    ],
)
async def test_bad_list_arguments(
    client: GraphQLClient, factory: Factory, variables: dict[str, object], code: str
) -> None:
    s = await shop(factory)
    result = await client.execute(LIST, variables, token=s.token)
    assert result["data"] is None
    assert result["errors"][0]["extensions"]["code"] == code


async def test_filters(client: GraphQLClient, factory: Factory) -> None:
    s = await shop(factory)
    other_vehicle = await factory.vehicle(s.tenant)
    sales = s.tenant.tokens[Role.SALESPERSON]
    a = await created(
        client, s, downPayment="1.00", customerId=to_global_id("Customer", s.customer)
    )
    await created(client, s, downPayment="2.00", vehicleId=to_global_id("Vehicle", other_vehicle))
    by_sales = await client.data(
        CREATE,
        {"input": {"vehicleId": s.vehicle_id, "dealType": "CASH", "downPayment": "3.00"}},
        token=sales,
    )
    assert by_sales["createQuickQuote"]["__typename"] == "CreateQuickQuoteSuccess"
    await mutate(
        client,
        SEND,
        "sendQuickQuote",
        s.token,
        id=a["id"],
        version=1,
        contacts=[{"name": "A", "phone": "614-555-0101"}],
    )

    async def found(flt: dict[str, object]) -> list[str]:
        return sorted(downs(await listed(client, s, filter=flt)))

    assert await found({"status": ["SENT"]}) == ["1.00"]
    assert await found({"status": ["DRAFT"]}) == ["2.00", "3.00"]
    assert await found({"status": ["DRAFT", "SENT"]}) == ["1.00", "2.00", "3.00"]
    assert await found({"customerId": to_global_id("Customer", s.customer)}) == ["1.00"]
    assert await found({"vehicleId": to_global_id("Vehicle", other_vehicle)}) == ["2.00"]
    staff = to_global_id("User", s.tenant.users[Role.SALESPERSON])
    assert await found({"createdById": staff}) == ["3.00"]
    assert await found({"createdById": staff, "status": ["SENT"]}) == []


async def test_relations_are_batched(
    client: GraphQLClient, factory: Factory, app: Starlette
) -> None:
    s = await shop(factory)
    for n in range(4):
        quote = await created(
            client, s, downPayment=str(n), customerId=to_global_id("Customer", s.customer)
        )
        await mutate(
            client,
            SEND,
            "sendQuickQuote",
            s.token,
            id=quote["id"],
            version=1,
            contacts=[
                {"name": "A", "phone": "614-555-0101"},
                {"name": "B", "phone": "614-555-0102"},
            ],
        )
    query = """{ quickQuotes { nodes { vehicle { vin } customer { id } createdBy { id }
                 contacts { phone quickQuote { id } } } } }"""
    with count_statements(app.state.dealerdesk.engine.sync_engine) as log:
        data = await client.data(query, token=s.token)
    assert len(data["quickQuotes"]["nodes"]) == 4
    assert all(len(n["contacts"]) == 2 for n in data["quickQuotes"]["nodes"])
    # quotes, vehicles, customers, users, contacts, quotes again: one statement each.
    assert len(log.data_statements) <= 7, log.data_statements


CONVERT = """
mutation($input: ConvertQuickQuoteInput!) {
  convertQuickQuote(input: $input) {
    __typename
    ... on ConvertQuickQuoteSuccess {
      customerCreated
      quickQuote { status version convertedAt convertedDeal { id } }
      deal { id status vehicle { status } customer { id email }
             activeScenario { type apr termMonths downPayment vehiclePrice monthlyPayment } }
    }
    ... on VehicleNotAvailableError { vehicleStatus }
    ... on Error { code field message }
  }
}"""


async def convert(
    client: GraphQLClient, s: Shop, quote: dict[str, Any], **values: object
) -> dict[str, Any]:
    payload: dict[str, object] = {
        "id": quote["id"],
        "version": quote["version"],
        "salespersonId": to_global_id("User", s.tenant.users[Role.SALESPERSON]),
        **values,
    }
    data = await client.data(CONVERT, {"input": payload}, token=s.token)
    result = data["convertQuickQuote"]
    assert isinstance(result, dict)
    return result


async def test_convert_a_quote_into_a_deal(client: GraphQLClient, factory: Factory) -> None:
    s = await shop(factory)
    quote = await created(
        client,
        s,
        customerId=to_global_id("Customer", s.customer),
        downPayment="3000",
        apr="5.49",
        termMonths=60,
    )
    result = await convert(client, s, quote)
    assert result["__typename"] == "ConvertQuickQuoteSuccess", result
    assert result["customerCreated"] is False
    deal = result["deal"]
    assert deal["status"] == "OPEN"
    assert deal["vehicle"]["status"] == "PENDING"
    assert deal["customer"]["id"] == to_global_id("Customer", s.customer)
    scenario = deal["activeScenario"]
    assert (scenario["type"], scenario["apr"], scenario["termMonths"]) == ("FINANCE", "5.4900", 60)
    assert scenario["downPayment"] == "3000.00"
    assert scenario["monthlyPayment"] == quote["monthlyPayment"]  # the quoted payment holds
    converted = result["quickQuote"]
    assert converted["status"] == "CONVERTED"
    assert converted["convertedDeal"] == {"id": deal["id"]}
    assert converted["version"] == quote["version"] + 1
    again = await convert(client, s, {**quote, "version": converted["version"]})
    assert again["code"] == "QUOTE_NOT_CONVERTIBLE"


async def test_a_walk_in_quote_needs_a_customer_to_convert(
    client: GraphQLClient, factory: Factory
) -> None:
    s = await shop(factory)
    quote = await created(client, s, customerFirstName="Walk", customerLastName="In")
    refused = await convert(client, s, quote)
    assert (refused["code"], refused["field"]) == ("CUSTOMER_REQUIRED", ["input", "customerId"])
    done = await convert(
        client,
        s,
        quote,
        customer={"firstName": "Walk", "lastName": "In", "email": "walk.in@example.com"},
    )
    assert done["__typename"] == "ConvertQuickQuoteSuccess", done
    assert done["customerCreated"] is True


async def test_converting_on_a_held_vehicle_changes_nothing(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    s = await shop(factory)
    first = await created(client, s, customerId=to_global_id("Customer", s.customer))
    second = await created(client, s, customerId=to_global_id("Customer", s.customer))
    assert (await convert(client, s, first))["__typename"] == "ConvertQuickQuoteSuccess"
    refused = await convert(client, s, second)
    assert refused["__typename"] == "VehicleNotAvailableError"
    assert (
        await scalar(
            engine,
            s.tenant.dealership_id,
            "SELECT status FROM quick_quotes WHERE id = :q",
            q=pk(second["id"]),
        )
        != "converted"
    )


async def test_converting_another_dealerships_quote_is_refused(
    client: GraphQLClient, factory: Factory
) -> None:
    a, b = await shop(factory), await shop(factory)
    theirs = await created(client, b, customerId=to_global_id("Customer", b.customer))
    refused = await convert(client, a, theirs)
    assert refused["__typename"] == "MultiTenantViolationError"


async def test_only_draft_quotes_can_be_deleted(client: GraphQLClient, factory: Factory) -> None:
    s = await shop(factory)
    draft = await created(client, s)
    query = """mutation($input: DeleteQuickQuoteInput!) { deleteQuickQuote(input: $input) {
      __typename ... on DeleteQuickQuoteSuccess { deletedQuickQuoteId } ... on Error { code } } }"""
    done = await client.data(
        query, {"input": {"id": draft["id"], "version": draft["version"]}}, token=s.token
    )
    assert done["deleteQuickQuote"]["deletedQuickQuoteId"] == draft["id"]
    converted = await created(client, s, customerId=to_global_id("Customer", s.customer))
    result = await convert(client, s, converted)
    refused = await client.data(
        query,
        {"input": {"id": converted["id"], "version": result["quickQuote"]["version"]}},
        token=s.token,
    )
    assert refused["deleteQuickQuote"]["code"] == "QUOTE_NOT_DELETABLE"
