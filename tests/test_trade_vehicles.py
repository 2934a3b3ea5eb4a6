"""Trade-ins through the real app: adding one to a deal (and its customer), validation,
partial updates, removal, what new scenarios default to, tenancy and the audit trail."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from db.seed import make_vin
from tests.conftest import GraphQLClient
from tests.deals_support import audit, deal_version, gid, mutate
from tests.factories import Factory, Tenant
from tests.helpers import pk, scalar

TRADE = """tradeVehicle { id vin year make model trim mileage allowance actualCashValue
                          payoffAmount payoffLender deal { id } customer { id } }"""

VIN = make_vin(random.Random(42))


def trade_input(deal_id: int, **values: object) -> dict[str, object]:
    return {
        "dealId": gid("Deal", deal_id),
        "year": 2018,
        "make": "Subaru",
        "model": "Outback",
        "mileage": 64000,
        "allowance": "12500.00",
        "payoffAmount": "4200.50",
        **values,
    }


async def trade_count(engine: AsyncEngine, tenant: Tenant) -> object:
    return await scalar(engine, tenant.dealership_id, "SELECT count(*) FROM trade_vehicles")


async def test_add_a_trade_vehicle_to_a_deal_and_its_customer(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    customer = await factory.customer(tenant)
    deal_id = await factory.deal(tenant, customer_id=customer)
    result = await mutate(
        client,
        tenant.token,
        "addTradeVehicle",
        trade_input(
            deal_id,
            vin=f" {VIN.lower()} ",
            trim=" Limited ",
            actualCashValue="11800",
            payoffLender="Ally",
        ),
        f"{TRADE} deal {{ version tradeVehicles {{ id }} }}",
    )
    assert result["__typename"] == "AddTradeVehicleSuccess"
    trade = result["tradeVehicle"]
    assert {k: v for k, v in trade.items() if k != "id"} == {
        "vin": VIN,
        "year": 2018,
        "make": "Subaru",
        "model": "Outback",
        "trim": "Limited",
        "mileage": 64000,
        "allowance": "12500.00",
        "actualCashValue": "11800.00",
        "payoffAmount": "4200.50",
        "payoffLender": "Ally",
        "deal": {"id": gid("Deal", deal_id)},
        "customer": {"id": gid("Customer", customer)},
    }
    assert result["deal"] == {"version": 2, "tradeVehicles": [{"id": trade["id"]}]}
    [entry] = await audit(engine, tenant)
    assert (entry["action"], entry["entity_type"], entry["entity_id"]) == (
        "trade_vehicle.create",
        "TradeVehicle",
        pk(trade["id"]),
    )
    assert entry["changes"]["allowance"] == {"before": None, "after": "12500.00"}

    read = await client.data(
        """query($t: ID!, $c: ID!) { tradeVehicle(id: $t) { id make }
             node(id: $t) { ... on TradeVehicle { model } }
             customer(id: $c) { tradeVehicles { id } } }""",
        {"t": trade["id"], "c": gid("Customer", customer)},
        token=tenant.token,
    )
    assert read == {
        "tradeVehicle": {"id": trade["id"], "make": "Subaru"},
        "node": {"model": "Outback"},
        "customer": {"tradeVehicles": [{"id": trade["id"]}]},
    }


async def test_new_scenarios_default_to_the_trade_in_totals(
    client: GraphQLClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    deal_id = await factory.deal(tenant, trade_vehicles=1)  # 6,000 allowance, 1,500 payoff
    await mutate(client, tenant.token, "addTradeVehicle", trade_input(deal_id))
    result = await mutate(
        client,
        tenant.token,
        "createDealScenario",
        {"dealId": gid("Deal", deal_id), "type": "CASH"},
        "scenario { tradeAllowance tradePayoff }",
    )
    assert result["scenario"] == {"tradeAllowance": "18500.00", "tradePayoff": "5700.50"}


@pytest.mark.parametrize(
    ("values", "field", "code"),
    [
        ({"vin": "1HGCM82633A00435"}, "vin", "INVALID_VIN"),
        (
            {"vin": VIN[:8] + ("0" if VIN[8] != "0" else "1") + VIN[9:]},
            "vin",
            "INVALID_VIN_CHECK_DIGIT",
        ),
        ({"year": 1899}, "year", "INVALID_YEAR"),
        ({"year": datetime.now(UTC).year + 2}, "year", "INVALID_YEAR"),
        ({"make": " "}, "make", "REQUIRED"),
        ({"model": "x" * 101}, "model", "TOO_LONG"),
        ({"trim": "x" * 101}, "trim", "TOO_LONG"),
        ({"mileage": -1}, "mileage", "INVALID_MILEAGE"),
        ({"allowance": "-1"}, "allowance", "NEGATIVE_AMOUNT"),
        ({"actualCashValue": "-0.01"}, "actualCashValue", "NEGATIVE_AMOUNT"),
        ({"payoffAmount": "-5"}, "payoffAmount", "NEGATIVE_AMOUNT"),
        ({"allowance": "10000000.01"}, "allowance", "AMOUNT_TOO_LARGE"),
        ({"dealId": "nonsense"}, "dealId", "INVALID_ID"),
    ],
)
async def test_add_validation_errors_name_the_field(
    client: GraphQLClient,
    factory: Factory,
    engine: AsyncEngine,
    values: dict[str, object],
    field: str,
    code: str,
) -> None:
    tenant = await factory.tenant()
    deal_id = await factory.deal(tenant)
    result = await mutate(client, tenant.token, "addTradeVehicle", trade_input(deal_id, **values))
    assert result["__typename"] == "ValidationError"
    assert (result["field"], result["code"]) == (["input", field], code)
    assert await trade_count(engine, tenant) == 0
    assert await audit(engine, tenant) == []
    assert await deal_version(engine, tenant, deal_id) == 1


async def test_add_to_a_closed_foreign_or_unknown_deal(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    a, b = await factory.tenant(), await factory.tenant()
    cases = [
        (await factory.deal(a, status="contracted"), "ValidationError", "DEAL_NOT_EDITABLE"),
        (await factory.deal(b), "MultiTenantViolationError", "CROSS_TENANT"),
        (999_999_999, "ResourceNotFoundError", "NOT_FOUND"),
    ]
    for deal_id, typename, code in cases:
        result = await mutate(client, a.token, "addTradeVehicle", trade_input(deal_id))
        assert (result["__typename"], result["code"], result["field"]) == (
            typename,
            code,
            ["input", "dealId"],
        )
    assert (await trade_count(engine, a), await trade_count(engine, b)) == (0, 0)
    assert (await audit(engine, a), await audit(engine, b)) == ([], [])


async def test_update_a_trade_vehicle(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    deal_id = await factory.deal(tenant)
    added = await mutate(
        client, tenant.token, "addTradeVehicle", trade_input(deal_id, vin=VIN), TRADE
    )
    trade_id = added["tradeVehicle"]["id"]
    result = await mutate(
        client,
        tenant.token,
        "updateTradeVehicle",
        {"id": trade_id, "allowance": "13000", "vin": None, "payoffLender": "Chase"},
        TRADE,
    )
    assert result["__typename"] == "UpdateTradeVehicleSuccess"
    trade = result["tradeVehicle"]
    assert (trade["allowance"], trade["vin"], trade["payoffLender"]) == ("13000.00", None, "Chase")
    assert trade["make"] == "Subaru"  # untouched
    entries = await audit(engine, tenant)
    assert [e["action"] for e in entries] == ["trade_vehicle.create", "trade_vehicle.update"]
    assert entries[1]["changes"] == {
        "allowance": {"before": "12500.00", "after": "13000.00"},
        "payoff_lender": {"before": None, "after": "Chase"},
        "vin": {"before": VIN, "after": None},
    }
    same = await mutate(
        client, tenant.token, "updateTradeVehicle", {"id": trade_id, "allowance": "13000"}
    )
    assert same["__typename"] == "UpdateTradeVehicleSuccess"
    assert len(await audit(engine, tenant)) == 2  # nothing changed, nothing recorded

    for values, field, code in (
        ({"make": None}, "make", "REQUIRED"),
        ({"allowance": None}, "allowance", "REQUIRED"),
        ({"mileage": 3_000_000}, "mileage", "INVALID_MILEAGE"),
        ({"vin": "short"}, "vin", "INVALID_VIN"),
    ):
        refused = await mutate(
            client, tenant.token, "updateTradeVehicle", {"id": trade_id, **values}
        )
        assert (refused["__typename"], refused["field"], refused["code"]) == (
            "ValidationError",
            ["input", field],
            code,
        )
    assert len(await audit(engine, tenant)) == 2


async def test_a_trade_vehicle_on_a_closed_deal_is_frozen(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    deal_id = await factory.deal(tenant, status="delivered", trade_vehicles=1)
    trade_id = await scalar(engine, tenant.dealership_id, "SELECT id FROM trade_vehicles")
    assert isinstance(trade_id, int)
    for name, input in (
        ("updateTradeVehicle", {"id": gid("TradeVehicle", trade_id), "mileage": 1}),
        ("removeTradeVehicle", {"id": gid("TradeVehicle", trade_id)}),
    ):
        result = await mutate(client, tenant.token, name, input)
        assert (result["code"], result["field"]) == ("DEAL_NOT_EDITABLE", ["input", "id"]), name
    assert await trade_count(engine, tenant) == 1
    assert await deal_version(engine, tenant, deal_id) == 1
    assert await audit(engine, tenant) == []


async def test_another_dealerships_trade_vehicle_is_out_of_reach(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    a, b = await factory.tenant(), await factory.tenant()
    await factory.deal(b, trade_vehicles=1)
    theirs = await scalar(engine, b.dealership_id, "SELECT id FROM trade_vehicles")
    assert isinstance(theirs, int)
    read = await client.data(
        "query($id: ID!) { tradeVehicle(id: $id) { id } node(id: $id) { id } }",
        {"id": gid("TradeVehicle", theirs)},
        token=a.token,
    )
    assert read == {"tradeVehicle": None, "node": None}
    for name, input in (
        ("updateTradeVehicle", {"id": gid("TradeVehicle", theirs), "make": "Mallory"}),
        ("removeTradeVehicle", {"id": gid("TradeVehicle", theirs)}),
    ):
        result = await mutate(client, a.token, name, input)
        assert (result["__typename"], result["field"]) == (
            "MultiTenantViolationError",
            ["input", "id"],
        )
    assert await scalar(engine, b.dealership_id, "SELECT make FROM trade_vehicles") == "Toyota"
    assert await audit(engine, b) == []
    missing = await mutate(
        client, a.token, "removeTradeVehicle", {"id": gid("TradeVehicle", 999_999_999)}
    )
    assert missing["__typename"] == "ResourceNotFoundError"


async def test_remove_a_trade_vehicle(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    deal_id = await factory.deal(tenant, trade_vehicles=2)
    data = await client.data(
        "query($id: ID!) { deal(id: $id) { tradeVehicles { id } } }",
        {"id": gid("Deal", deal_id)},
        token=tenant.token,
    )
    first, second = (t["id"] for t in data["deal"]["tradeVehicles"])
    result = await mutate(
        client,
        tenant.token,
        "removeTradeVehicle",
        {"id": first},
        "removedTradeVehicleId deal { version tradeVehicles { id } }",
    )
    assert result == {
        "__typename": "RemoveTradeVehicleSuccess",
        "removedTradeVehicleId": first,
        "deal": {"version": 2, "tradeVehicles": [{"id": second}]},
    }
    [entry] = await audit(engine, tenant)
    assert (entry["action"], entry["entity_id"]) == ("trade_vehicle.delete", pk(first))

    detached = await mutate(
        client,
        tenant.token,
        "detachTradeVehicle",
        {"dealId": gid("Deal", deal_id), "tradeVehicleId": second},
    )
    assert detached["__typename"] == "DetachTradeVehicleSuccess"
    off_deal = await mutate(
        client, tenant.token, "removeTradeVehicle", {"id": second}, "deal { id }"
    )
    assert off_deal["deal"] is None
    assert await trade_count(engine, tenant) == 0
    assert await deal_version(engine, tenant, deal_id) == 3  # remove, detach; not the last
