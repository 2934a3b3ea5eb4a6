"""Inventory through the real app: create (generated stock numbers), update, status changes,
delete, validation, uniqueness and its races, tenancy, filters, sorting, pagination, counts
and the audit trail."""

from __future__ import annotations

import asyncio
import itertools
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from starlette.applications import Starlette

from db.models import Appointment, Deal, QuickQuote
from db.models.enums import (
    AppointmentType,
    DealStatus,
    DealType,
    Role,
    VehicleCondition,
    VehicleStatus,
)
from db.seed import make_vin
from db.storage import vehicles as storage
from schema.relay import to_global_id
from tests.conftest import GraphQLClient
from tests.factories import Factory, Tenant
from tests.helpers import count_statements, pk, rows, scalar

VALID_VIN = "1M8GDM9AXKP042788"
NEW_YORK = ZoneInfo("America/New_York")

_seeds = itertools.count(1_000_000)


def vin() -> str:
    return make_vin(random.Random(next(_seeds)))


def local_today(zone: ZoneInfo = NEW_YORK) -> date:
    return datetime.now(zone).date()


def yy(zone: ZoneInfo = NEW_YORK) -> str:
    return f"{local_today(zone).year % 100:02d}"


VEHICLE = """
  id vin stockNumber condition year make model trim bodyStyle exteriorColor interiorColor
  mileage cost listPrice msrp status receivedOn daysInStock soldAt version title
"""

CREATE = f"""
mutation($input: CreateVehicleInput!) {{
  createVehicle(input: $input) {{
    __typename
    ... on CreateVehicleSuccess {{ vehicle {{ {VEHICLE} }} }}
    ... on Error {{ message code field }}
  }}
}}"""

UPDATE = f"""
mutation($input: UpdateVehicleInput!) {{
  updateVehicle(input: $input) {{
    __typename
    ... on UpdateVehicleSuccess {{ vehicle {{ {VEHICLE} }} }}
    ... on VersionConflictError {{ currentVersion }}
    ... on Error {{ message code field }}
  }}
}}"""

STATUS = """
mutation($input: ChangeVehicleStatusInput!) {
  changeVehicleStatus(input: $input) {
    __typename
    ... on ChangeVehicleStatusSuccess { vehicle { id status version } }
    ... on VersionConflictError { currentVersion }
    ... on Error { message code field }
  }
}"""

DELETE = """
mutation($input: DeleteVehicleInput!) {
  deleteVehicle(input: $input) {
    __typename
    ... on DeleteVehicleSuccess { deletedVehicleId }
    ... on VersionConflictError { currentVersion }
    ... on Error { message code field }
  }
}"""

