"""Deals through the real app: reading (with relations), listing, statistics, editing,
optimistic locking, tenancy and the audit trail."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from db.models.enums import DealStatus, Role
from tests.conftest import GraphQLClient
from tests.deals_support import add_user, audit, deal_version, gid, mutate
from tests.factories import Factory, Tenant
from tests.helpers import pk, rows, scalar

DEAL_FIELDS = """
  id dealNumber status version isEditable notes lostReason contractedAt deliveredAt closedAt
  createdAt updatedAt
  customer { id fullName }
  vehicle { id vin listPrice status }
  salesperson { id fullName }
  salesManager { id }
  financeManager { id }
  activeScenario { id name monthlyPayment }
  scenarios { id name type }
  tradeVehicles { id allowance payoffAmount }
"""


# --- reading -------------------------------------------------------------------------------


async def test_a_deal_with_its_relations(client: GraphQLClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    customer_id = await factory.customer(tenant, first_name="Maria", last_name="Gonzalez")
    deal_id = await factory.deal(tenant, customer_id=customer_id, scenarios=2, trade_vehicles=1)
    data = await client.data(
        f"""query($id: ID!) {{ deal(id: $id) {{ {DEAL_FIELDS} }}
               node(id: $id) {{ id ... on Deal {{ dealNumber }} }} }}""",
        {"id": gid("Deal", deal_id)},
        token=tenant.token,
    )
    deal = data["deal"]
    assert deal["status"] == "OPEN"
    assert deal["isEditable"] is True
    assert deal["version"] == 1
    assert deal["customer"] == {"id": gid("Customer", customer_id), "fullName": "Maria Gonzalez"}
    assert deal["vehicle"]["status"] == "PENDING"
    assert deal["vehicle"]["listPrice"] == "21995.00"
    assert deal["salesperson"]["id"] == gid("User", tenant.users[Role.SALESPERSON])
    assert deal["salesManager"] is None
    assert deal["financeManager"] is None
    assert [s["name"] for s in deal["scenarios"]] == ["Finance 72 mo", "Finance 60 mo"]
    assert deal["activeScenario"]["id"] == deal["scenarios"][0]["id"]
    assert deal["tradeVehicles"] == [
        {"id": deal["tradeVehicles"][0]["id"], "allowance": "6000.00", "payoffAmount": "1500.00"}
    ]
    assert data["node"] == {"id": deal["id"], "dealNumber": deal["dealNumber"]}

    by_number = await client.data(
        "query($n: String!) { dealByNumber(dealNumber: $n) { id } }",
        {"n": deal["dealNumber"]},
        token=tenant.token,
    )
    assert by_number["dealByNumber"] == {"id": deal["id"]}
    missing = await client.data(
        '{ dealByNumber(dealNumber: "1999-0101-0001") { id } }', token=tenant.token
    )
    assert missing["dealByNumber"] is None

    back = await client.data(
        """query($c: ID!) {
             customer(id: $c) { deals { id } tradeVehicles { id deal { id } customer { id } } }
           }""",
        {"c": gid("Customer", customer_id)},
        token=tenant.token,
    )
    assert back["customer"]["deals"] == [{"id": deal["id"]}]
    trade = back["customer"]["tradeVehicles"][0]
    assert trade["deal"] == {"id": deal["id"]}
    assert trade["customer"] == {"id": gid("Customer", customer_id)}


async def test_vehicle_deals_newest_first(client: GraphQLClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    vehicle_id = await factory.vehicle(tenant)
    old = await factory.deal(tenant, vehicle_id=vehicle_id, status="lost")
    new = await factory.deal(tenant, vehicle_id=vehicle_id)
    data = await client.data(
        "query($id: ID!) { deal(id: $id) { vehicle { deals { id status } } } }",
        {"id": gid("Deal", new)},
        token=tenant.token,
    )
    assert data["deal"]["vehicle"]["deals"] == [
        {"id": gid("Deal", new), "status": "OPEN"},
        {"id": gid("Deal", old), "status": "LOST"},
    ]


async def test_another_dealerships_deals_are_invisible(
    client: GraphQLClient, factory: Factory
) -> None:
    a, b = await factory.tenant(), await factory.tenant()
    theirs = await factory.deal(b, trade_vehicles=1)
    number = await scalar(
        factory.engine, b.dealership_id, "SELECT deal_number FROM deals WHERE id = :id", id=theirs
    )
    data = await client.data(
        """query($id: ID!, $n: String!) { deal(id: $id) { id } node(id: $id) { id }
             dealByNumber(dealNumber: $n) { id } deals { totalCount edges { cursor } }
             dealStats { count } }""",
        {"id": gid("Deal", theirs), "n": number},
        token=a.token,
    )
    assert data["deal"] is None
    assert data["node"] is None
    assert data["dealByNumber"] is None
    assert data["deals"] == {"totalCount": 0, "edges": []}
    assert {s["count"] for s in data["dealStats"]} == {0}


async def test_malformed_and_mistyped_ids_are_refused(
    client: GraphQLClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    for bad in ("nonsense", gid("Customer", 1)):
        result = await client.execute(
            "query($id: ID!) { deal(id: $id) { id } }", {"id": bad}, token=tenant.token
        )
        assert result["errors"][0]["extensions"]["code"] == "INVALID_ID"
    unknown = await client.data(
        "query($id: ID!) { deal(id: $id) { id } }",
        {"id": gid("Deal", 999_999_999)},
        token=tenant.token,
    )
    assert unknown["deal"] is None


# --- listing -------------------------------------------------------------------------------

LIST = """
query($first: Int, $after: String, $last: Int, $before: String, $filter: DealFilter,
      $orderBy: DealOrder) {
  deals(first: $first, after: $after, last: $last, before: $before, filter: $filter,
        orderBy: $orderBy) {
    totalCount
    nodes { id dealNumber status }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""


async def _list(client: GraphQLClient, tenant: Tenant, **variables: object) -> dict[str, object]:
    data = await client.data(LIST, variables, token=tenant.token)
    result = data["deals"]
    assert isinstance(result, dict)
    return result


async def test_pagination_edges(client: GraphQLClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    empty = await _list(client, tenant, first=10)
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
    ids = [gid("Deal", await factory.deal(tenant)) for _ in range(5)]
    newest_first = list(reversed(ids))
    page1 = await _list(client, tenant, first=2)
    assert [n["id"] for n in page1["nodes"]] == newest_first[:2]
    assert page1["totalCount"] == 5
    assert page1["pageInfo"]["hasNextPage"] is True
    assert page1["pageInfo"]["hasPreviousPage"] is False
    page2 = await _list(client, tenant, first=2, after=page1["pageInfo"]["endCursor"])
    assert [n["id"] for n in page2["nodes"]] == newest_first[2:4]
    last = await _list(client, tenant, first=2, after=page2["pageInfo"]["endCursor"])
    assert [n["id"] for n in last["nodes"]] == newest_first[4:]
    assert last["pageInfo"]["hasNextPage"] is False
    assert last["pageInfo"]["hasPreviousPage"] is True
    back = await _list(client, tenant, last=2, before=last["pageInfo"]["startCursor"])
    assert [n["id"] for n in back["nodes"]] == newest_first[2:4]
    by_number = await _list(
        client, tenant, first=5, orderBy={"field": "DEAL_NUMBER", "direction": "ASC"}
    )
    numbers = [n["dealNumber"] for n in by_number["nodes"]]
    assert numbers == sorted(numbers)
    assert [n["id"] for n in by_number["nodes"]] == ids
    beyond = await _list(
        client,
        tenant,
        first=2,
        after=by_number["pageInfo"]["endCursor"],
        orderBy={"field": "DEAL_NUMBER", "direction": "ASC"},
    )
    assert beyond["nodes"] == []
    assert beyond["pageInfo"]["hasNextPage"] is False
    # A cursor of one ordering is refused by another, even when it has the same width.
    result = await client.execute(
        LIST, {"after": by_number["pageInfo"]["endCursor"]}, token=tenant.token
    )
    assert result["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"


async def test_order_by_status_and_updated_at(client: GraphQLClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    lost = await factory.deal(tenant, status="lost")
    opened = await factory.deal(tenant)
    approved = await factory.deal(tenant, status="approved")
    by_status = await _list(client, tenant, orderBy={"field": "STATUS", "direction": "ASC"})
    assert [n["status"] for n in by_status["nodes"]] == ["APPROVED", "LOST", "OPEN"]
    page = await _list(client, tenant, first=1, orderBy={"field": "STATUS", "direction": "ASC"})
    rest = await _list(
        client,
        tenant,
        after=page["pageInfo"]["endCursor"],
        orderBy={"field": "STATUS", "direction": "ASC"},
    )
    assert [n["id"] for n in rest["nodes"]] == [gid("Deal", lost), gid("Deal", opened)]
    updated = await _list(client, tenant, orderBy={"field": "UPDATED_AT", "direction": "DESC"})
    assert [n["id"] for n in updated["nodes"]] == [
        gid("Deal", approved),
        gid("Deal", opened),
        gid("Deal", lost),
    ]


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"first": 101}, "PAGE_SIZE_OUT_OF_RANGE"),
        ({"first": 1, "last": 1}, "INVALID_ARGUMENTS"),
        ({"after": "garbage"}, "INVALID_CURSOR"),
        ({"before": "WyJ4Il0="}, "INVALID_CURSOR"),
        ({"filter": {"salespersonId": "nonsense"}}, "INVALID_ID"),
    ],
)
async def test_bad_list_arguments(
    client: GraphQLClient, factory: Factory, variables: dict[str, object], code: str
) -> None:
    tenant = await factory.tenant()
    result = await client.execute(LIST, variables, token=tenant.token)
    assert result["data"] is None
    assert result["errors"][0]["extensions"]["code"] == code


async def test_filters_and_search(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    maria = await factory.customer(tenant, first_name="Maria", last_name="Gonzalez")
    tom = await factory.customer(tenant, first_name="Tom", last_name="Smith")
    manager = tenant.users[Role.SALES_MANAGER]
    a = await factory.deal(tenant, customer_id=maria)
    b = await factory.deal(tenant, customer_id=tom, salesperson_id=manager, status="lost")
    c = await factory.deal(tenant, customer_id=tom, status="pending_approval")
    number_b = await scalar(
        engine, tenant.dealership_id, "SELECT deal_number FROM deals WHERE id = :id", id=b
    )
    vehicle_c = await scalar(
        engine, tenant.dealership_id, "SELECT vehicle_id FROM deals WHERE id = :id", id=c
    )
    created_a = await scalar(
        engine, tenant.dealership_id, "SELECT created_at FROM deals WHERE id = :id", id=a
    )
    assert isinstance(created_a, datetime)

    async def ids(flt: dict[str, object]) -> set[int]:
        found = await _list(client, tenant, filter=flt)
        assert found["totalCount"] == len(found["nodes"])
        return {pk(n["id"]) for n in found["nodes"]}

    assert await ids({"status": ["OPEN", "LOST"]}) == {a, b}
    assert await ids({"status": []}) == {a, b, c}
    assert await ids({"salespersonId": gid("User", manager)}) == {b}
    assert await ids({"customerId": gid("Customer", tom)}) == {b, c}
    assert await ids({"vehicleId": gid("Vehicle", int(str(vehicle_c)))}) == {c}
    assert await ids({"search": "gonz"}) == {a}
    assert await ids({"search": "TOM S"}) == {b, c}
    assert await ids({"search": str(number_b)[-6:]}) == {b}
    assert await ids({"search": "100%"}) == set()
    assert await ids({"customerId": gid("Customer", tom), "status": ["LOST"]}) == {b}
    after = (created_a + timedelta(microseconds=1)).isoformat()
    assert await ids({"createdAfter": created_a.isoformat()}) == {a, b, c}
    assert await ids({"createdAfter": after}) == {b, c}
    assert await ids({"createdBefore": after}) == {a}
    assert await ids({"createdBefore": created_a.isoformat()}) == set()


# --- statistics ----------------------------------------------------------------------------

STATS = """query($after: DateTime, $before: DateTime) {
  dealStats(createdAfter: $after, createdBefore: $before) {
    status count pricedCount totalVehiclePrice averageVehiclePrice totalDownPayment
    totalAmountFinanced totalMonthlyPayment
  }
}"""


async def test_deal_stats_per_status_with_zeros(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    empty = (await client.data(STATS, token=tenant.token))["dealStats"]
    assert [s["status"] for s in empty] == [s.name for s in DealStatus]
    assert all(s["count"] == 0 and s["totalVehiclePrice"] == "0.00" for s in empty)

    cheap = await factory.vehicle(tenant, list_price=Decimal("10000.00"))
    dear = await factory.vehicle(tenant, list_price=Decimal("30000.01"))
    await factory.deal(tenant, vehicle_id=cheap)
    await factory.deal(tenant, vehicle_id=dear)
    await factory.deal(tenant, status="lost", scenarios=0)
    stats = {s["status"]: s for s in (await client.data(STATS, token=tenant.token))["dealStats"]}
    assert len(stats) == len(DealStatus)
    expected = await rows(
        engine,
        tenant.dealership_id,
        """SELECT sum(s.amount_financed) AS financed, sum(s.monthly_payment) AS payment
           FROM deals d JOIN deal_scenarios s ON s.id = d.active_scenario_id
           WHERE d.status = 'open'""",
    )
    assert stats["OPEN"] == {
        "status": "OPEN",
        "count": 2,
        "pricedCount": 2,
        "totalVehiclePrice": "40000.01",
        "averageVehiclePrice": "20000.01",
        "totalDownPayment": "4000.00",
        "totalAmountFinanced": str(expected[0]["financed"]),
        "totalMonthlyPayment": str(expected[0]["payment"]),
    }
    assert stats["LOST"]["count"] == 1
    assert stats["LOST"]["pricedCount"] == 0
    assert stats["LOST"]["averageVehiclePrice"] == "0.00"
    assert stats["DELIVERED"]["count"] == 0

    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    later = await client.data(STATS, {"after": future}, token=tenant.token)
    assert {s["count"] for s in later["dealStats"]} == {0}
    before = await client.data(STATS, {"before": future}, token=tenant.token)
    assert sum(s["count"] for s in before["dealStats"]) == 3


# --- updateDeal ----------------------------------------------------------------------------


async def test_update_notes_and_managers(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    deal_id = await factory.deal(tenant)
    manager = gid("User", tenant.users[Role.SALES_MANAGER])
    finance = gid("User", tenant.users[Role.FINANCE_MANAGER])
    result = await mutate(
        client,
        tenant.token,
        "updateDeal",
        {
            "id": gid("Deal", deal_id),
            "version": 1,
            "notes": "  Wants it by Friday ",
            "salesManagerId": manager,
            "financeManagerId": finance,
        },
        "deal { notes version salesManager { id } financeManager { id } }",
    )
    assert result["__typename"] == "UpdateDealSuccess"
    assert result["deal"] == {
        "notes": "Wants it by Friday",
        "version": 2,
        "salesManager": {"id": manager},
        "financeManager": {"id": finance},
    }
    entries = await audit(engine, tenant)
    assert [(e["action"], e["entity_type"], e["entity_id"]) for e in entries] == [
        ("deal.update", "Deal", deal_id)
    ]
    assert entries[0]["user_id"] == tenant.users[Role.SALES_MANAGER]
    assert entries[0]["changes"]["notes"] == {"before": None, "after": "Wants it by Friday"}

    cleared = await mutate(
        client,
        tenant.token,
        "updateDeal",
        {"id": gid("Deal", deal_id), "version": 2, "financeManagerId": None, "notes": ""},
        "deal { notes version financeManager { id } salesManager { id } }",
    )
    assert cleared["deal"] == {
        "notes": None,
        "version": 3,
        "financeManager": None,
        "salesManager": {"id": manager},
    }
    same = await mutate(
        client,
        tenant.token,
        "updateDeal",
        {"id": gid("Deal", deal_id), "version": 3, "notes": None},
        "deal { version }",
    )
    assert same["deal"] == {"version": 3}  # nothing changed: no new version, no audit row
    assert len(await audit(engine, tenant)) == 2


async def test_update_with_a_stale_version_is_a_conflict(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    deal_id = await factory.deal(tenant)
    first = await mutate(
        client, tenant.token, "updateDeal", {"id": gid("Deal", deal_id), "version": 1, "notes": "a"}
    )
    assert first["__typename"] == "UpdateDealSuccess"
    stale = await mutate(
        client, tenant.token, "updateDeal", {"id": gid("Deal", deal_id), "version": 1, "notes": "b"}
    )
    assert stale["__typename"] == "VersionConflictError"
    assert stale["currentVersion"] == 2
    assert stale["field"] == ["input", "version"]
    assert (
        await scalar(
            engine, tenant.dealership_id, "SELECT notes FROM deals WHERE id = :id", id=deal_id
        )
        == "a"
    )
    assert len(await audit(engine, tenant)) == 1


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"notes": "x" * 5001}, "notes", "TOO_LONG"),
        ({"salesManagerId": "salesperson"}, "salesManagerId", "INVALID_SALES_MANAGER"),
        ({"salesManagerId": "inactive-manager"}, "salesManagerId", "INVALID_SALES_MANAGER"),
        ({"financeManagerId": "read_only"}, "financeManagerId", "INVALID_FINANCE_MANAGER"),
        ({"financeManagerId": "nonsense"}, "financeManagerId", "INVALID_ID"),
        ({"salesManagerId": "Customer"}, "salesManagerId", "INVALID_ID"),
    ],
)
async def test_update_validation_errors(
    client: GraphQLClient,
    factory: Factory,
    engine: AsyncEngine,
    change: dict[str, str],
    field: str,
    code: str,
) -> None:
    tenant = await factory.tenant()
    deal_id = await factory.deal(tenant)
    value = next(iter(change.values()))
    if value in {r.value for r in Role}:
        value = gid("User", tenant.users[Role(value)])
    elif value == "inactive-manager":
        value = gid("User", await add_user(factory, tenant, Role.SALES_MANAGER, active=False))
    elif value == "Customer":
        value = gid("Customer", await factory.customer(tenant))
    result = await mutate(
        client,
        tenant.token,
        "updateDeal",
        {"id": gid("Deal", deal_id), "version": 1, next(iter(change)): value},
    )
    assert result["__typename"] == "ValidationError"
    assert result["field"] == ["input", field]
    assert result["code"] == code
    assert await deal_version(engine, tenant, deal_id) == 1
    assert await audit(engine, tenant) == []


async def test_a_deal_that_is_not_editable_cannot_be_changed(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    for status in ("contracted", "delivered", "lost", "cancelled", "unwound"):
        deal_id = await factory.deal(tenant, status=status)
        result = await mutate(
            client,
            tenant.token,
            "updateDeal",
            {"id": gid("Deal", deal_id), "version": 1, "notes": "late change"},
        )
        assert result["__typename"] == "ValidationError", status
        assert result["code"] == "DEAL_NOT_EDITABLE"
        assert result["field"] == ["input", "id"]
    for status in ("pending_approval", "approved"):
        deal_id = await factory.deal(tenant, status=status)
        ok = await mutate(
            client,
            tenant.token,
            "updateDeal",
            {"id": gid("Deal", deal_id), "version": 1, "notes": "fine"},
        )
        assert ok["__typename"] == "UpdateDealSuccess", status
    assert [e["action"] for e in await audit(engine, tenant)] == ["deal.update", "deal.update"]


async def test_cross_tenant_deal_and_user_ids_are_refused(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    a, b = await factory.tenant(), await factory.tenant()
    mine, theirs = await factory.deal(a), await factory.deal(b)
    result = await mutate(
        client, a.token, "updateDeal", {"id": gid("Deal", theirs), "version": 1, "notes": "x"}
    )
    assert result["__typename"] == "MultiTenantViolationError"
    assert result["field"] == ["input", "id"]
    foreign_manager = gid("User", b.users[Role.SALES_MANAGER])
    result = await mutate(
        client,
        a.token,
        "updateDeal",
        {"id": gid("Deal", mine), "version": 1, "salesManagerId": foreign_manager},
    )
    assert result["__typename"] == "MultiTenantViolationError"
    assert result["field"] == ["input", "salesManagerId"]
    assert await deal_version(engine, b, theirs) == 1
    assert await deal_version(engine, a, mine) == 1
    assert await audit(engine, a) == []
    assert await audit(engine, b) == []
    events = await rows(
        engine, a.dealership_id, "SELECT event, details FROM security_audit_logs ORDER BY id"
    )
    assert [e["details"]["entity"] for e in events] == ["Deal", "User"]
    unknown = await mutate(
        client, a.token, "updateDeal", {"id": gid("Deal", 999_999_999), "version": 1}
    )
    assert unknown["__typename"] == "ResourceNotFoundError"


# --- assignDealCustomer --------------------------------------------------------------------


async def test_assign_customer_moves_the_trade_ins(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    deal_id = await factory.deal(tenant, trade_vehicles=1)
    other = await factory.customer(tenant, first_name="Right", last_name="Person")
    result = await mutate(
        client,
        tenant.token,
        "assignDealCustomer",
        {"id": gid("Deal", deal_id), "version": 1, "customerId": gid("Customer", other)},
        "deal { version customer { fullName } tradeVehicles { customer { id } } }",
    )
    assert result["__typename"] == "AssignDealCustomerSuccess"
    assert result["deal"] == {
        "version": 2,
        "customer": {"fullName": "Right Person"},
        "tradeVehicles": [{"customer": {"id": gid("Customer", other)}}],
    }
    entries = await audit(engine, tenant)
    assert [e["action"] for e in entries] == ["trade_vehicle.reassign", "deal.assign_customer"]
    assert entries[1]["changes"]["customer_id"]["after"] == other


async def test_assign_customer_refusals(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    a, b = await factory.tenant(), await factory.tenant()
    deal_id = await factory.deal(a)
    archived = await factory.customer(a, archived_at=datetime.now(UTC))
    cases = [
        (gid("Customer", archived), "ValidationError", "CUSTOMER_ARCHIVED"),
        (gid("Customer", await factory.customer(b)), "MultiTenantViolationError", "CROSS_TENANT"),
        (gid("Customer", 999_999_999), "ResourceNotFoundError", "NOT_FOUND"),
        (gid("Deal", deal_id), "ValidationError", "INVALID_ID"),
    ]
    for customer, typename, code in cases:
        result = await mutate(
            client,
            a.token,
            "assignDealCustomer",
            {"id": gid("Deal", deal_id), "version": 1, "customerId": customer},
        )
        assert (result["__typename"], result["code"]) == (typename, code)
        assert result["field"] == ["input", "customerId"]
    assert await deal_version(engine, a, deal_id) == 1
    assert await audit(engine, a) == []


# --- changeDealSalesperson -----------------------------------------------------------------


async def test_change_salesperson(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    deal_id = await factory.deal(tenant)
    for version, role in ((1, Role.FINANCE_MANAGER), (2, Role.SALES_MANAGER)):
        result = await mutate(
            client,
            tenant.token,
            "changeDealSalesperson",
            {
                "id": gid("Deal", deal_id),
                "version": version,
                "salespersonId": gid("User", tenant.users[role]),
            },
            "deal { version salesperson { id } }",
        )
        assert result["__typename"] == "ChangeDealSalespersonSuccess"
        assert result["deal"] == {
            "version": version + 1,
            "salesperson": {"id": gid("User", tenant.users[role])},
        }
    entries = await audit(engine, tenant)
    assert [e["action"] for e in entries] == ["deal.change_salesperson"] * 2
    assert entries[0]["changes"]["salesperson_id"] == {
        "before": tenant.users[Role.SALESPERSON],
        "after": tenant.users[Role.FINANCE_MANAGER],
    }


async def test_change_salesperson_refusals(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    a, b = await factory.tenant(), await factory.tenant()
    deal_id = await factory.deal(a)
    inactive = await add_user(factory, a, Role.SALESPERSON, active=False)
    cases = [
        (a.users[Role.ADMIN], "ValidationError", "INVALID_SALESPERSON"),
        (a.users[Role.READ_ONLY], "ValidationError", "INVALID_SALESPERSON"),
        (inactive, "ValidationError", "INVALID_SALESPERSON"),
        (b.users[Role.SALESPERSON], "MultiTenantViolationError", "CROSS_TENANT"),
        (999_999_999, "ResourceNotFoundError", "NOT_FOUND"),
    ]
    for user_id, typename, code in cases:
        result = await mutate(
            client,
            a.token,
            "changeDealSalesperson",
            {"id": gid("Deal", deal_id), "version": 1, "salespersonId": gid("User", user_id)},
        )
        assert (result["__typename"], result["code"]) == (typename, code), user_id
        assert result["field"] == ["input", "salespersonId"]
    assert await deal_version(engine, a, deal_id) == 1
    assert await audit(engine, a) == []
    stale = await mutate(
        client,
        a.token,
        "changeDealSalesperson",
        {
            "id": gid("Deal", deal_id),
            "version": 7,
            "salespersonId": gid("User", a.users[Role.SALES_MANAGER]),
        },
    )
    assert stale["__typename"] == "VersionConflictError"


# --- setActiveScenario ---------------------------------------------------------------------


async def test_set_active_scenario(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    a, b = await factory.tenant(), await factory.tenant()
    deal_id = await factory.deal(a, scenarios=2)
    other_deal = await factory.deal(a)
    foreign_deal = await factory.deal(b)
    scenario_ids = [
        r["id"]
        for r in await rows(
            engine,
            a.dealership_id,
            "SELECT id FROM deal_scenarios WHERE deal_id = :d ORDER BY id",
            d=deal_id,
        )
    ]
    result = await mutate(
        client,
        a.token,
        "setActiveScenario",
        {
            "dealId": gid("Deal", deal_id),
            "version": 1,
            "scenarioId": gid("DealScenario", scenario_ids[1]),
        },
        "deal { version activeScenario { id name } }",
    )
    assert result["__typename"] == "SetActiveScenarioSuccess"
    assert result["deal"] == {
        "version": 2,
        "activeScenario": {"id": gid("DealScenario", scenario_ids[1]), "name": "Finance 60 mo"},
    }
    [entry] = await audit(engine, a)
    assert entry["action"] == "deal.set_active_scenario"
    assert entry["changes"]["active_scenario_id"] == {
        "before": scenario_ids[0],
        "after": scenario_ids[1],
    }

    other_scenario = await scalar(
        engine, a.dealership_id, "SELECT id FROM deal_scenarios WHERE deal_id = :d", d=other_deal
    )
    foreign_scenario = await scalar(
        engine, b.dealership_id, "SELECT id FROM deal_scenarios WHERE deal_id = :d", d=foreign_deal
    )
    for scenario, typename, code in (
        (other_scenario, "ValidationError", "SCENARIO_NOT_ON_DEAL"),
        (foreign_scenario, "MultiTenantViolationError", "CROSS_TENANT"),
    ):
        refused = await mutate(
            client,
            a.token,
            "setActiveScenario",
            {
                "dealId": gid("Deal", deal_id),
                "version": 2,
                "scenarioId": gid("DealScenario", int(str(scenario))),
            },
        )
        assert (refused["__typename"], refused["code"]) == (typename, code)
        assert refused["field"] == ["input", "scenarioId"]
    stale = await mutate(
        client,
        a.token,
        "setActiveScenario",
        {
            "dealId": gid("Deal", deal_id),
            "version": 1,
            "scenarioId": gid("DealScenario", scenario_ids[0]),
        },
    )
    assert stale["__typename"] == "VersionConflictError"
    foreign = await mutate(
        client,
        a.token,
        "setActiveScenario",
        {
            "dealId": gid("Deal", foreign_deal),
            "version": 1,
            "scenarioId": gid("DealScenario", int(str(foreign_scenario))),
        },
    )
    assert foreign["__typename"] == "MultiTenantViolationError"
    assert foreign["field"] == ["input", "dealId"]
    assert await deal_version(engine, a, deal_id) == 2
    assert await deal_version(engine, b, foreign_deal) == 1
    assert len(await audit(engine, a)) == 1


# --- attachTradeVehicle / detachTradeVehicle -----------------------------------------------


async def _trade_of(engine: AsyncEngine, tenant: Tenant, deal_id: int) -> int:
    value = await scalar(
        engine, tenant.dealership_id, "SELECT id FROM trade_vehicles WHERE deal_id = :d", d=deal_id
    )
    assert isinstance(value, int)
    return value


async def test_detach_and_attach_a_trade_vehicle(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    customer = await factory.customer(tenant)
    lost = await factory.deal(tenant, customer_id=customer, status="lost", trade_vehicles=1)
    trade = await _trade_of(engine, tenant, lost)
    deal_id = await factory.deal(tenant, customer_id=customer)

    attached = await mutate(
        client,
        tenant.token,
        "attachTradeVehicle",
        {"dealId": gid("Deal", deal_id), "tradeVehicleId": gid("TradeVehicle", trade)},
        "deal { version tradeVehicles { id } } tradeVehicle { deal { id } }",
    )
    assert attached["__typename"] == "AttachTradeVehicleSuccess"
    assert attached["deal"] == {
        "version": 2,
        "tradeVehicles": [{"id": gid("TradeVehicle", trade)}],
    }
    assert attached["tradeVehicle"] == {"deal": {"id": gid("Deal", deal_id)}}

    detached = await mutate(
        client,
        tenant.token,
        "detachTradeVehicle",
        {"dealId": gid("Deal", deal_id), "tradeVehicleId": gid("TradeVehicle", trade)},
        "deal { version tradeVehicles { id } } tradeVehicle { deal { id } customer { id } }",
    )
    assert detached["__typename"] == "DetachTradeVehicleSuccess"
    assert detached["deal"] == {"version": 3, "tradeVehicles": []}
    assert detached["tradeVehicle"] == {"deal": None, "customer": {"id": gid("Customer", customer)}}
    entries = await audit(engine, tenant)
    assert [(e["action"], e["entity_type"], e["entity_id"]) for e in entries] == [
        ("trade_vehicle.attach", "TradeVehicle", trade),
        ("trade_vehicle.detach", "TradeVehicle", trade),
    ]
    assert entries[0]["changes"]["deal_id"] == {"before": lost, "after": deal_id}


async def test_attach_and_detach_refusals(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    a, b = await factory.tenant(), await factory.tenant()
    customer = await factory.customer(a)
    deal_id = await factory.deal(a, customer_id=customer)
    live_same_customer = await factory.deal(a, customer_id=customer, trade_vehicles=1)
    other_customer = await factory.deal(a, status="lost", trade_vehicles=1)
    foreign = await factory.deal(b, trade_vehicles=1)
    on_live = await _trade_of(engine, a, live_same_customer)
    of_other = await _trade_of(engine, a, other_customer)
    theirs = await _trade_of(engine, b, foreign)
    cases = [
        (on_live, "ValidationError", "TRADE_VEHICLE_ON_ANOTHER_DEAL"),
        (of_other, "ValidationError", "TRADE_VEHICLE_OF_ANOTHER_CUSTOMER"),
        (theirs, "MultiTenantViolationError", "CROSS_TENANT"),
        (999_999_999, "ResourceNotFoundError", "NOT_FOUND"),
    ]
    for trade, typename, code in cases:
        result = await mutate(
            client,
            a.token,
            "attachTradeVehicle",
            {"dealId": gid("Deal", deal_id), "tradeVehicleId": gid("TradeVehicle", trade)},
        )
        assert (result["__typename"], result["code"]) == (typename, code)
        assert result["field"] == ["input", "tradeVehicleId"]
    not_on = await mutate(
        client,
        a.token,
        "detachTradeVehicle",
        {"dealId": gid("Deal", deal_id), "tradeVehicleId": gid("TradeVehicle", on_live)},
    )
    assert (not_on["code"], not_on["field"]) == (
        "TRADE_VEHICLE_NOT_ON_DEAL",
        ["input", "tradeVehicleId"],
    )
    closed = await mutate(
        client,
        a.token,
        "detachTradeVehicle",
        {"dealId": gid("Deal", other_customer), "tradeVehicleId": gid("TradeVehicle", of_other)},
    )
    assert (closed["code"], closed["field"]) == ("DEAL_NOT_EDITABLE", ["input", "dealId"])
    foreign_deal = await mutate(
        client,
        a.token,
        "detachTradeVehicle",
        {"dealId": gid("Deal", foreign), "tradeVehicleId": gid("TradeVehicle", theirs)},
    )
    assert foreign_deal["__typename"] == "MultiTenantViolationError"
    assert foreign_deal["field"] == ["input", "dealId"]
    assert await audit(engine, a) == []
    assert await deal_version(engine, a, deal_id) == 1
    assert await deal_version(engine, b, foreign) == 1


DEAL_MUTATIONS = [
    ("updateDeal", "id", {"version": 1, "notes": "x"}),
    ("assignDealCustomer", "id", {"version": 1, "customerId": "customer"}),
    ("changeDealSalesperson", "id", {"version": 1, "salespersonId": "salesperson"}),
    ("setActiveScenario", "dealId", {"version": 1, "scenarioId": "scenario"}),
    ("attachTradeVehicle", "dealId", {"tradeVehicleId": "trade"}),
    ("detachTradeVehicle", "dealId", {"tradeVehicleId": "trade"}),
]


@pytest.mark.parametrize(("name", "id_field", "values"), DEAL_MUTATIONS)
async def test_every_deal_mutation_refuses_foreign_and_closed_deals(
    client: GraphQLClient,
    factory: Factory,
    engine: AsyncEngine,
    name: str,
    id_field: str,
    values: dict[str, object],
) -> None:
    a, b = await factory.tenant(), await factory.tenant()
    customer = await factory.customer(a)
    closed = await factory.deal(a, customer_id=customer, status="contracted", trade_vehicles=1)
    foreign = await factory.deal(b)
    own = {
        "customer": gid("Customer", customer),
        "salesperson": gid("User", a.users[Role.SALES_MANAGER]),
        "scenario": gid(
            "DealScenario",
            int(
                str(
                    await scalar(
                        engine,
                        a.dealership_id,
                        "SELECT active_scenario_id FROM deals WHERE id = :id",
                        id=closed,
                    )
                )
            ),
        ),
        "trade": gid("TradeVehicle", await _trade_of(engine, a, closed)),
    }
    input = {k: own.get(str(v), v) for k, v in values.items()}
    for deal_id, typename, code in (
        (foreign, "MultiTenantViolationError", "CROSS_TENANT"),
        (closed, "ValidationError", "DEAL_NOT_EDITABLE"),
    ):
        result = await mutate(client, a.token, name, {id_field: gid("Deal", deal_id), **input})
        assert (result["__typename"], result["code"], result["field"]) == (
            typename,
            code,
            ["input", id_field],
        )
    assert await deal_version(engine, a, closed) == 1
    assert await deal_version(engine, b, foreign) == 1
    assert (await audit(engine, a), await audit(engine, b)) == ([], [])


async def test_unauthenticated_calls_are_refused(client: GraphQLClient) -> None:
    result = await client.execute("{ deals { totalCount } }")
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    result = await client.execute(
        'mutation { updateDeal(input: {id: "x", version: 1}) { __typename } }'
    )
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_concurrent_edits_of_one_version_let_exactly_one_win(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    deal_id = await factory.deal(tenant)
    results = await asyncio.gather(
        *(
            mutate(
                client,
                tenant.token,
                "updateDeal",
                {"id": gid("Deal", deal_id), "version": 1, "notes": f"edit {n}"},
            )
            for n in range(5)
        )
    )
    kinds = sorted(r["__typename"] for r in results)
    assert kinds == ["UpdateDealSuccess"] + ["VersionConflictError"] * 4
    assert await deal_version(engine, tenant, deal_id) == 2
    assert len(await audit(engine, tenant)) == 1
