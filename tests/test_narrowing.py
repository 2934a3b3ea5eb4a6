"""Reading only the columns an operation selects (resolvers/narrowing.py): the loaders' rows hold
what the query's fields need, the answers are the same as from full rows, and anything that
may read other attributes gets full rows."""

from __future__ import annotations

from graphql import parse
from starlette.applications import Starlette

from resolvers.narrowing import narrowed_columns
from schema.relay import to_global_id as global_id
from schema.root import schema
from tests.conftest import GraphQLClient
from tests.factories import Factory
from tests.helpers import count_statements

PAGE = """
query($first: Int!) {
  deals(first: $first, orderBy: {field: CREATED_AT, direction: ASC}) {
    nodes {
      id dealNumber status %s
      customer { id firstName lastName email }
      vehicle { id vin make model year listPrice status }
      salesperson { id firstName lastName email }
      scenarios { id type apr termMonths monthlyPayment }
    }
  }
}"""


def columns_of(query: str) -> dict[str, set[str]]:
    found = narrowed_columns(schema._schema, parse(query), None)
    return {table: set(columns) for table, columns in found.items()}


def test_a_page_of_plain_fields_reads_their_columns_and_the_keys() -> None:
    assert columns_of(PAGE % "") == {
        "customers": {"id", "dealership_id", "first_name", "last_name", "email"},
        "vehicles": {
            "id",
            "dealership_id",
            *("vin", "make", "model", "year", "list_price", "status"),
        },
        "users": {"id", "dealership_id", "first_name", "last_name", "email"},
        "deal_scenarios": {
            "id",
            "dealership_id",
            "deal_id",
            *("type", "apr", "term_months", "monthly_payment"),
        },
    }


def test_every_selection_of_a_type_counts() -> None:
    query = """
    fragment Who on Customer { phone }
    query($id: ID!) {
      deals(first: 2) { nodes { customer { firstName ...Who } } }
      deal(id: $id) { customer { lastName ... on Customer { city } } }
    }"""
    assert columns_of(query)["customers"] == {
        "id",
        "dealership_id",
        *("first_name", "phone", "last_name", "city"),
    }


def test_a_field_with_its_own_resolver_anywhere_means_full_rows() -> None:
    # Deal.isEditable and Deal.grossProfit are resolvers (the latter reads the vehicle's
    # cost); Customer.fullName is computed from several attributes; a field with arguments
    # and a root outside the known ones may read anything too.
    assert columns_of(PAGE % "isEditable") == {}
    assert columns_of(PAGE % "grossProfit") == {}
    assert columns_of("{ deals(first: 2) { nodes { customer { fullName } } } }") == {}
    assert columns_of('{ node(id: "RGVhbDox") { id } }') == {}
    assert columns_of("{ viewer { id } }") == {}


def test_mutations_read_full_rows() -> None:
    mutation = """mutation($input: CreateDealInput!) { createDeal(input: $input) {
      ... on CreateDealSuccess { deal { customer { firstName } } } } }"""
    assert columns_of(mutation) == {}


async def test_narrowed_rows_answer_as_full_rows_do(
    app: Starlette, client: GraphQLClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    for _ in range(6):
        await factory.deal(tenant, scenarios=3)
    engine = app.state.dealerdesk.engine.sync_engine

    with count_statements(engine) as narrow_log:
        narrow = await client.data(PAGE % "", {"first": 6}, token=tenant.token)
    with count_statements(engine) as full_log:
        full = await client.data(PAGE % "isEditable", {"first": 6}, token=tenant.token)

    for node in full["deals"]["nodes"]:  # type: ignore[index]
        del node["isEditable"]
    assert narrow == full
    assert len(narrow["deals"]["nodes"]) == 6  # type: ignore[index]
    assert all(len(n["scenarios"]) == 3 for n in narrow["deals"]["nodes"])  # type: ignore[index]

    def reads(log: object, column: str) -> bool:
        return any(column in s for s in log.statements)  # type: ignore[attr-defined]

    # Columns no field of the query selects are read for full rows only.
    for column in ('"password_hash"', '"msrp"', '"down_payment"', '"alternate_phone"'):
        assert reads(full_log, column)
        assert not reads(narrow_log, column)
    assert narrow_log.count == full_log.count


async def test_one_deal_joined_with_narrowed_relations(
    app: Starlette, client: GraphQLClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    deal = await factory.deal(tenant)
    query = """query($id: ID!) { deal(id: $id) {
      dealNumber customer { firstName email } vehicle { vin listPrice } %s } }"""
    engine = app.state.dealerdesk.engine.sync_engine
    variables = {"id": global_id("Deal", deal)}
    with count_statements(engine) as log:
        narrow = await client.data(query % "", variables, token=tenant.token)
    full = await client.data(query % "isEditable", variables, token=tenant.token)
    del full["deal"]["isEditable"]  # type: ignore[union-attr]
    assert narrow == full
    assert narrow["deal"]["customer"]["email"]  # type: ignore[index]
    assert not any('r0."phone"' in s for s in log.statements)
