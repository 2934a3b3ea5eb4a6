"""createDeal through the real app: the happy path, every refusal, and the proofs that it is
atomic and race-free (real concurrent transactions, fault injection after each step)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from db.models.enums import Role, VehicleStatus
from db.storage import deal_creation
from db.transactions import TxOptions
from db.urls import async_url
from schema.relay import to_global_id
from tests.conftest import GraphQLClient
from tests.factories import Factory, Tenant
from tests.helpers import pk, rows, scalar

CREATE = """
mutation($input: CreateDealInput!) {
  createDeal(input: $input) {
    __typename
    ... on CreateDealSuccess {
      customerCreated
      deal { id dealNumber status version notes
             customer { id email phone firstName }
             vehicle { id status }
             salesperson { email }
             activeScenario { id type termMonths apr downPayment monthlyPayment
                              fees { name amount } }
             scenarios { id } }
    }
    ... on VehicleNotAvailableError { vehicleStatus heldByDealNumber }
    ... on DuplicateDealNumberError { dealNumber }
    ... on Error { message code field }
  }
}"""


def gid(kind: str, value: int) -> str:
    return to_global_id(kind, value)


def deal_input(tenant: Tenant, vehicle_id: int, **values: object) -> dict[str, object]:
    body: dict[str, object] = {
        "vehicleId": gid("Vehicle", vehicle_id),
        "salespersonId": gid("User", tenant.users[Role.SALESPERSON]),
    }
    if "customerId" not in values:
        body["customer"] = {
            "firstName": "Ann",
            "lastName": "Lee",
            "email": "ann@example.com",
            "phone": "(614) 555-0100",
        }
    body.update(values)
    return body


async def create(
    client: GraphQLClient, tenant: Tenant, body: dict[str, object], token: str | None = None
) -> dict[str, object]:
    data = await client.data(CREATE, {"input": body}, token=token or tenant.token)
    result = data["createDeal"]
    assert isinstance(result, dict)
    return result


async def snapshot_counts(engine: AsyncEngine, tenant: Tenant) -> dict[str, object]:
    """Everything createDeal may write, for 'the database is exactly as before'."""
    counts: dict[str, object] = {}
    for table in ("customers", "deals", "deal_scenarios", "audit_logs", "deal_number_counters"):
        counts[table] = await scalar(engine, tenant.dealership_id, f"SELECT count(*) FROM {table}")
    counts["counter"] = await scalar(
        engine,
        tenant.dealership_id,
        "SELECT coalesce(sum(last_value), 0) FROM deal_number_counters",
    )
    counts["vehicles"] = await rows(
        engine, tenant.dealership_id, "SELECT id, status, version FROM vehicles ORDER BY id"
    )
    return counts


async def test_create_deal_with_a_new_customer(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    await factory.fee_template(tenant, name="Documentation fee", amount=Decimal("499.00"))
    vehicle = await factory.vehicle(tenant)
    result = await create(client, tenant, deal_input(tenant, vehicle, notes="Wants it Friday"))
    assert result["__typename"] == "CreateDealSuccess", result
    assert result["customerCreated"] is True
    deal = result["deal"]
    today = datetime.now(ZoneInfo("America/New_York")).date()
    assert deal["dealNumber"] == f"{today:%Y-%m%d}-0001"
    assert deal["status"] == "OPEN"
    assert deal["version"] == 1
    assert deal["notes"] == "Wants it Friday"
    assert deal["vehicle"]["status"] == "PENDING"
    assert deal["customer"]["phone"] == "+16145550100"
    assert deal["salesperson"]["email"] == f"salesperson.{tenant.code}@example.com"
    scenario = deal["activeScenario"]
    assert scenario["type"] == "FINANCE"  # the dealership's default deal type
    assert scenario["termMonths"] == 72
    assert scenario["apr"] == "6.9900"
    assert scenario["fees"] == [{"name": "Documentation fee", "amount": "499.00"}]
    assert deal["scenarios"] == [{"id": scenario["id"]}]
    audit = await rows(
        engine, tenant.dealership_id, "SELECT action, entity_id, changes FROM audit_logs"
    )
    assert [(a["action"], a["entity_id"]) for a in audit] == [("deal.create", pk(deal["id"]))]
    changes = audit[0]["changes"]
    assert changes["vehicle_status"] == {"before": "available", "after": "pending"}
    assert changes["customer_created"] == {"before": None, "after": True}


async def test_existing_customer_and_reuse_by_email(
    client: GraphQLClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    customer = await factory.customer(tenant, email="known@example.com")
    first = await create(
        client,
        tenant,
        deal_input(tenant, await factory.vehicle(tenant), customerId=gid("Customer", customer)),
    )
    assert first["customerCreated"] is False
    assert first["deal"]["customer"]["id"] == gid("Customer", customer)
    second = await create(
        client,
        tenant,
        deal_input(
            tenant,
            await factory.vehicle(tenant),
            customer={"firstName": "K", "lastName": "N", "email": "KNOWN@example.com"},
        ),
    )
    assert second["customerCreated"] is False
    assert second["deal"]["customer"]["id"] == gid("Customer", customer)
    assert second["deal"]["dealNumber"].endswith("-0002")


async def test_first_scenario_values_override_the_defaults(
    client: GraphQLClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    result = await create(
        client,
        tenant,
        deal_input(
            tenant,
            await factory.vehicle(tenant),
            scenario={"type": "FINANCE", "termMonths": 60, "apr": "4.9", "downPayment": "2000"},
        ),
    )
    scenario = result["deal"]["activeScenario"]
    assert (scenario["termMonths"], scenario["apr"], scenario["downPayment"]) == (
        60,
        "4.9000",
        "2000.00",
    )


async def test_deal_number_uses_the_dealerships_local_day(
    client: GraphQLClient, factory: Factory
) -> None:
    # UTC+14 and UTC-11 are on different calendar days for most of every UTC day.
    for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):
        tenant = await factory.tenant(time_zone=zone)
        result = await create(client, tenant, deal_input(tenant, await factory.vehicle(tenant)))
        local = datetime.now(UTC).astimezone(ZoneInfo(zone)).date()
        assert result["deal"]["dealNumber"] == f"{local:%Y-%m%d}-0001", zone


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"customer": None}, ["input", "customerId"], "CUSTOMER_REQUIRED"),
        ({"customerId": "Q3VzdG9tZXI6MQ=="}, ["input", "customerId"], "CUSTOMER_AMBIGUOUS"),
        (
            {"customer": {"firstName": "A", "lastName": "B", "email": "nope"}},
            ["input", "customer", "email"],
            "INVALID_EMAIL",
        ),
        (
            {"customer": {"firstName": "A", "lastName": "B", "phone": "123"}},
            ["input", "customer", "phone"],
            "INVALID_PHONE",
        ),
        (
            {"customer": {"firstName": " ", "lastName": "B", "email": "a@example.com"}},
            ["input", "customer", "firstName"],
            "REQUIRED",
        ),
        (
            {"customer": {"firstName": "A", "lastName": "B"}},
            ["input", "customer", "email"],
            "CONTACT_REQUIRED",
        ),
        ({"vehicleId": "garbage"}, ["input", "vehicleId"], "INVALID_ID"),
        ({"salespersonId": to_global_id("Vehicle", 1)}, ["input", "salespersonId"], "INVALID_ID"),
        ({"scenario": {"type": "LEASE"}}, ["input", "scenario", "moneyFactor"], "REQUIRED"),
        ({"scenario": {"apr": "99"}}, ["input", "scenario", "apr"], None),
        ({"notes": "x" * 5001}, ["input", "notes"], "TOO_LONG"),
    ],
)
async def test_invalid_input_is_refused_before_anything_is_written(
    client: GraphQLClient,
    factory: Factory,
    engine: AsyncEngine,
    change: dict[str, object],
    field: list[str],
    code: str | None,
) -> None:
    tenant = await factory.tenant()
    vehicle = await factory.vehicle(tenant)
    body = deal_input(tenant, vehicle)
    body.update(change)
    if body.get("customer") is None:
        body.pop("customer", None)
    before = await snapshot_counts(engine, tenant)
    result = await create(client, tenant, body)
    assert result["__typename"] == "ValidationError", result
    assert result["field"] == field
    if code is not None:
        assert result["code"] == code
    assert await snapshot_counts(engine, tenant) == before


async def test_refusals_of_salesperson_vehicle_and_dealership(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant, other = await factory.tenant(), await factory.tenant()
    vehicle = await factory.vehicle(tenant)
    before = await snapshot_counts(engine, tenant)

    readonly = await create(
        client,
        tenant,
        deal_input(tenant, vehicle, salespersonId=gid("User", tenant.users[Role.READ_ONLY])),
    )
    assert (readonly["__typename"], readonly["code"]) == ("ValidationError", "INVALID_SALESPERSON")
    inactive = await factory.staff(tenant, active=False)
    result = await create(
        client, tenant, deal_input(tenant, vehicle, salespersonId=gid("User", inactive))
    )
    assert result["code"] == "INVALID_SALESPERSON"
    theirs = await create(
        client,
        tenant,
        deal_input(tenant, vehicle, salespersonId=gid("User", other.users[Role.SALESPERSON])),
    )
    assert theirs["__typename"] == "MultiTenantViolationError"
    assert theirs["field"] == ["input", "salespersonId"]
    their_vehicle = await create(client, tenant, deal_input(tenant, await factory.vehicle(other)))
    assert their_vehicle["__typename"] == "MultiTenantViolationError"
    assert their_vehicle["field"] == ["input", "vehicleId"]
    their_customer = await create(
        client,
        tenant,
        deal_input(tenant, vehicle, customerId=gid("Customer", await factory.customer(other))),
    )
    assert their_customer["__typename"] == "MultiTenantViolationError"
    missing = await create(client, tenant, deal_input(tenant, 999_999_999))
    assert missing["__typename"] == "ResourceNotFoundError"
    assert missing["field"] == ["input", "vehicleId"]

    on_hold = await factory.vehicle(tenant, status=VehicleStatus.ON_HOLD)
    before = await snapshot_counts(engine, tenant)
    held = await create(client, tenant, deal_input(tenant, on_hold))
    assert held["__typename"] == "VehicleNotAvailableError"
    assert held["vehicleStatus"] == "ON_HOLD"
    assert await snapshot_counts(engine, tenant) == before

    await factory.run(
        tenant.dealership_id, lambda s: s.execute(text("UPDATE dealerships SET is_active = false"))
    )
    # An inactive dealership's staff are signed out: their tokens no longer get them in.
    closed = await client.post(CREATE, {"input": deal_input(tenant, vehicle)}, token=tenant.token)
    assert closed.status_code == 401
    assert closed.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await snapshot_counts(engine, tenant) == before


async def test_fifty_concurrent_calls_for_one_vehicle_have_one_winner(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    vehicle = await factory.vehicle(tenant)
    bodies = [
        deal_input(
            tenant,
            vehicle,
            customer={"firstName": "Racer", "lastName": str(n), "email": f"racer{n}@example.com"},
        )
        for n in range(50)
    ]
    started = time.monotonic()
    results = await asyncio.gather(*(create(client, tenant, body) for body in bodies))
    settled = time.monotonic() - started
    kinds = [r["__typename"] for r in results]
    assert kinds.count("CreateDealSuccess") == 1, kinds
    assert kinds.count("VehicleNotAvailableError") == 49, kinds
    winner = next(r for r in results if r["__typename"] == "CreateDealSuccess")
    deal_id = pk(winner["deal"]["id"])
    # Each loser is told what holds the vehicle: the winner's deal.
    losers = [r for r in results if r["__typename"] == "VehicleNotAvailableError"]
    assert {(r["vehicleStatus"], r["heldByDealNumber"], r["field"][-1]) for r in losers} == {
        ("PENDING", winner["deal"]["dealNumber"], "vehicleId")
    }
    assert (
        await scalar(
            engine,
            tenant.dealership_id,
            "SELECT count(*) FROM deals WHERE vehicle_id = :v",
            v=vehicle,
        )
        == 1
    )
    assert (
        await scalar(
            engine,
            tenant.dealership_id,
            "SELECT count(*) FROM deal_scenarios WHERE deal_id = :d",
            d=deal_id,
        )
        == 1
    )
    assert (
        await scalar(
            engine,
            tenant.dealership_id,
            "SELECT count(*) FROM audit_logs WHERE entity_id = :d",
            d=deal_id,
        )
        == 1
    )
    assert await scalar(engine, tenant.dealership_id, "SELECT count(*) FROM audit_logs") == 1
    # Only the winner's new customer exists: the 49 losers' customers were rolled back.
    customers = await rows(engine, tenant.dealership_id, "SELECT email FROM customers")
    assert customers == [{"email": winner["deal"]["customer"]["email"]}]
    assert winner["deal"]["dealNumber"].endswith("-0001")
    print(f"\n50-way race on one vehicle settled in {settled:.3f} s")


async def test_two_hundred_concurrent_deals_get_numbers_0001_to_0200(
    client: GraphQLClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    vehicles = [await factory.vehicle(tenant) for _ in range(200)]
    results = await asyncio.gather(
        *(
            create(
                client,
                tenant,
                deal_input(
                    tenant,
                    v,
                    customer={"firstName": "C", "lastName": str(n), "email": f"c{n}@example.com"},
                ),
            )
            for n, v in enumerate(vehicles)
        )
    )
    assert all(r["__typename"] == "CreateDealSuccess" for r in results), results
    numbers = sorted(r["deal"]["dealNumber"] for r in results)
    day = numbers[0][:9]
    assert numbers == [f"{day}-{n:04d}" for n in range(1, 201)]


STEPS = range(1, 12)


@pytest.mark.parametrize("step", STEPS)
async def test_a_failure_after_any_step_leaves_nothing_behind(
    client: GraphQLClient,
    factory: Factory,
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
    step: int,
) -> None:
    tenant = await factory.tenant()
    vehicle = await factory.vehicle(tenant)
    before = await snapshot_counts(engine, tenant)

    async def fail_at(n: int) -> None:
        if n == step:
            raise RuntimeError(f"forced failure after step {n}")

    monkeypatch.setattr(deal_creation, "checkpoint", fail_at)
    result = await client.execute(
        CREATE, {"input": deal_input(tenant, vehicle)}, token=tenant.token
    )
    assert result["data"] is None
    assert result["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "forced" not in str(result)  # masked for the client
    assert await snapshot_counts(engine, tenant) == before
    monkeypatch.undo()
    again = await create(client, tenant, deal_input(tenant, vehicle))
    assert again["__typename"] == "CreateDealSuccess"
    assert again["deal"]["dealNumber"].endswith("-0001")  # no number was lost


async def test_a_transaction_past_its_deadline_is_rolled_back_with_a_typed_error(
    client: GraphQLClient,
    factory: Factory,
    engine: AsyncEngine,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tenant = await factory.tenant()
    vehicle = await factory.vehicle(tenant)
    before = await snapshot_counts(engine, tenant)
    monkeypatch.setattr(deal_creation, "CREATE_DEAL_TX", TxOptions(timeout=1.0))
    admin = create_async_engine(async_url(database_url), poolclass=NullPool)
    try:
        async with admin.connect() as conn:
            # Someone else holds the vehicle's row: step 7 waits, past the deadline.
            await conn.execute(
                text("SELECT 1 FROM vehicles WHERE id = :v FOR UPDATE"), {"v": vehicle}
            )
            started = time.monotonic()
            result = await create(client, tenant, deal_input(tenant, vehicle))
            elapsed = time.monotonic() - started
            await conn.rollback()
    finally:
        await admin.dispose()
    assert result["__typename"] == "OperationTimeoutError", result
    assert result["code"] == "TIMEOUT"
    assert elapsed < 5
    assert await snapshot_counts(engine, tenant) == before


async def test_concurrent_new_customers_with_one_email_make_one_customer(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    vehicles = [await factory.vehicle(tenant) for _ in range(5)]
    results = await asyncio.gather(
        *(
            create(
                client,
                tenant,
                deal_input(
                    tenant,
                    v,
                    customer={
                        "firstName": "Same",
                        "lastName": "Person",
                        "email": "same@example.com",
                    },
                ),
            )
            for v in vehicles
        )
    )
    assert all(r["__typename"] == "CreateDealSuccess" for r in results)
    assert sum(r["customerCreated"] for r in results) == 1
    assert await scalar(engine, tenant.dealership_id, "SELECT count(*) FROM customers") == 1
