"""The deal list and its relations cost the same few statements for 5 deals as for 50 (one
per relation), and a deal by id with its customer and vehicle costs one statement after the
caller check."""

from __future__ import annotations

from starlette.applications import Starlette

from schema.relay import to_global_id as global_id
from tests.conftest import GraphQLClient
from tests.factories import Factory
from tests.helpers import count_statements

QUERY = """
query($first: Int!) {
  deals(first: $first) {
    edges { node {
      dealNumber
      customer { fullName }
      vehicle { vin }
      salesperson { fullName }
      scenarios { monthlyPayment }
      tradeVehicles { allowance }
    } }
  }
}"""


async def test_deal_list_statement_count_does_not_grow_with_the_page(
    app: Starlette, client: GraphQLClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    for _ in range(50):
        await factory.deal(tenant, scenarios=3, trade_vehicles=1)
    engine = app.state.dealerdesk.engine.sync_engine

    counts: dict[int, int] = {}
    for first in (5, 50):
        with count_statements(engine) as log:
            data = await client.data(QUERY, {"first": first}, token=tenant.token)
        edges = data["deals"]["edges"]
        assert len(edges) == first
        for edge in edges:
            node = edge["node"]
            assert node["customer"]["fullName"]
            assert len(node["vehicle"]["vin"]) == 17
            assert node["salesperson"]["fullName"] == "Salesperson Tester"
            assert len(node["scenarios"]) == 3
            assert len(node["tradeVehicles"]) == 1
        counts[first] = log.count
        print(f"deals(first: {first}): {log.count} statements ({len(log.data_statements)} data)")
        for statement in log.statements:
            print("   ", " ".join(statement.split())[:110])

    assert counts[5] == counts[50]
    # The caller check (which binds the transaction), the page, then one per relation:
    # customer, vehicle, salesperson, scenarios, trade vehicles.
    assert counts[50] == 7


ONE_DEAL = """
query($id: ID!) {
  deal(id: $id) {
    dealNumber
    customer { fullName }
    vehicle { vin }
    salesperson { fullName }
    salesManager { fullName }
  }
}"""


async def test_a_deal_and_its_relations_come_in_one_statement(
    app: Starlette, client: GraphQLClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    other = await factory.tenant()
    mine = await factory.deal(tenant)
    theirs = await factory.deal(other)
    engine = app.state.dealerdesk.engine.sync_engine

    with count_statements(engine) as log:
        data = await client.data(ONE_DEAL, {"id": global_id("Deal", mine)}, token=tenant.token)
    deal = data["deal"]
    assert deal["customer"]["fullName"]
    assert len(deal["vehicle"]["vin"]) == 17
    assert deal["salesperson"]["fullName"] == "Salesperson Tester"
    assert deal["salesManager"] is None  # none set: no row joined, no statement either
    assert log.count == 2, log.statements  # the caller check, then the deal with its relations

    # Another dealership's deal, and no deal at all: null, in the same two statements.
    for pk in (theirs, 10**12):
        with count_statements(engine) as log:
            data = await client.data(ONE_DEAL, {"id": global_id("Deal", pk)}, token=tenant.token)
        assert data["deal"] is None
        assert log.count == 2, log.statements
