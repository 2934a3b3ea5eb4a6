"""Tax jurisdictions through the real app: CRUD, validation, the address lookup, tenancy,
pagination and the audit trail."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from schema.relay import to_global_id
from tests.conftest import GraphQLClient
from tests.factories import Factory, Tenant
from tests.helpers import pk, rows, scalar

FIELDS = "id name state county city postalCode rate tradeInCredit maxTaxableAmount isActive"

CREATE = f"""
mutation($input: CreateTaxJurisdictionInput!) {{
  createTaxJurisdiction(input: $input) {{
    __typename
    ... on CreateTaxJurisdictionSuccess {{ taxJurisdiction {{ {FIELDS} }} }}
    ... on Error {{ message code field }}
  }}
}}"""

UPDATE = f"""
mutation($input: UpdateTaxJurisdictionInput!) {{
  updateTaxJurisdiction(input: $input) {{
    __typename
    ... on UpdateTaxJurisdictionSuccess {{ taxJurisdiction {{ {FIELDS} }} }}
    ... on Error {{ message code field }}
  }}
}}"""

DEACTIVATE = """
mutation($input: DeactivateTaxJurisdictionInput!) {
  deactivateTaxJurisdiction(input: $input) {
    __typename
    ... on DeactivateTaxJurisdictionSuccess { taxJurisdiction { id isActive } }
    ... on Error { message code field }
  }
}"""

LOOKUP = """
query($state: String!, $county: String, $city: String, $postalCode: String) {
  lookupTaxJurisdiction(state: $state, county: $county, city: $city, postalCode: $postalCode) {
    name
  }
}"""

LIST = """
query($first: Int, $after: String, $last: Int, $before: String,
      $filter: TaxJurisdictionFilter, $orderBy: TaxJurisdictionOrder) {
  taxJurisdictions(first: $first, after: $after, last: $last, before: $before,
                   filter: $filter, orderBy: $orderBy) {
    totalCount
    nodes { name rate }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""


async def _create(client: GraphQLClient, tenant: Tenant, **values: object) -> dict[str, object]:
    payload = {"name": "Columbus, OH", "state": "OH", "rate": "7.5", **values}
    data = await client.data(CREATE, {"input": payload}, token=tenant.token)
    result = data["createTaxJurisdiction"]
    assert isinstance(result, dict)
    return result


async def _created(client: GraphQLClient, tenant: Tenant, **values: object) -> dict[str, object]:
    result = await _create(client, tenant, **values)
    assert result["__typename"] == "CreateTaxJurisdictionSuccess", result
    created = result["taxJurisdiction"]
    assert isinstance(created, dict)
    return created


async def test_create_normalises_and_audits(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    created = await _created(
        client,
        tenant,
        name="  Franklin County ",
        state=" oh",
        county="Franklin",
        postalCode="43215-1234",
        rate="7.25",
        tradeInCredit=False,
        maxTaxableAmount="50000",
    )
    assert created == {
        "id": created["id"],
        "name": "Franklin County",
        "state": "OH",
        "county": "Franklin",
        "city": None,
        "postalCode": "43215-1234",
        "rate": "7.2500",
        "tradeInCredit": False,
        "maxTaxableAmount": "50000.00",
        "isActive": True,
    }
    audit = await rows(
        engine,
        tenant.dealership_id,
        "SELECT action, entity_type, entity_id, changes FROM audit_logs",
    )
    assert len(audit) == 1
    assert audit[0]["action"] == "tax_jurisdiction.create"
    assert audit[0]["entity_type"] == "TaxJurisdiction"
    assert audit[0]["entity_id"] == pk(created["id"])
    assert audit[0]["changes"]["rate"] == {"before": None, "after": "7.2500"}


@pytest.mark.parametrize(
    ("values", "field", "code"),
    [
        ({"name": "  "}, ["input", "name"], "REQUIRED"),
        ({"state": "Ohio"}, ["input", "state"], "INVALID_STATE"),
        ({"state": "O1"}, ["input", "state"], "INVALID_STATE"),
        ({"state": ""}, ["input", "state"], "REQUIRED"),
        ({"rate": "30"}, ["input", "rate"], "OUT_OF_RANGE"),
        ({"rate": "-0.01"}, ["input", "rate"], "OUT_OF_RANGE"),
        ({"rate": "7.12345"}, ["input", "rate"], "TOO_MANY_DECIMALS"),
        ({"rate": "NaN"}, ["input", "rate"], "OUT_OF_RANGE"),
        ({"postalCode": "4321"}, ["input", "postalCode"], "INVALID_POSTAL_CODE"),
        ({"postalCode": "43215-12"}, ["input", "postalCode"], "INVALID_POSTAL_CODE"),
        ({"maxTaxableAmount": "0"}, ["input", "maxTaxableAmount"], "MUST_BE_POSITIVE"),
        ({"city": "x" * 201}, ["input", "city"], "TOO_LONG"),
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
    tenant = await factory.tenant()
    result = await _create(client, tenant, **values)
    assert result["__typename"] == "ValidationError"
    assert (result["field"], result["code"]) == (field, code)
    assert await scalar(engine, tenant.dealership_id, "SELECT count(*) FROM tax_jurisdictions") == 0
    assert await scalar(engine, tenant.dealership_id, "SELECT count(*) FROM audit_logs") == 0


async def test_zero_rate_and_the_largest_rate_below_30_are_accepted(
    client: GraphQLClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    assert (await _created(client, tenant, rate="0"))["rate"] == "0.0000"
    assert (await _created(client, tenant, rate="29.9999"))["rate"] == "29.9999"


async def test_update_changes_only_what_is_sent(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    created = await _created(client, tenant, city="Columbus")
    data = await client.data(
        UPDATE, {"input": {"id": created["id"], "rate": "8", "city": None}}, token=tenant.token
    )
    result = data["updateTaxJurisdiction"]
    assert result["__typename"] == "UpdateTaxJurisdictionSuccess"
    updated = result["taxJurisdiction"]
    assert (updated["rate"], updated["city"], updated["name"]) == ("8.0000", None, "Columbus, OH")
    audit = await rows(
        engine,
        tenant.dealership_id,
        "SELECT changes FROM audit_logs WHERE action = 'tax_jurisdiction.update'",
    )
    assert audit == [
        {
            "changes": {
                "city": {"before": "Columbus", "after": None},
                "rate": {"before": "7.5000", "after": "8.0000"},
            }
        }
    ]
    # The same values again change nothing and write no audit row.
    again = await client.data(
        UPDATE, {"input": {"id": created["id"], "rate": "8.00"}}, token=tenant.token
    )
    assert again["updateTaxJurisdiction"]["__typename"] == "UpdateTaxJurisdictionSuccess"
    assert (
        await scalar(
            engine,
            tenant.dealership_id,
            "SELECT count(*) FROM audit_logs WHERE action = 'tax_jurisdiction.update'",
        )
        == 1
    )


@pytest.mark.parametrize(
    ("values", "field", "code"),
    [
        ({"name": None}, ["input", "name"], "REQUIRED"),
        ({"rate": None}, ["input", "rate"], "REQUIRED"),
        ({"state": None}, ["input", "state"], "REQUIRED"),
        ({"tradeInCredit": None}, ["input", "tradeInCredit"], "REQUIRED"),
        ({"rate": "31"}, ["input", "rate"], "OUT_OF_RANGE"),
    ],
)
async def test_update_validation_errors(
    client: GraphQLClient,
    factory: Factory,
    engine: AsyncEngine,
    values: dict[str, object],
    field: list[str],
    code: str,
) -> None:
    tenant = await factory.tenant()
    created = await _created(client, tenant)
    data = await client.data(UPDATE, {"input": {"id": created["id"], **values}}, token=tenant.token)
    result = data["updateTaxJurisdiction"]
    assert (result["__typename"], result["field"], result["code"]) == (
        "ValidationError",
        field,
        code,
    )
    assert (
        await scalar(
            engine,
            tenant.dealership_id,
            "SELECT count(*) FROM audit_logs WHERE action <> 'tax_jurisdiction.create'",
        )
        == 0
    )


async def test_deactivate_hides_it_from_lists_and_lookups(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    created = await _created(client, tenant)
    found = await client.data(LOOKUP, {"state": "OH"}, token=tenant.token)
    assert found["lookupTaxJurisdiction"] == {"name": "Columbus, OH"}
    done = await client.data(DEACTIVATE, {"input": {"id": created["id"]}}, token=tenant.token)
    assert done["deactivateTaxJurisdiction"] == {
        "__typename": "DeactivateTaxJurisdictionSuccess",
        "taxJurisdiction": {"id": created["id"], "isActive": False},
    }
    assert (await client.data(LIST, {}, token=tenant.token))["taxJurisdictions"]["totalCount"] == 0
    everything = await client.data(LIST, {"filter": {"includeInactive": True}}, token=tenant.token)
    assert everything["taxJurisdictions"]["totalCount"] == 1
    assert (await client.data(LOOKUP, {"state": "OH"}, token=tenant.token)) == {
        "lookupTaxJurisdiction": None
    }
    # Still readable by id.
    by_id = await client.data(
        "query($id: ID!) { taxJurisdiction(id: $id) { isActive } }",
        {"id": created["id"]},
        token=tenant.token,
    )
    assert by_id["taxJurisdiction"] == {"isActive": False}
    # Deactivating again is a no-op: one audit row only.
    await client.data(DEACTIVATE, {"input": {"id": created["id"]}}, token=tenant.token)
    actions = await rows(engine, tenant.dealership_id, "SELECT action FROM audit_logs ORDER BY id")
    assert [a["action"] for a in actions] == [
        "tax_jurisdiction.create",
        "tax_jurisdiction.deactivate",
    ]


async def test_lookup_prefers_the_most_specific_active_match(
    client: GraphQLClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    await _created(client, tenant, name="Ohio", rate="5.75")
    await _created(client, tenant, name="Ohio again", rate="5.75")  # loses ties to "Ohio"
    await _created(client, tenant, name="Franklin County", county="Franklin", rate="7.5")
    await _created(client, tenant, name="Columbus", county="Franklin", city="Columbus", rate="7.5")
    await _created(client, tenant, name="Dublin", city="Dublin", rate="7.75")
    await _created(client, tenant, name="ZIP 43215", postalCode="43215", rate="8")
    await _created(client, tenant, name="ZIP 43216", postalCode="43216", city="Columbus", rate="8")
    await _created(client, tenant, name="Texas", state="TX", rate="6.25")

    async def lookup(**address: object) -> str | None:
        data = await client.data(LOOKUP, address, token=tenant.token)
        found = data["lookupTaxJurisdiction"]
        return None if found is None else found["name"]

    assert await lookup(state="OH") == "Ohio"
    assert await lookup(state="oh", county="Delaware") == "Ohio"
    assert await lookup(state="OH", county="franklin") == "Franklin County"
    assert await lookup(state="OH", county="Franklin", city="Columbus") == "Columbus"
    # The Columbus row names a county as well: without the county it does not apply.
    assert await lookup(state="OH", city="Columbus") == "Ohio"
    assert await lookup(state="OH", county="Franklin", city="Dublin") == "Dublin"
    assert (
        await lookup(state="OH", county="Franklin", city="Columbus", postalCode="43215-0001")
        == "ZIP 43215"
    )
    # The 43216 row also names a city: it applies only when that city is given too.
    assert await lookup(state="OH", postalCode="43216") == "Ohio"
    assert await lookup(state="OH", city="Columbus", postalCode="43216") == "ZIP 43216"
    assert await lookup(state="TX", city="Austin") == "Texas"
    assert await lookup(state="CA") is None


async def test_lookup_rejects_a_malformed_address(client: GraphQLClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    bad_state = await client.execute(LOOKUP, {"state": "Ohio"}, token=tenant.token)
    assert bad_state["errors"][0]["extensions"]["code"] == "INVALID_STATE"
    bad_zip = await client.execute(LOOKUP, {"state": "OH", "postalCode": "1"}, token=tenant.token)
    assert bad_zip["errors"][0]["extensions"]["code"] == "INVALID_POSTAL_CODE"


async def test_another_dealerships_jurisdiction_cannot_be_read_or_changed(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    a, b = await factory.tenant(), await factory.tenant()
    theirs = await _created(client, b, name="B only")
    read = await client.data(
        "query($id: ID!) { taxJurisdiction(id: $id) { id } node(id: $id) { id } }",
        {"id": theirs["id"]},
        token=a.token,
    )
    assert read == {"taxJurisdiction": None, "node": None}
    assert (await client.data(LIST, {}, token=a.token))["taxJurisdictions"]["totalCount"] == 0
    assert (await client.data(LOOKUP, {"state": "OH"}, token=a.token))[
        "lookupTaxJurisdiction"
    ] is None

    update = (
        await client.data(UPDATE, {"input": {"id": theirs["id"], "rate": "1"}}, token=a.token)
    )["updateTaxJurisdiction"]
    assert (update["__typename"], update["field"]) == ("MultiTenantViolationError", ["input", "id"])
    deactivate = (await client.data(DEACTIVATE, {"input": {"id": theirs["id"]}}, token=a.token))[
        "deactivateTaxJurisdiction"
    ]
    assert deactivate["__typename"] == "MultiTenantViolationError"
    still = await rows(
        engine,
        b.dealership_id,
        "SELECT rate::text AS rate, is_active FROM tax_jurisdictions WHERE id = :id",
        id=pk(theirs["id"]),
    )
    assert still == [{"rate": "7.5000", "is_active": True}]
    assert await scalar(engine, a.dealership_id, "SELECT count(*) FROM audit_logs") == 0
    events = await rows(
        engine, a.dealership_id, "SELECT event, details FROM security_audit_logs ORDER BY id"
    )
    assert [e["details"]["entity"] for e in events] == ["TaxJurisdiction", "TaxJurisdiction"]


async def test_unknown_and_malformed_ids(client: GraphQLClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    missing = to_global_id("TaxJurisdiction", 999_999_999)
    result = (await client.data(DEACTIVATE, {"input": {"id": missing}}, token=tenant.token))[
        "deactivateTaxJurisdiction"
    ]
    assert result["__typename"] == "ResourceNotFoundError"
    wrong = to_global_id("Lender", 1)
    result = (await client.data(UPDATE, {"input": {"id": wrong}}, token=tenant.token))[
        "updateTaxJurisdiction"
    ]
    assert (result["code"], result["field"]) == ("INVALID_ID", ["input", "id"])


async def test_pagination_filters_and_orders(client: GraphQLClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    empty = (await client.data(LIST, {"first": 5}, token=tenant.token))["taxJurisdictions"]
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
    for name, state, rate in (
        ("Akron", "OH", "6.75"),
        ("Boise", "ID", "6"),
        ("Cleveland", "OH", "8"),
        ("Dayton", "OH", "7.5"),
        ("Erie", "PA", "6"),
    ):
        await _created(client, tenant, name=name, state=state, rate=rate, city=name)
    page1 = (await client.data(LIST, {"first": 2}, token=tenant.token))["taxJurisdictions"]
    assert [n["name"] for n in page1["nodes"]] == ["Akron", "Boise"]
    assert page1["pageInfo"]["hasNextPage"] is True
    page2 = (
        await client.data(
            LIST, {"first": 2, "after": page1["pageInfo"]["endCursor"]}, token=tenant.token
        )
    )["taxJurisdictions"]
    page3 = (
        await client.data(
            LIST, {"first": 2, "after": page2["pageInfo"]["endCursor"]}, token=tenant.token
        )
    )["taxJurisdictions"]
    assert [n["name"] for n in page3["nodes"]] == ["Erie"]
    assert page3["pageInfo"]["hasNextPage"] is False
    assert page3["pageInfo"]["hasPreviousPage"] is True
    back = (
        await client.data(
            LIST, {"last": 2, "before": page3["pageInfo"]["startCursor"]}, token=tenant.token
        )
    )["taxJurisdictions"]
    assert [n["name"] for n in back["nodes"]] == ["Cleveland", "Dayton"]

    by_rate = await client.data(
        LIST, {"orderBy": {"field": "RATE", "direction": "DESC"}}, token=tenant.token
    )
    assert [n["rate"] for n in by_rate["taxJurisdictions"]["nodes"]] == [
        "8.0000",
        "7.5000",
        "6.7500",
        "6.0000",
        "6.0000",
    ]
    by_state = await client.data(LIST, {"orderBy": {"field": "STATE"}}, token=tenant.token)
    assert [n["name"] for n in by_state["taxJurisdictions"]["nodes"]] == [
        "Boise",
        "Akron",
        "Cleveland",
        "Dayton",
        "Erie",
    ]
    ohio = await client.data(
        LIST, {"filter": {"state": "oh", "search": "land"}}, token=tenant.token
    )
    assert [n["name"] for n in ohio["taxJurisdictions"]["nodes"]] == ["Cleveland"]
    # A cursor of another sort order is refused.
    bad = await client.execute(
        LIST,
        {"orderBy": {"field": "STATE"}, "after": page1["pageInfo"]["endCursor"]},
        token=tenant.token,
    )
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"
    garbage = await client.execute(LIST, {"after": "garbage"}, token=tenant.token)
    assert garbage["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"


async def test_unauthenticated_calls_are_refused(client: GraphQLClient) -> None:
    result = await client.execute(LOOKUP, {"state": "OH"})
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    result = await client.execute(CREATE, {"input": {"name": "X", "state": "OH", "rate": "1"}})
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