LIST = """
query($first: Int, $after: String, $last: Int, $before: String, $filter: VehicleFilter,
      $orderBy: VehicleOrder) {
  vehicles(first: $first, after: $after, last: $last, before: $before, filter: $filter,
           orderBy: $orderBy) {
    totalCount
    nodes { stockNumber }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""


def _input(**values: object) -> dict[str, object]:
    return {
        "vin": vin(),
        "condition": "USED",
        "year": 2022,
        "make": "Honda",
        "model": "Civic",
        "trim": "EX",
        "mileage": 12000,
        "cost": "18000.00",
        "listPrice": "21995.00",
        **values,
    }


async def _create(client: GraphQLClient, tenant: Tenant, **values: object) -> dict[str, object]:
    data = await client.data(CREATE, {"input": _input(**values)}, token=tenant.token)
    result = data["createVehicle"]
    assert isinstance(result, dict)
    return result


async def _vehicle(client: GraphQLClient, tenant: Tenant, **values: object) -> dict[str, object]:
    result = await _create(client, tenant, **values)
    assert result["__typename"] == "CreateVehicleSuccess", result
    vehicle = result["vehicle"]
    assert isinstance(vehicle, dict)
    return vehicle


async def _execute(factory: Factory, tenant: Tenant, sql: str, **params: object) -> None:
    """Run a write as the tenant, in a committed transaction."""

    async def work(session: AsyncSession) -> None:
        await session.execute(text(sql), params)

    await factory.run(tenant.dealership_id, work)


async def _settings(engine: AsyncEngine, tenant: Tenant) -> dict[str, object]:
    found = await rows(
        engine,
        tenant.dealership_id,
        "SELECT stock_number_format, next_stock_sequence, version FROM dealership_settings",
    )
    return found[0]


async def _audit(engine: AsyncEngine, tenant: Tenant) -> list[dict[str, object]]:
    return await rows(
        engine,
        tenant.dealership_id,
        "SELECT action, entity_type, entity_id, user_id, changes FROM audit_logs"
        " WHERE entity_type = 'Vehicle' ORDER BY id",
    )


async def _count(engine: AsyncEngine, tenant: Tenant, table: str = "vehicles") -> object:
    return await scalar(engine, tenant.dealership_id, f"SELECT count(*) FROM {table}")


async def _deal(
    factory: Factory, tenant: Tenant, vehicle_id: int, status: DealStatus = DealStatus.OPEN
) -> int:
    customer_id = await factory.customer(tenant)
    deal = Deal(
        dealership_id=tenant.dealership_id,
        deal_number=f"D-{next(_seeds)}",
        customer_id=customer_id,
        vehicle_id=vehicle_id,
        salesperson_id=tenant.users[Role.SALESPERSON],
        status=status,
    )

    async def work(session: AsyncSession) -> None:
        session.add(deal)

    await factory.run(tenant.dealership_id, work)
    return deal.id


async def _quick_quote(factory: Factory, tenant: Tenant, vehicle_id: int) -> int:
    quote = QuickQuote(
        dealership_id=tenant.dealership_id,
        vehicle_id=vehicle_id,
        created_by_id=tenant.users[Role.SALESPERSON],
        deal_type=DealType.CASH,
        vehicle_price=Decimal("21995.00"),
    )

    async def work(session: AsyncSession) -> None:
        session.add(quote)

    await factory.run(tenant.dealership_id, work)
    return quote.id


# --- create -------------------------------------------------------------------------------


async def test_create_generates_the_stock_number_and_audits(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    vehicle = await _vehicle(client, tenant, vin=VALID_VIN.lower(), msrp="24000")
    assert vehicle["vin"] == VALID_VIN
    assert vehicle["stockNumber"] == f"S{yy()}00001"
    assert vehicle["title"] == "2022 Honda Civic EX"
    assert vehicle["status"] == "AVAILABLE"
    assert vehicle["condition"] == "USED"
    assert vehicle["cost"] == "18000.00"
    assert vehicle["listPrice"] == "21995.00"
    assert vehicle["msrp"] == "24000.00"
    assert vehicle["receivedOn"] == local_today().isoformat()
    assert vehicle["daysInStock"] == 0
    assert vehicle["soldAt"] is None
    assert vehicle["version"] == 1
    settings = await _settings(engine, tenant)
    assert settings["next_stock_sequence"] == 2
    assert settings["version"] == 1  # the sequence is not an edit of the settings

    second = await _vehicle(client, tenant, trim=None)
    assert second["stockNumber"] == f"S{yy()}00002"
    assert second["title"] == "2022 Honda Civic"
    assert (await _settings(engine, tenant))["next_stock_sequence"] == 3

    audit = await _audit(engine, tenant)
    assert [a["action"] for a in audit] == ["vehicle.create", "vehicle.create"]
    assert audit[0]["entity_id"] == pk(vehicle["id"])
    assert audit[0]["user_id"] == tenant.users[Role.SALES_MANAGER]
    assert audit[0]["changes"]["vin"] == {"before": None, "after": VALID_VIN}
    assert audit[0]["changes"]["list_price"] == {"before": None, "after": "21995.00"}


async def test_concurrent_creates_take_distinct_numbers(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    """The settings row lock queues concurrent creates: no number is issued twice."""
    tenant = await factory.tenant()
    results = await asyncio.gather(*(_create(client, tenant) for _ in range(6)))
    numbers = sorted(r["vehicle"]["stockNumber"] for r in results)
    assert numbers == [f"S{yy()}{n:05d}" for n in range(1, 7)]
    assert (await _settings(engine, tenant))["next_stock_sequence"] == 7


async def test_generated_stock_numbers_skip_numbers_already_taken(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    for n in (1, 2, 4):
        await factory.vehicle(tenant, stock_number=f"S{yy()}{n:05d}")
    first = await _vehicle(client, tenant)
    assert first["stockNumber"] == f"S{yy()}00003"
    second = await _vehicle(client, tenant)
    assert second["stockNumber"] == f"S{yy()}00005"
    assert (await _settings(engine, tenant))["next_stock_sequence"] == 6


async def test_generated_stock_numbers_skip_past_a_whole_batch(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    await _execute(
        factory,
        tenant,
        "UPDATE dealership_settings SET stock_number_format = 'B{seq}'",
    )
    for n in range(1, storage.SKIP_BATCH + 3):
        await factory.vehicle(tenant, stock_number=f"B{n}")
    vehicle = await _vehicle(client, tenant)
    assert vehicle["stockNumber"] == f"B{storage.SKIP_BATCH + 3}"
    assert (await _settings(engine, tenant))["next_stock_sequence"] == storage.SKIP_BATCH + 4


@pytest.mark.parametrize(
    ("fmt", "sequence", "expected"),
    [
        ("{yyyy}-{seq:04d}", 41, "{yyyy}-0041"),
        ("u{yy}{seq}", 7, "U{yy}7"),
        ("{seq:06}", 12, "000012"),
        ("N{yy:d}/{seq}", 3, "N{yy_short}/3"),
    ],
)
async def test_stock_number_format_and_sequence_come_from_the_settings(
    client: GraphQLClient,
    factory: Factory,
    engine: AsyncEngine,
    fmt: str,
    sequence: int,
    expected: str,
) -> None:
    tenant = await factory.tenant()
    await _execute(
        factory,
        tenant,
        "UPDATE dealership_settings SET stock_number_format = :fmt, next_stock_sequence = :seq",
        fmt=fmt,
        seq=sequence,
    )
    vehicle = await _vehicle(client, tenant)
    year = local_today().year
    assert vehicle["stockNumber"] == expected.format(yyyy=year, yy=yy(), yy_short=str(year % 100))
    assert (await _settings(engine, tenant))["next_stock_sequence"] == sequence + 1


async def test_stock_number_year_is_the_dealerships_local_year(
    client: GraphQLClient, factory: Factory
) -> None:
    zone = ZoneInfo("Pacific/Kiritimati")  # UTC+14: a new year starts here first
    tenant = await factory.tenant(time_zone="Pacific/Kiritimati")
    vehicle = await _vehicle(client, tenant)
    assert vehicle["stockNumber"] == f"S{yy(zone)}00001"
    assert vehicle["receivedOn"] == local_today(zone).isoformat()


@pytest.mark.parametrize(
    "fmt", ["{seq.real}", "{seq[0]}", "{seq!r}", "{seq:{yy}}", "FIXED", "S{yy}", "{}", "{seq"]
)
async def test_an_unsafe_or_useless_stock_number_format_is_refused(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine, fmt: str
) -> None:
    tenant = await factory.tenant()
    await _execute(
        factory, tenant, "UPDATE dealership_settings SET stock_number_format = :fmt", fmt=fmt
    )
    result = await _create(client, tenant)
    assert result["__typename"] == "ValidationError"
    assert result["code"] == "INVALID_STOCK_NUMBER_FORMAT"
    assert result["field"] == ["input", "stockNumber"]
    assert await _count(engine, tenant) == 0
    assert (await _settings(engine, tenant))["next_stock_sequence"] == 1
    # A stock number sent by the client does not need the format.
    sent = await _vehicle(client, tenant, stockNumber="MANUAL-1")
    assert sent["stockNumber"] == "MANUAL-1"


async def test_a_format_giving_an_unusable_number_is_refused(
    client: GraphQLClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    await _execute(
        factory, tenant, "UPDATE dealership_settings SET stock_number_format = 'A {seq}'"
    )
    result = await _create(client, tenant)
    assert result["code"] == "INVALID_STOCK_NUMBER_FORMAT"


async def test_a_sent_stock_number_is_upper_cased_and_takes_no_sequence(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    vehicle = await _vehicle(client, tenant, stockNumber="  t-100 ", receivedOn="2024-03-01")
    assert vehicle["stockNumber"] == "T-100"
    assert vehicle["receivedOn"] == "2024-03-01"
    assert vehicle["daysInStock"] == (local_today() - date(2024, 3, 1)).days
    assert (await _settings(engine, tenant))["next_stock_sequence"] == 1


async def test_boundary_values_are_accepted(client: GraphQLClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    vehicle = await _vehicle(
        client,
        tenant,
        year=datetime.now(UTC).year + 1,
        mileage=2_000_000,
        cost=0,
        listPrice="9999999.99",
        msrp=None,
        condition="CERTIFIED",
        bodyStyle=" Sedan ",
        exteriorColor="",
    )
    assert vehicle["mileage"] == 2_000_000
    assert vehicle["cost"] == "0.00"
    assert vehicle["listPrice"] == "9999999.99"
    assert vehicle["condition"] == "CERTIFIED"
    assert vehicle["bodyStyle"] == "Sedan"
    assert vehicle["exteriorColor"] is None
    oldest = await _vehicle(client, tenant, year=1900, mileage=0)
    assert oldest["year"] == 1900


def _days_ahead(days: int) -> str:
    return (local_today() + timedelta(days=days)).isoformat()


@pytest.mark.parametrize(
    ("values", "field", "code"),
    [
        ({"vin": "1M8GDM9AXKP04278"}, "vin", "INVALID_VIN"),
        ({"vin": "1M8GDM9AXKP04278O"}, "vin", "INVALID_VIN"),
        ({"vin": "1M8GDM9A1KP042788"}, "vin", "INVALID_VIN_CHECK_DIGIT"),
        ({"year": 1899}, "year", "YEAR_OUT_OF_RANGE"),
        ({"year": datetime.now(UTC).year + 2}, "year", "YEAR_OUT_OF_RANGE"),
        ({"mileage": -1}, "mileage", "MILEAGE_OUT_OF_RANGE"),
        ({"mileage": 2_000_001}, "mileage", "MILEAGE_OUT_OF_RANGE"),
        ({"cost": "-0.01"}, "cost", "AMOUNT_OUT_OF_RANGE"),
        ({"listPrice": "10000000.00"}, "listPrice", "AMOUNT_OUT_OF_RANGE"),
        ({"msrp": "-5"}, "msrp", "AMOUNT_OUT_OF_RANGE"),
        ({"make": "  "}, "make", "REQUIRED"),
        ({"model": "x" * 101}, "model", "TOO_LONG"),
        ({"trim": "x" * 101}, "trim", "TOO_LONG"),
        ({"interiorColor": "x" * 101}, "interiorColor", "TOO_LONG"),
        ({"stockNumber": " "}, "stockNumber", "REQUIRED"),
        ({"stockNumber": "A 1"}, "stockNumber", "INVALID_STOCK_NUMBER"),
        ({"stockNumber": "X" * 33}, "stockNumber", "TOO_LONG"),
        ({"receivedOn": _days_ahead(2)}, "receivedOn", "RECEIVED_ON_IN_FUTURE"),
    ],
)
async def test_create_validation_errors_name_the_field(
    client: GraphQLClient,
    factory: Factory,
    engine: AsyncEngine,
    values: dict[str, object],
    field: str,
    code: str,
) -> None:
    tenant = await factory.tenant()
    result = await _create(client, tenant, **values)
    assert result["__typename"] == "ValidationError"
    assert result["field"] == ["input", field]
    assert result["code"] == code
    assert await _count(engine, tenant) == 0
    assert await _count(engine, tenant, "audit_logs") == 0
    assert (await _settings(engine, tenant))["next_stock_sequence"] == 1


async def test_vin_and_stock_number_are_unique_per_dealership(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    a, b = await factory.tenant(), await factory.tenant()
    first = await _vehicle(client, a, vin=VALID_VIN, stockNumber="A1")
    same_vin = await _create(client, a, vin=f" {VALID_VIN.lower()} ")
    assert same_vin["__typename"] == "ValidationError"
    assert same_vin["code"] == "VIN_TAKEN"
    assert same_vin["field"] == ["input", "vin"]
    assert "A1" in same_vin["message"]
    same_stock = await _create(client, a, stockNumber="a1")
    assert same_stock["code"] == "STOCK_NUMBER_TAKEN"
    assert same_stock["field"] == ["input", "stockNumber"]
    assert await _count(engine, a) == 1
    assert len(await _audit(engine, a)) == 1
    # Another dealership may have the same VIN and stock number.
    theirs = await _vehicle(client, b, vin=VALID_VIN, stockNumber="A1")
    assert theirs["id"] != first["id"]


async def test_unique_key_races_become_the_same_errors(
    client: GraphQLClient,
    factory: Factory,
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The check before the insert cannot see a concurrent insert; the unique keys can."""
    tenant = await factory.tenant()
    await _vehicle(client, tenant, vin=VALID_VIN, stockNumber="R1")
    other = await _vehicle(client, tenant, stockNumber="R2")

    async def no_check(*args: object, **kwargs: object) -> None:
        return None

    monkeypatch.setattr(storage, "check_unique", no_check)
    dup_vin = await _create(client, tenant, vin=VALID_VIN)
    assert (dup_vin["__typename"], dup_vin["code"], dup_vin["field"]) == (
        "ValidationError",
        "VIN_TAKEN",
        ["input", "vin"],
    )
    dup_stock = await _create(client, tenant, stockNumber="R1")
    assert (dup_stock["code"], dup_stock["field"]) == (
        "STOCK_NUMBER_TAKEN",
        ["input", "stockNumber"],
    )
    update = (
        await client.data(
            UPDATE,
            {"input": {"id": other["id"], "version": 1, "stockNumber": "R1"}},
            token=tenant.token,
        )
    )["updateVehicle"]
    assert (update["code"], update["field"]) == ("STOCK_NUMBER_TAKEN", ["input", "stockNumber"])
    assert await _count(engine, tenant) == 2
    assert len(await _audit(engine, tenant)) == 2


