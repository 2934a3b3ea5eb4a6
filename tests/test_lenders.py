"""Lenders and their programs through the real app: CRUD, validation, matching, tenancy,
pagination, loaders and the audit trail."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from schema.relay import to_global_id
from tests.conftest import GraphQLClient
from tests.factories import Factory, Tenant
from tests.helpers import count_statements, pk, rows, scalar

LENDER_FIELDS = "id name code contactName phone email maxLtvPercent isActive"
PROGRAM_FIELDS = (
    "id name dealType minCreditScore maxCreditScore minTermMonths maxTermMonths buyRate "
    "moneyFactor maxAdvancePercent effectiveFrom effectiveTo lender { id }"
)

CREATE = f"""
mutation($input: CreateLenderInput!) {{
  createLender(input: $input) {{
    __typename
    ... on CreateLenderSuccess {{ lender {{ {LENDER_FIELDS} }} }}
    ... on Error {{ message code field }}
  }}
}}"""

UPDATE = f"""
mutation($input: UpdateLenderInput!) {{
  updateLender(input: $input) {{
    __typename
    ... on UpdateLenderSuccess {{ lender {{ {LENDER_FIELDS} }} }}
    ... on Error {{ message code field }}
  }}
}}"""

DEACTIVATE = """
mutation($input: DeactivateLenderInput!) {
  deactivateLender(input: $input) {
    __typename
    ... on DeactivateLenderSuccess { lender { id isActive } }
    ... on Error { message code field }
  }
}"""

CREATE_PROGRAM = f"""
mutation($input: CreateLenderProgramInput!) {{
  createLenderProgram(input: $input) {{
    __typename
    ... on CreateLenderProgramSuccess {{ program {{ {PROGRAM_FIELDS} }} }}
    ... on Error {{ message code field }}
  }}
}}"""

UPDATE_PROGRAM = f"""
mutation($input: UpdateLenderProgramInput!) {{
  updateLenderProgram(input: $input) {{
    __typename
    ... on UpdateLenderProgramSuccess {{ program {{ {PROGRAM_FIELDS} }} }}
    ... on Error {{ message code field }}
  }}
}}"""

DELETE_PROGRAM = """
mutation($input: DeleteLenderProgramInput!) {
  deleteLenderProgram(input: $input) {
    __typename
    ... on DeleteLenderProgramSuccess { deletedId lender { id programs { name } } }
    ... on Error { message code field }
  }
}"""

MATCHING = """
query($dealType: DealType!, $creditScore: Int!, $termMonths: Int!) {
  matchingLenderPrograms(dealType: $dealType, creditScore: $creditScore, termMonths: $termMonths) {
    name buyRate moneyFactor lender { name }
  }
}"""

LIST = """
query($first: Int, $after: String, $last: Int, $before: String, $filter: LenderFilter,
      $orderBy: LenderOrder) {
  lenders(first: $first, after: $after, last: $last, before: $before, filter: $filter,
          orderBy: $orderBy) {
    totalCount
    nodes { name programs { name } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""


async def _lender(client: GraphQLClient, tenant: Tenant, **values: object) -> dict[str, object]:
    data = await client.data(
        CREATE, {"input": {"name": "Ally Financial", **values}}, token=tenant.token
    )
    result = data["createLender"]
    assert result["__typename"] == "CreateLenderSuccess", result
    lender = result["lender"]
    assert isinstance(lender, dict)
    return lender


def _program_input(lender_id: object, **values: object) -> dict[str, object]:
    return {
        "lenderId": lender_id,
        "name": "Tier 1",
        "dealType": "FINANCE",
        "minCreditScore": 700,
        "maxCreditScore": 850,
        "minTermMonths": 24,
        "maxTermMonths": 72,
        "buyRate": "5.49",
        **values,
    }


async def _program(
    client: GraphQLClient, tenant: Tenant, lender_id: object, **values: object
) -> dict[str, object]:
    data = await client.data(
        CREATE_PROGRAM, {"input": _program_input(lender_id, **values)}, token=tenant.token
    )
    result = data["createLenderProgram"]
    assert result["__typename"] == "CreateLenderProgramSuccess", result
    program = result["program"]
    assert isinstance(program, dict)
    return program


async def test_create_lender_normalises_and_audits(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    lender = await _lender(
        client,
        tenant,
        code=" ally ",
        contactName="Jo Rep",
        phone="(614) 555-0100",
        email=" Deals@Ally.example ",
        maxLtvPercent="125",
    )
    assert lender == {
        "id": lender["id"],
        "name": "Ally Financial",
        "code": "ALLY",
        "contactName": "Jo Rep",
        "phone": "+16145550100",
        "email": "Deals@ally.example",
        "maxLtvPercent": "125.0000",
        "isActive": True,
    }
    audit = await rows(
        engine, tenant.dealership_id, "SELECT action, entity_type, entity_id FROM audit_logs"
    )
    assert audit == [
        {"action": "lender.create", "entity_type": "Lender", "entity_id": pk(lender["id"])}
    ]


@pytest.mark.parametrize(
    ("values", "field", "code"),
    [
        ({"name": " "}, ["input", "name"], "REQUIRED"),
        ({"phone": "12"}, ["input", "phone"], "INVALID_PHONE"),
        ({"email": "nope"}, ["input", "email"], "INVALID_EMAIL"),
        ({"maxLtvPercent": "0"}, ["input", "maxLtvPercent"], "OUT_OF_RANGE"),
        ({"maxLtvPercent": "300.0001"}, ["input", "maxLtvPercent"], "OUT_OF_RANGE"),
        ({"maxLtvPercent": "120.12345"}, ["input", "maxLtvPercent"], "TOO_MANY_DECIMALS"),
        ({"code": "X" * 21}, ["input", "code"], "TOO_LONG"),
    ],
)
async def test_create_lender_validation(
    client: GraphQLClient,
    factory: Factory,
    engine: AsyncEngine,
    values: dict[str, object],
    field: list[str],
    code: str,
) -> None:
    tenant = await factory.tenant()
    result = (await client.data(CREATE, {"input": {"name": "Ally", **values}}, token=tenant.token))[
        "createLender"
    ]
    assert (result["__typename"], result["field"], result["code"]) == (
        "ValidationError",
        field,
        code,
    )
    assert await scalar(engine, tenant.dealership_id, "SELECT count(*) FROM lenders") == 0
    assert await scalar(engine, tenant.dealership_id, "SELECT count(*) FROM audit_logs") == 0


async def test_update_and_deactivate_lender(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    lender = await _lender(client, tenant, phone="6145550100")
    updated = (
        await client.data(
            UPDATE,
            {"input": {"id": lender["id"], "contactName": "Sam", "phone": None}},
            token=tenant.token,
        )
    )["updateLender"]
    assert updated["__typename"] == "UpdateLenderSuccess"
    assert (updated["lender"]["contactName"], updated["lender"]["phone"]) == ("Sam", None)
    refused = (
        await client.data(UPDATE, {"input": {"id": lender["id"], "name": None}}, token=tenant.token)
    )["updateLender"]
    assert (refused["code"], refused["field"]) == ("REQUIRED", ["input", "name"])

    done = (await client.data(DEACTIVATE, {"input": {"id": lender["id"]}}, token=tenant.token))[
        "deactivateLender"
    ]
    assert done["lender"] == {"id": lender["id"], "isActive": False}
    assert (await client.data(LIST, {}, token=tenant.token))["lenders"]["totalCount"] == 0
    shown = await client.data(LIST, {"filter": {"includeInactive": True}}, token=tenant.token)
    assert shown["lenders"]["totalCount"] == 1
    audit = await rows(
        engine, tenant.dealership_id, "SELECT action, changes FROM audit_logs ORDER BY id"
    )
    assert [a["action"] for a in audit] == ["lender.create", "lender.update", "lender.deactivate"]
    assert audit[1]["changes"] == {
        "contact_name": {"before": None, "after": "Sam"},
        "phone": {"before": "+16145550100", "after": None},
    }


async def test_programs_create_update_delete(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    lender = await _lender(client, tenant)
    program = await _program(
        client,
        tenant,
        lender["id"],
        maxAdvancePercent="120",
        effectiveFrom="2026-01-01",
        effectiveTo="2026-12-31",
    )
    assert program == {
        "id": program["id"],
        "name": "Tier 1",
        "dealType": "FINANCE",
        "minCreditScore": 700,
        "maxCreditScore": 850,
        "minTermMonths": 24,
        "maxTermMonths": 72,
        "buyRate": "5.4900",
        "moneyFactor": None,
        "maxAdvancePercent": "120.0000",
        "effectiveFrom": "2026-01-01",
        "effectiveTo": "2026-12-31",
        "lender": {"id": lender["id"]},
    }
    # Switching to a lease: the money factor is needed, the buy rate goes.
    switched = (
        await client.data(
            UPDATE_PROGRAM,
            {"input": {"id": program["id"], "dealType": "LEASE", "moneyFactor": "0.00125"}},
            token=tenant.token,
        )
    )["updateLenderProgram"]
    assert switched["__typename"] == "UpdateLenderProgramSuccess"
    assert (switched["program"]["buyRate"], switched["program"]["moneyFactor"]) == (
        None,
        "0.0012500",
    )
    narrowed = (
        await client.data(
            UPDATE_PROGRAM,
            {"input": {"id": program["id"], "maxCreditScore": 699}},
            token=tenant.token,
        )
    )["updateLenderProgram"]
    assert (narrowed["code"], narrowed["field"]) == ("INVALID_RANGE", ["input", "maxCreditScore"])

    second = await _program(client, tenant, lender["id"], name="A tier")
    data = await client.data(
        "query($id: ID!) { lender(id: $id) { programs { name } } }",
        {"id": lender["id"]},
        token=tenant.token,
    )
    assert data["lender"]["programs"] == [{"name": "A tier"}, {"name": "Tier 1"}]
    deleted = (
        await client.data(DELETE_PROGRAM, {"input": {"id": program["id"]}}, token=tenant.token)
    )["deleteLenderProgram"]
    assert deleted == {
        "__typename": "DeleteLenderProgramSuccess",
        "deletedId": program["id"],
        "lender": {"id": lender["id"], "programs": [{"name": "A tier"}]},
    }
    assert second["id"] != program["id"]
    audit = await rows(
        engine,
        tenant.dealership_id,
        "SELECT action, entity_id, changes FROM audit_logs "
        "WHERE entity_type = 'LenderProgram' ORDER BY id",
    )
    assert [a["action"] for a in audit] == [
        "lender_program.create",
        "lender_program.update",
        "lender_program.create",
        "lender_program.delete",
    ]
    assert audit[1]["changes"]["buy_rate"] == {"before": "5.4900", "after": None}
    assert audit[3]["entity_id"] == pk(program["id"])
    assert audit[3]["changes"]["name"] == {"before": "Tier 1", "after": None}
    missing = (
        await client.data(DELETE_PROGRAM, {"input": {"id": program["id"]}}, token=tenant.token)
    )["deleteLenderProgram"]
    assert missing["__typename"] == "ResourceNotFoundError"


@pytest.mark.parametrize(
    ("values", "field", "code"),
    [
        ({"name": ""}, ["input", "name"], "REQUIRED"),
        ({"dealType": "CASH"}, ["input", "dealType"], "INVALID_DEAL_TYPE"),
        ({"minCreditScore": 299}, ["input", "minCreditScore"], "CREDIT_SCORE_OUT_OF_RANGE"),
        ({"maxCreditScore": 851}, ["input", "maxCreditScore"], "CREDIT_SCORE_OUT_OF_RANGE"),
        (
            {"minCreditScore": 800, "maxCreditScore": 700},
            ["input", "maxCreditScore"],
            "INVALID_RANGE",
        ),
        ({"minTermMonths": 0}, ["input", "minTermMonths"], "TERM_OUT_OF_RANGE"),
        ({"maxTermMonths": 121}, ["input", "maxTermMonths"], "TERM_OUT_OF_RANGE"),
        ({"minTermMonths": 72, "maxTermMonths": 36}, ["input", "maxTermMonths"], "INVALID_RANGE"),
        ({"buyRate": None}, ["input", "buyRate"], "REQUIRED"),
        ({"buyRate": "100"}, ["input", "buyRate"], "OUT_OF_RANGE"),
        ({"moneyFactor": "0.002"}, ["input", "moneyFactor"], "NOT_APPLICABLE"),
        ({"dealType": "LEASE", "buyRate": None}, ["input", "moneyFactor"], "REQUIRED"),
        (
            {"dealType": "LEASE", "moneyFactor": "0.002"},
            ["input", "buyRate"],
            "NOT_APPLICABLE",
        ),
        (
            {"dealType": "LEASE", "buyRate": None, "moneyFactor": "0.00012345"},
            ["input", "moneyFactor"],
            "TOO_MANY_DECIMALS",
        ),
        (
            {"dealType": "LEASE", "buyRate": None, "moneyFactor": "0"},
            ["input", "moneyFactor"],
            "OUT_OF_RANGE",
        ),
        ({"maxAdvancePercent": "0"}, ["input", "maxAdvancePercent"], "OUT_OF_RANGE"),
        (
            {"effectiveFrom": "2026-02-01", "effectiveTo": "2026-01-31"},
            ["input", "effectiveTo"],
            "INVALID_RANGE",
        ),
    ],
)
async def test_program_validation(
    client: GraphQLClient,
    factory: Factory,
    engine: AsyncEngine,
    values: dict[str, object],
    field: list[str],
    code: str,
) -> None:
    tenant = await factory.tenant()
    lender_id = to_global_id("Lender", await factory.lender(tenant))
    result = (
        await client.data(
            CREATE_PROGRAM, {"input": _program_input(lender_id, **values)}, token=tenant.token
        )
    )["createLenderProgram"]
    assert (result["__typename"], result["field"], result["code"]) == (
        "ValidationError",
        field,
        code,
    )
    assert await scalar(engine, tenant.dealership_id, "SELECT count(*) FROM lender_programs") == 0
    assert await scalar(engine, tenant.dealership_id, "SELECT count(*) FROM audit_logs") == 0


async def test_matching_programs(client: GraphQLClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    ally = await _lender(client, tenant, name="Ally")
    chase = await _lender(client, tenant, name="Chase")
    gone = await _lender(client, tenant, name="Gone")
    today = date.today()
    await _program(client, tenant, ally["id"], name="Ally prime", buyRate="5.49")
    await _program(
        client,
        tenant,
        ally["id"],
        name="Ally near-prime",
        minCreditScore=620,
        maxCreditScore=699,
        buyRate="8.99",
    )
    await _program(client, tenant, chase["id"], name="Chase prime", buyRate="4.99")
    await _program(
        client,
        tenant,
        chase["id"],
        name="Chase expired",
        buyRate="1.99",
        effectiveTo=str(today - timedelta(days=3)),
    )
    await _program(
        client,
        tenant,
        chase["id"],
        name="Chase future",
        buyRate="1.99",
        effectiveFrom=str(today + timedelta(days=3)),
    )
    await _program(
        client, tenant, chase["id"], name="Chase short", buyRate="2.99", maxTermMonths=36
    )
    await _program(
        client,
        tenant,
        chase["id"],
        name="Chase lease",
        dealType="LEASE",
        buyRate=None,
        moneyFactor="0.0021",
    )
    await _program(client, tenant, gone["id"], name="Gone prime", buyRate="0.99")
    await client.data(DEACTIVATE, {"input": {"id": gone["id"]}}, token=tenant.token)

    async def names(deal_type: str, score: int, term: int) -> list[str]:
        data = await client.data(
            MATCHING,
            {"dealType": deal_type, "creditScore": score, "termMonths": term},
            token=tenant.token,
        )
        return [p["name"] for p in data["matchingLenderPrograms"]]

    assert await names("FINANCE", 750, 60) == ["Chase prime", "Ally prime"]
    assert await names("FINANCE", 700, 72) == ["Chase prime", "Ally prime"]  # bounds included
    assert await names("FINANCE", 750, 36) == ["Chase short", "Chase prime", "Ally prime"]
    assert await names("FINANCE", 650, 60) == ["Ally near-prime"]
    assert await names("FINANCE", 600, 60) == []
    assert await names("FINANCE", 750, 84) == []
    assert await names("LEASE", 750, 36) == ["Chase lease"]
    bad = await client.execute(
        MATCHING, {"dealType": "FINANCE", "creditScore": 900, "termMonths": 60}, token=tenant.token
    )
    assert bad["errors"][0]["extensions"]["code"] == "CREDIT_SCORE_OUT_OF_RANGE"


async def test_another_dealerships_lenders_cannot_be_read_or_changed(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    a, b = await factory.tenant(), await factory.tenant()
    theirs = await _lender(client, b, name="B Bank")
    their_program = await _program(client, b, theirs["id"])
    read = await client.data(
        "query($id: ID!, $p: ID!) { lender(id: $id) { id } node(id: $id) { id }"
        " program: node(id: $p) { id } }",
        {"id": theirs["id"], "p": their_program["id"]},
        token=a.token,
    )
    assert read == {"lender": None, "node": None, "program": None}
    assert (await client.data(LIST, {}, token=a.token))["lenders"]["totalCount"] == 0
    matching = await client.data(
        MATCHING, {"dealType": "FINANCE", "creditScore": 750, "termMonths": 60}, token=a.token
    )
    assert matching["matchingLenderPrograms"] == []

    attempts = [
        (UPDATE, "updateLender", {"id": theirs["id"], "name": "Mine"}, ["input", "id"]),
        (DEACTIVATE, "deactivateLender", {"id": theirs["id"]}, ["input", "id"]),
        (
            CREATE_PROGRAM,
            "createLenderProgram",
            _program_input(theirs["id"]),
            ["input", "lenderId"],
        ),
        (
            UPDATE_PROGRAM,
            "updateLenderProgram",
            {"id": their_program["id"], "buyRate": "1"},
            ["input", "id"],
        ),
        (DELETE_PROGRAM, "deleteLenderProgram", {"id": their_program["id"]}, ["input", "id"]),
    ]
    for query, name, payload, field in attempts:
        result = (await client.data(query, {"input": payload}, token=a.token))[name]
        assert (result["__typename"], result["field"]) == ("MultiTenantViolationError", field), name
    assert await scalar(engine, a.dealership_id, "SELECT count(*) FROM audit_logs") == 0
    assert await scalar(engine, a.dealership_id, "SELECT count(*) FROM lender_programs") == 0
    still = await rows(
        engine,
        b.dealership_id,
        "SELECT l.name, l.is_active, p.buy_rate::text AS buy_rate FROM lenders l "
        "JOIN lender_programs p ON p.lender_id = l.id",
    )
    assert still == [{"name": "B Bank", "is_active": True, "buy_rate": "5.4900"}]
    assert await scalar(engine, a.dealership_id, "SELECT count(*) FROM security_audit_logs") == 5


async def test_lender_pagination_and_programs_in_one_statement(
    client: GraphQLClient, factory: Factory, app: Starlette
) -> None:
    tenant = await factory.tenant()
    empty = (await client.data(LIST, {"first": 3}, token=tenant.token))["lenders"]
    assert (empty["totalCount"], empty["nodes"], empty["pageInfo"]["endCursor"]) == (0, [], None)
    for name in ("Ally", "BMO", "Chase", "Discover"):
        lender = await _lender(client, tenant, name=name)
        await _program(client, tenant, lender["id"], name=f"{name} 1")
        await _program(client, tenant, lender["id"], name=f"{name} 2")
    with count_statements(app.state.dealerdesk.engine.sync_engine) as log:
        page1 = (await client.data(LIST, {"first": 3}, token=tenant.token))["lenders"]
    assert [n["name"] for n in page1["nodes"]] == ["Ally", "BMO", "Chase"]
    assert page1["nodes"][0]["programs"] == [{"name": "Ally 1"}, {"name": "Ally 2"}]
    # The page, its total and all programs of all lenders: one statement each.
    assert len(log.data_statements) == 3, log.data_statements
    page2 = (
        await client.data(
            LIST, {"first": 3, "after": page1["pageInfo"]["endCursor"]}, token=tenant.token
        )
    )["lenders"]
    assert [n["name"] for n in page2["nodes"]] == ["Discover"]
    assert (page2["pageInfo"]["hasNextPage"], page2["pageInfo"]["hasPreviousPage"]) == (
        False,
        True,
    )
    desc = await client.data(
        LIST, {"first": 1, "orderBy": {"field": "NAME", "direction": "DESC"}}, token=tenant.token
    )
    assert desc["lenders"]["nodes"][0]["name"] == "Discover"
    found = await client.data(LIST, {"filter": {"search": "isc"}}, token=tenant.token)
    assert [n["name"] for n in found["lenders"]["nodes"]] == ["Discover"]
    bad = await client.execute(LIST, {"after": "garbage"}, token=tenant.token)
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"
    too_many = await client.execute(LIST, {"first": 101}, token=tenant.token)
    assert too_many["errors"][0]["extensions"]["code"] == "PAGE_SIZE_OUT_OF_RANGE"