async def test_unauthenticated_calls_are_refused(client: GraphQLClient) -> None:
    result = await client.execute(CREATE, {"input": _input()})
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    read = await client.execute("{ inventoryCounts { status } }")
    assert read["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# --- lookups ------------------------------------------------------------------------------


async def test_lookups_by_id_node_vin_and_stock_number(
    client: GraphQLClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    vehicle = await _vehicle(client, tenant, vin=VALID_VIN, stockNumber="L-7")
    data = await client.data(
        """query($id: ID!, $vin: String!, $stock: String!) {
             vehicle(id: $id) { stockNumber }
             node(id: $id) { __typename ... on Vehicle { vin } }
             vehicleByVin(vin: $vin) { id }
             vehicleByStockNumber(stockNumber: $stock) { id }
             missingVin: vehicleByVin(vin: "1HGCM82633A004352") { id }
             missingStock: vehicleByStockNumber(stockNumber: "NOPE") { id }
           }""",
        {"id": vehicle["id"], "vin": VALID_VIN.lower(), "stock": " l-7 "},
        token=tenant.token,
    )
    assert data == {
        "vehicle": {"stockNumber": "L-7"},
        "node": {"__typename": "Vehicle", "vin": VALID_VIN},
        "vehicleByVin": {"id": vehicle["id"]},
        "vehicleByStockNumber": {"id": vehicle["id"]},
        "missingVin": None,
        "missingStock": None,
    }
    bad = await client.execute('{ vehicle(id: "nonsense") { id } }', token=tenant.token)
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_ID"


async def test_days_in_stock_counts_the_dealerships_local_days(
    client: GraphQLClient, factory: Factory
) -> None:
    """UTC+14 and UTC-11 are always on different dates: the same received day is a different
    number of days ago in each, and the filters agree with the field."""
    east_zone, west_zone = ZoneInfo("Pacific/Kiritimati"), ZoneInfo("Pacific/Pago_Pago")
    east = await factory.tenant(time_zone="Pacific/Kiritimati")
    west = await factory.tenant(time_zone="Pacific/Pago_Pago")
    received = local_today(west_zone)
    for tenant in (east, west):
        await factory.vehicle(tenant, stock_number="TZ1", received_on=received)
    query = """query($filter: VehicleFilter) { vehicles(filter: $filter) {
                 nodes { daysInStock } } }"""
    for tenant, zone in ((east, east_zone), (west, west_zone)):
        nodes = (await client.data(query, token=tenant.token))["vehicles"]["nodes"]
        days = (local_today(zone) - received).days
        assert nodes == [{"daysInStock": days}]
        exact = {"daysInStockMin": days, "daysInStockMax": days}
        found = await client.data(query, {"filter": exact}, token=tenant.token)
        assert len(found["vehicles"]["nodes"]) == 1
    fresh = {"filter": {"daysInStockMax": 0}}
    assert len((await client.data(query, fresh, token=west.token))["vehicles"]["nodes"]) == 1
    assert (await client.data(query, fresh, token=east.token))["vehicles"]["nodes"] == []


async def test_listing_is_a_fixed_number_of_statements(
    client: GraphQLClient, factory: Factory, app: Starlette
) -> None:
    tenant = await factory.tenant()
    query = "{ vehicles(first: 50) { nodes { title daysInStock cost } totalCount } }"
    counts = []
    for _ in range(2):
        for _ in range(3):
            await factory.vehicle(tenant)
        with count_statements(app.state.dealerdesk.engine.sync_engine) as log:
            await client.data(query, token=tenant.token)
        counts.append(len(log.data_statements))
    assert counts[0] == counts[1]
    assert counts[0] <= 3  # the page, today in the dealership's zone, the total


# --- update -------------------------------------------------------------------------------


async def test_update_changes_only_what_is_sent_and_audits(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    created = await _vehicle(client, tenant, msrp="25000.00", exteriorColor="Blue")
    data = await client.data(
        UPDATE,
        {
            "input": {
                "id": created["id"],
                "version": 1,
                "listPrice": "20995",
                "msrp": None,
                "trim": "  Sport ",
                "vin": VALID_VIN,
                "stockNumber": "new-1",
            }
        },
        token=tenant.token,
    )
    updated = data["updateVehicle"]
    assert updated["__typename"] == "UpdateVehicleSuccess"
    vehicle = updated["vehicle"]
    assert vehicle["listPrice"] == "20995.00"
    assert vehicle["msrp"] is None
    assert vehicle["trim"] == "Sport"
    assert vehicle["vin"] == VALID_VIN
    assert vehicle["stockNumber"] == "NEW-1"
    assert vehicle["exteriorColor"] == "Blue"  # untouched
    assert vehicle["version"] == 2
    audit = await _audit(engine, tenant)
    assert audit[-1]["action"] == "vehicle.update"
    assert audit[-1]["changes"] == {
        "list_price": {"before": "21995.00", "after": "20995.00"},
        "msrp": {"before": "25000.00", "after": None},
        "stock_number": {"before": created["stockNumber"], "after": "NEW-1"},
        "trim": {"before": "EX", "after": "Sport"},
        "version": {"before": 1, "after": 2},
        "vin": {"before": created["vin"], "after": VALID_VIN},
    }


async def test_an_update_that_changes_nothing_keeps_the_version(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    created = await _vehicle(client, tenant)
    data = await client.data(
        UPDATE,
        {
            "input": {
                "id": created["id"],
                "version": 1,
                "make": "Honda",
                "vin": created["vin"].lower(),
                "stockNumber": created["stockNumber"].lower(),
            }
        },
        token=tenant.token,
    )
    assert data["updateVehicle"]["vehicle"]["version"] == 1
    assert len(await _audit(engine, tenant)) == 1


@pytest.mark.parametrize(
    ("values", "field", "code"),
    [
        ({"make": None}, "make", "REQUIRED"),
        ({"year": None}, "year", "REQUIRED"),
        ({"mileage": None}, "mileage", "REQUIRED"),
        ({"listPrice": None}, "listPrice", "REQUIRED"),
        ({"condition": None}, "condition", "REQUIRED"),
        ({"vin": None}, "vin", "REQUIRED"),
        ({"stockNumber": None}, "stockNumber", "REQUIRED"),
        ({"receivedOn": None}, "receivedOn", "REQUIRED"),
        ({"vin": "1M8GDM9A1KP042788"}, "vin", "INVALID_VIN_CHECK_DIGIT"),
        ({"year": 1776}, "year", "YEAR_OUT_OF_RANGE"),
        ({"cost": "10000000"}, "cost", "AMOUNT_OUT_OF_RANGE"),
        ({"receivedOn": _days_ahead(3)}, "receivedOn", "RECEIVED_ON_IN_FUTURE"),
    ],
)
async def test_update_validation_errors_name_the_field(
    client: GraphQLClient,
    factory: Factory,
    engine: AsyncEngine,
    values: dict[str, object],
    field: str,
    code: str,
) -> None:
    tenant = await factory.tenant()
    vehicle_id = await factory.vehicle(tenant)
    result = (
        await client.data(
            UPDATE,
            {"input": {"id": to_global_id("Vehicle", vehicle_id), "version": 1, **values}},
            token=tenant.token,
        )
    )["updateVehicle"]
    assert (result["__typename"], result["field"], result["code"]) == (
        "ValidationError",
        ["input", field],
        code,
    )
    assert await scalar(engine, tenant.dealership_id, "SELECT version FROM vehicles") == 1
    assert await _count(engine, tenant, "audit_logs") == 0


async def test_update_refuses_another_vehicles_vin_or_stock_number(
    client: GraphQLClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    await factory.vehicle(tenant, vin=VALID_VIN, stock_number="TAKEN")
    mine = await _vehicle(client, tenant)
    for values, code, field in (
        ({"vin": VALID_VIN}, "VIN_TAKEN", "vin"),
        ({"stockNumber": "taken"}, "STOCK_NUMBER_TAKEN", "stockNumber"),
    ):
        result = (
            await client.data(
                UPDATE, {"input": {"id": mine["id"], "version": 1, **values}}, token=tenant.token
            )
        )["updateVehicle"]
        assert (result["code"], result["field"]) == (code, ["input", field])


async def test_a_stale_version_is_a_conflict_and_changes_nothing(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    created = await _vehicle(client, tenant)
    ok = await client.data(
        UPDATE, {"input": {"id": created["id"], "version": 1, "mileage": 13000}}, token=tenant.token
    )
    assert ok["updateVehicle"]["vehicle"]["version"] == 2
    for query, name, extra in (
        (UPDATE, "updateVehicle", {"mileage": 14000}),
        (STATUS, "changeVehicleStatus", {"status": "ON_HOLD"}),
        (DELETE, "deleteVehicle", {}),
    ):
        result = (
            await client.data(
                query, {"input": {"id": created["id"], "version": 1, **extra}}, token=tenant.token
            )
        )[name]
        assert result["__typename"] == "VersionConflictError"
        assert result["currentVersion"] == 2
    found = await rows(engine, tenant.dealership_id, "SELECT mileage, status FROM vehicles")
    assert found == [{"mileage": 13000, "status": "available"}]


# --- tenancy and ids ----------------------------------------------------------------------


async def test_another_dealerships_vehicle_cannot_be_read_or_changed(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    a, b = await factory.tenant(), await factory.tenant()
    theirs = await _vehicle(client, b, vin=VALID_VIN, stockNumber="B-ONLY")
    read = await client.data(
        """query($id: ID!) { vehicle(id: $id) { id } node(id: $id) { id }
             vehicleByVin(vin: "1M8GDM9AXKP042788") { id }
             vehicleByStockNumber(stockNumber: "B-ONLY") { id }
             vehicles { totalCount } inventoryCounts { count }
             inventorySummary { totalCount totalListPrice } }""",
        {"id": theirs["id"]},
        token=a.token,
    )
    assert read["vehicle"] is None
    assert read["node"] is None
    assert read["vehicleByVin"] is None
    assert read["vehicleByStockNumber"] is None
    assert read["vehicles"]["totalCount"] == 0
    assert {c["count"] for c in read["inventoryCounts"]} == {0}
    assert read["inventorySummary"] == {"totalCount": 0, "totalListPrice": "0.00"}

    for query, name, extra in (
        (UPDATE, "updateVehicle", {"listPrice": "1.00"}),
        (STATUS, "changeVehicleStatus", {"status": "WHOLESALE"}),
        (DELETE, "deleteVehicle", {}),
    ):
        result = (
            await client.data(
                query, {"input": {"id": theirs["id"], "version": 1, **extra}}, token=a.token
            )
        )[name]
        assert result["__typename"] == "MultiTenantViolationError", name
        assert result["field"] == ["input", "id"]
    found = await rows(engine, b.dealership_id, "SELECT list_price, status, version FROM vehicles")
    assert found == [{"list_price": Decimal("21995.00"), "status": "available", "version": 1}]
    assert len(await _audit(engine, b)) == 1
    assert await _count(engine, a, "audit_logs") == 0
    events = await rows(
        engine, a.dealership_id, "SELECT event, details FROM security_audit_logs ORDER BY id"
    )
    assert [e["event"] for e in events] == ["tenant.cross_tenant_write"] * 3
    assert {e["details"]["entity"] for e in events} == {"Vehicle"}


async def test_unknown_and_malformed_ids(client: GraphQLClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    missing = to_global_id("Vehicle", 999_999_999)
    for query, name in ((UPDATE, "updateVehicle"), (DELETE, "deleteVehicle")):
        result = (
            await client.data(query, {"input": {"id": missing, "version": 1}}, token=tenant.token)
        )[name]
        assert result["__typename"] == "ResourceNotFoundError"
        assert result["field"] == ["input", "id"]
        wrong = (
            await client.data(
                query,
                {"input": {"id": to_global_id("Customer", 1), "version": 1}},
                token=tenant.token,
            )
        )[name]
        assert (wrong["code"], wrong["field"]) == ("INVALID_ID", ["input", "id"])


# --- status -------------------------------------------------------------------------------


async def _status(
    client: GraphQLClient, tenant: Tenant, vehicle_id: int, status: str, version: int = 1
) -> dict[str, object]:
    data = await client.data(
        STATUS,
        {
            "input": {
                "id": to_global_id("Vehicle", vehicle_id),
                "version": version,
                "status": status,
            }
        },
        token=tenant.token,
    )
    result = data["changeVehicleStatus"]
    assert isinstance(result, dict)
    return result


async def test_change_status_by_hand_and_audit(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    vehicle_id = await factory.vehicle(tenant)
    held = await _status(client, tenant, vehicle_id, "ON_HOLD")
    assert held["__typename"] == "ChangeVehicleStatusSuccess"
    assert held["vehicle"]["status"] == "ON_HOLD"
    assert held["vehicle"]["version"] == 2
    same = await _status(client, tenant, vehicle_id, "ON_HOLD", version=2)
    assert same["vehicle"]["version"] == 2  # no change, no new version
    for n, status in enumerate(("IN_TRANSIT", "WHOLESALE", "AVAILABLE"), start=2):
        done = await _status(client, tenant, vehicle_id, status, version=n)
        assert done["vehicle"]["status"] == status
    audit = await _audit(engine, tenant)
    assert [a["action"] for a in audit] == ["vehicle.change_status"] * 4
    assert audit[0]["changes"] == {
        "status": {"before": "available", "after": "on_hold"},
        "version": {"before": 1, "after": 2},
    }


@pytest.mark.parametrize("status", ["PENDING", "SOLD"])
async def test_deal_statuses_cannot_be_set_by_hand(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine, status: str
) -> None:
    tenant = await factory.tenant()
    vehicle_id = await factory.vehicle(tenant)
    result = await _status(client, tenant, vehicle_id, status)
    assert (result["__typename"], result["code"], result["field"]) == (
        "ValidationError",
        "STATUS_SET_BY_DEALS",
        ["input", "status"],
    )
    assert await scalar(engine, tenant.dealership_id, "SELECT status FROM vehicles") == "available"
    assert await _count(engine, tenant, "audit_logs") == 0


@pytest.mark.parametrize("deal_status", list(DealStatus))
async def test_a_vehicle_held_by_a_live_deal_keeps_its_status(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine, deal_status: DealStatus
) -> None:
    tenant = await factory.tenant()
    vehicle_id = await factory.vehicle(tenant, status=VehicleStatus.PENDING)
    await _deal(factory, tenant, vehicle_id, deal_status)
    result = await _status(client, tenant, vehicle_id, "AVAILABLE")
    if deal_status in (
        DealStatus.OPEN,
        DealStatus.PENDING_APPROVAL,
        DealStatus.APPROVED,
        DealStatus.CONTRACTED,
    ):
        assert (result["code"], result["field"]) == ("VEHICLE_HELD_BY_DEAL", ["input", "id"])
        assert await _count(engine, tenant, "audit_logs") == 0
    else:
        assert result["__typename"] == "ChangeVehicleStatusSuccess"


async def test_a_sold_vehicle_returns_only_through_its_deal(
    client: GraphQLClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    vehicle_id = await factory.vehicle(tenant, status=VehicleStatus.SOLD, sold_at=datetime.now(UTC))
    await _deal(factory, tenant, vehicle_id, DealStatus.DELIVERED)
    result = await _status(client, tenant, vehicle_id, "AVAILABLE")
    assert (result["code"], result["field"]) == ("VEHICLE_SOLD", ["input", "id"])


# --- delete -------------------------------------------------------------------------------


async def _delete(client: GraphQLClient, tenant: Tenant, vehicle_id: int) -> dict[str, object]:
    data = await client.data(
        DELETE,
        {"input": {"id": to_global_id("Vehicle", vehicle_id), "version": 1}},
        token=tenant.token,
    )
    result = data["deleteVehicle"]
    assert isinstance(result, dict)
    return result


async def test_delete_removes_the_vehicle_and_audits(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    vehicle_id = await factory.vehicle(tenant, stock_number="DEL-1")
    customer_id = await factory.customer(tenant)
    starts = datetime.now(UTC) + timedelta(days=1)
    appointment = Appointment(
        dealership_id=tenant.dealership_id,
        customer_id=customer_id,
        user_id=tenant.users[Role.SALESPERSON],
        vehicle_id=vehicle_id,
        type=AppointmentType.TEST_DRIVE,
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
    )

    async def add(session: AsyncSession) -> None:
        session.add(appointment)

    await factory.run(tenant.dealership_id, add)
    result = await _delete(client, tenant, vehicle_id)
    assert result == {
        "__typename": "DeleteVehicleSuccess",
        "deletedVehicleId": to_global_id("Vehicle", vehicle_id),
    }
    assert await _count(engine, tenant) == 0
    # The appointment stays, without the vehicle.
    assert await scalar(engine, tenant.dealership_id, "SELECT vehicle_id FROM appointments") is None
    audit = await _audit(engine, tenant)
    assert [(a["action"], a["entity_id"]) for a in audit] == [("vehicle.delete", vehicle_id)]
    assert audit[0]["changes"]["stock_number"] == {"before": "DEL-1", "after": None}
    gone = await client.data(
        "query($id: ID!) { vehicle(id: $id) { id } }",
        {"id": to_global_id("Vehicle", vehicle_id)},
        token=tenant.token,
    )
    assert gone == {"vehicle": None}


async def test_delete_is_refused_while_deals_or_quotes_refer_to_the_vehicle(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    with_deal = await factory.vehicle(tenant)
    await _deal(factory, tenant, with_deal, DealStatus.LOST)  # any deal, live or not
    with_quote = await factory.vehicle(tenant)
    await _quick_quote(factory, tenant, with_quote)
    for vehicle_id in (with_deal, with_quote):
        result = await _delete(client, tenant, vehicle_id)
        assert (result["__typename"], result["code"], result["field"]) == (
            "ValidationError",
            "VEHICLE_HAS_DEALS",
            ["input", "id"],
        )
    assert await _count(engine, tenant) == 2
    assert await _count(engine, tenant, "audit_logs") == 0


async def test_delete_turns_the_foreign_key_refusal_into_the_same_error(
    client: GraphQLClient,
    factory: Factory,
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A deal made between the check and the delete: the foreign key refuses, cleanly."""
    tenant = await factory.tenant()
    with_deal = await factory.vehicle(tenant)
    await _deal(factory, tenant, with_deal)
    with_quote = await factory.vehicle(tenant)
    await _quick_quote(factory, tenant, with_quote)

    async def unchecked(*args: object) -> bool:
        return False

    monkeypatch.setattr(storage, "has_deals", unchecked)
    for vehicle_id in (with_deal, with_quote):
        result = await _delete(client, tenant, vehicle_id)
        assert (result["__typename"], result["code"]) == ("ValidationError", "VEHICLE_HAS_DEALS")
    assert await _count(engine, tenant) == 2
    assert await _count(engine, tenant, "audit_logs") == 0


# --- lists: filters, sorting, pagination ---------------------------------------------------


async def _stock(client: GraphQLClient, tenant: Tenant, variables: dict[str, object]) -> list[str]:
    data = await client.data(LIST, {"first": 100, **variables}, token=tenant.token)
    return [n["stockNumber"] for n in data["vehicles"]["nodes"]]


@pytest.fixture
async def lot(factory: Factory) -> Tenant:
    """Five vehicles with distinct attributes (received N days ago, in New York days)."""
    tenant = await factory.tenant()
    today = local_today()
    specs: list[tuple[str, dict[str, object]]] = [
        (
            "A1",
            {
                "make": "Honda",
                "model": "Civic",
                "trim": "EX",
                "year": 2022,
                "condition": VehicleCondition.USED,
                "mileage": 30000,
                "list_price": Decimal("21995.00"),
                "received_on": today - timedelta(days=5),
                "vin": VALID_VIN,
            },
        ),
        (
            "B2",
            {
                "make": "Honda",
                "model": "Accord",
                "trim": "Touring",
                "year": 2024,
                "condition": VehicleCondition.NEW,
                "mileage": 10,
                "list_price": Decimal("38500.00"),
                "received_on": today,
                "status": VehicleStatus.ON_HOLD,
            },
        ),
        (
            "C3",
            {
                "make": "Toyota",
                "model": "Camry",
                "trim": "SE",
                "year": 2019,
                "condition": VehicleCondition.CERTIFIED,
                "mileage": 60000,
                "list_price": Decimal("18750.50"),
                "received_on": today - timedelta(days=90),
                "status": VehicleStatus.SOLD,
            },
        ),
        (
            "D4",
            {
                "make": "Ford",
                "model": "F-150",
                "trim": None,
                "year": 2021,
                "condition": VehicleCondition.USED,
                "mileage": 45000,
                "list_price": Decimal("32000.00"),
                "received_on": today - timedelta(days=30),
                "status": VehicleStatus.IN_TRANSIT,
            },
        ),
        (
            "E5",
            {
                "make": "Toyota",
                "model": "Corolla",
                "trim": "LE",
                "year": 2022,
                "condition": VehicleCondition.NEW,
                "mileage": 5,
                "list_price": Decimal("23000.00"),
                "received_on": today - timedelta(days=1),
            },
        ),
    ]
    for n, (stock_number, values) in enumerate(specs):
        # Fixed VINs, so that no search term below matches a VIN by chance.
        values.setdefault("vin", make_vin(random.Random(n)))
        await factory.vehicle(tenant, stock_number=stock_number, **values)
    return tenant


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({}, ["D4", "B2", "A1", "C3", "E5"]),
        ({"status": ["AVAILABLE"]}, ["A1", "E5"]),
        ({"status": ["ON_HOLD", "SOLD"]}, ["B2", "C3"]),
        ({"status": []}, ["D4", "B2", "A1", "C3", "E5"]),
        ({"condition": ["NEW"]}, ["B2", "E5"]),
        ({"condition": ["USED", "CERTIFIED"]}, ["D4", "A1", "C3"]),
        ({"yearMin": 2022}, ["B2", "A1", "E5"]),
        ({"yearMax": 2021}, ["D4", "C3"]),
        ({"yearMin": 2021, "yearMax": 2022}, ["D4", "A1", "E5"]),
        ({"make": "tOYOTA"}, ["C3", "E5"]),
        ({"make": "Toyo"}, []),
        ({"make": "honda", "model": " civic "}, ["A1"]),
        ({"model": "f-150"}, ["D4"]),
        ({"search": "cam"}, ["C3"]),
        ({"search": "HONDA"}, ["B2", "A1"]),
        ({"search": "honda ex"}, ["A1"]),
        ({"search": "tour"}, ["B2"]),
        ({"search": "042788"}, ["A1"]),
        ({"search": "e5"}, ["E5"]),
        ({"search": "2019"}, ["C3"]),
        ({"search": "100%"}, []),
        ({"search": "  "}, ["D4", "B2", "A1", "C3", "E5"]),
        ({"priceMin": "23000"}, ["D4", "B2", "E5"]),
        ({"priceMax": "21995.00"}, ["A1", "C3"]),
        ({"priceMin": "18750.50", "priceMax": "18750.50"}, ["C3"]),
        ({"mileageMax": 10}, ["B2", "E5"]),
        ({"daysInStockMin": 5}, ["D4", "A1", "C3"]),
        ({"daysInStockMax": 1}, ["B2", "E5"]),
        ({"daysInStockMin": 1, "daysInStockMax": 30}, ["D4", "A1", "E5"]),
        ({"status": ["AVAILABLE"], "condition": ["NEW"], "priceMax": "30000"}, ["E5"]),
    ],
)
async def test_filters(
    client: GraphQLClient, lot: Tenant, flt: dict[str, object], expected: list[str]
) -> None:
    assert await _stock(client, lot, {"filter": flt}) == expected
    data = await client.data(LIST, {"filter": flt, "first": 1}, token=lot.token)
    assert data["vehicles"]["totalCount"] == len(expected)


@pytest.mark.parametrize(
    ("flt", "field"),
    [
        ({"yearMin": 2023, "yearMax": 2020}, "yearMax"),
        ({"priceMin": "2", "priceMax": "1"}, "priceMax"),
        ({"daysInStockMin": 9, "daysInStockMax": 2}, "daysInStockMax"),
    ],
)
async def test_an_empty_range_is_refused(
    client: GraphQLClient, factory: Factory, flt: dict[str, object], field: str
) -> None:
    tenant = await factory.tenant()
    result = await client.execute(LIST, {"filter": flt}, token=tenant.token)
    assert result["data"] is None
    error = result["errors"][0]
    assert error["extensions"]["code"] == "INVALID_RANGE"
    assert field in error["message"]


@pytest.mark.parametrize(
    ("field", "ascending"),
    [
        ("LIST_PRICE", ["C3", "A1", "E5", "D4", "B2"]),
        ("YEAR", ["C3", "D4", "A1", "E5", "B2"]),
        ("MILEAGE", ["E5", "B2", "A1", "D4", "C3"]),
        ("RECEIVED_ON", ["C3", "D4", "A1", "E5", "B2"]),
        ("CREATED_AT", ["A1", "B2", "C3", "D4", "E5"]),
        ("MAKE_MODEL", ["D4", "B2", "A1", "C3", "E5"]),
    ],
)
async def test_sorting_both_ways(
    client: GraphQLClient, lot: Tenant, field: str, ascending: list[str]
) -> None:
    asc = await _stock(client, lot, {"orderBy": {"field": field, "direction": "ASC"}})
    assert asc == ascending
    desc = await _stock(client, lot, {"orderBy": {"field": field, "direction": "DESC"}})
    assert desc == list(reversed(ascending))


async def _walk(
    client: GraphQLClient, tenant: Tenant, order: dict[str, str], size: int
) -> tuple[list[str], list[str]]:
    """Every page forwards with `first`, then backwards with `last`."""
    forwards: list[str] = []
    after = None
    while True:
        data = await client.data(
            LIST, {"first": size, "after": after, "orderBy": order}, token=tenant.token
        )
        page = data["vehicles"]
        forwards += [n["stockNumber"] for n in page["nodes"]]
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    backwards: list[str] = []
    before = None
    while True:
        data = await client.data(
            LIST, {"last": size, "before": before, "orderBy": order}, token=tenant.token
        )
        page = data["vehicles"]
        backwards = [n["stockNumber"] for n in page["nodes"]] + backwards
        assert page["pageInfo"]["hasNextPage"] is (before is not None)
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    return forwards, backwards


@pytest.mark.parametrize("field", ["YEAR", "MAKE_MODEL", "LIST_PRICE", "RECEIVED_ON"])
async def test_paging_through_ties_misses_and_repeats_nothing(
    client: GraphQLClient, factory: Factory, field: str
) -> None:
    tenant = await factory.tenant()
    today = local_today()
    for n in range(7):
        await factory.vehicle(
            tenant,
            stock_number=f"P{n}",
            year=2020 + n % 2,
            make="Kia" if n % 3 else "Audi",
            model="Soul",
            list_price=Decimal("15000.00") + n % 2,
            received_on=today - timedelta(days=n % 2),
        )
    for direction in ("ASC", "DESC"):
        order = {"field": field, "direction": direction}
        everything = await _stock(client, tenant, {"orderBy": order})
        assert sorted(everything) == [f"P{n}" for n in range(7)]
        forwards, backwards = await _walk(client, tenant, order, size=3)
        assert forwards == everything
        assert backwards == everything


async def test_pagination_edges(client: GraphQLClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    empty = (await client.data(LIST, {"first": 10}, token=tenant.token))["vehicles"]
    assert empty == {
        "totalCount": 0,
        "nodes": [],
        "pageInfo": {
            "hasNextPage": False,
            "hasPreviousPage": False,
            "startCursor": None,
            "endCursor": None,
        },
    }
    for n in range(3):
        await factory.vehicle(tenant, stock_number=f"S{n}", make=f"Make{n}")
    exact = (await client.data(LIST, {"first": 3}, token=tenant.token))["vehicles"]
    assert exact["pageInfo"]["hasNextPage"] is False
    last = (
        await client.data(
            LIST, {"first": 2, "after": exact["pageInfo"]["startCursor"]}, token=tenant.token
        )
    )["vehicles"]
    assert [n["stockNumber"] for n in last["nodes"]] == ["S1", "S2"]
    assert last["pageInfo"]["hasNextPage"] is False
    past_the_end = (
        await client.data(
            LIST, {"first": 2, "after": exact["pageInfo"]["endCursor"]}, token=tenant.token
        )
    )["vehicles"]
    assert past_the_end["nodes"] == []
    assert past_the_end["pageInfo"]["hasNextPage"] is False
    tail = (await client.data(LIST, {"last": 2}, token=tenant.token))["vehicles"]
    assert [n["stockNumber"] for n in tail["nodes"]] == ["S1", "S2"]
    assert tail["pageInfo"]["hasPreviousPage"] is True


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"first": 101}, "PAGE_SIZE_OUT_OF_RANGE"),
        ({"last": 0}, "PAGE_SIZE_OUT_OF_RANGE"),
        ({"first": 1, "last": 1}, "INVALID_ARGUMENTS"),
        ({"after": "garbage"}, "INVALID_CURSOR"),
        ({"before": "garbage"}, "INVALID_CURSOR"),
    ],
)
async def test_bad_pagination_arguments(
    client: GraphQLClient, factory: Factory, variables: dict[str, object], code: str
) -> None:
    tenant = await factory.tenant()
    result = await client.execute(LIST, variables, token=tenant.token)
    assert result["data"] is None
    assert result["errors"][0]["extensions"]["code"] == code


async def test_a_cursor_of_another_sort_order_is_refused(
    client: GraphQLClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    await factory.vehicle(tenant)
    await factory.vehicle(tenant)
    by_year = (
        await client.data(LIST, {"first": 1, "orderBy": {"field": "YEAR"}}, token=tenant.token)
    )["vehicles"]
    result = await client.execute(
        LIST,
        {"first": 1, "after": by_year["pageInfo"]["endCursor"], "orderBy": {"field": "MAKE_MODEL"}},
        token=tenant.token,
    )
    assert result["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"


# --- counts -------------------------------------------------------------------------------


async def test_inventory_counts_and_summary(client: GraphQLClient, lot: Tenant) -> None:
    data = await client.data(
        """{ inventoryCounts { status count }
             inventorySummary { totalCount totalListPrice totalCost
                                byStatus { status count totalListPrice totalCost } } }""",
        token=lot.token,
    )
    assert data["inventoryCounts"] == [
        {"status": "AVAILABLE", "count": 2},
        {"status": "ON_HOLD", "count": 1},
        {"status": "PENDING", "count": 0},
        {"status": "SOLD", "count": 1},
        {"status": "IN_TRANSIT", "count": 1},
        {"status": "WHOLESALE", "count": 0},
    ]
    summary = data["inventorySummary"]
    assert summary["totalCount"] == 5
    assert summary["totalListPrice"] == "134245.50"
    assert summary["totalCost"] == "90000.00"  # the factory's cost of 18000.00 each
    by_status = {s["status"]: s for s in summary["byStatus"]}
    assert by_status["AVAILABLE"] == {
        "status": "AVAILABLE",
        "count": 2,
        "totalListPrice": "44995.00",
        "totalCost": "36000.00",
    }
    assert by_status["WHOLESALE"] == {
        "status": "WHOLESALE",
        "count": 0,
        "totalListPrice": "0.00",
        "totalCost": "0.00",
    }


async def test_counts_follow_writes(client: GraphQLClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    query = "{ inventoryCounts { status count } }"

    async def counts() -> dict[str, int]:
        data = await client.data(query, token=tenant.token)
        return {c["status"]: c["count"] for c in data["inventoryCounts"]}

    assert set((await counts()).values()) == {0}
    created = await _vehicle(client, tenant)
    assert (await counts())["AVAILABLE"] == 1
    await _status(client, tenant, pk(created["id"]), "WHOLESALE")
    now = await counts()
    assert (now["WHOLESALE"], now["AVAILABLE"]) == (1, 0)
