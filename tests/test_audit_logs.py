"""Reading the audit trails through the real app: filters, pagination, tenancy, and proof
that neither the API nor the database role can change or remove an entry."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from db.models.enums import Role
from db.tenant import TenantDB
from schema.relay import to_global_id
from tests.conftest import GraphQLClient
from tests.factories import Factory, Tenant
from tests.helpers import rows

AUDIT = """
query($first: Int, $after: String, $last: Int, $before: String, $filter: AuditLogFilter,
      $orderBy: AuditLogOrder) {
  auditLogs(first: $first, after: $after, last: $last, before: $before, filter: $filter,
            orderBy: $orderBy) {
    totalCount
    nodes { id occurredAt action entityType entityId changes requestId user { email } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""

SECURITY = """
query($first: Int, $after: String, $filter: SecurityAuditLogFilter,
      $orderBy: SecurityAuditLogOrder) {
  securityAuditLogs(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    totalCount
    nodes { id occurredAt event outcome clientIp userAgent details requestId user { email } }
    pageInfo { hasNextPage endCursor }
  }
}"""

CREATE_TAX = """
mutation($input: CreateTaxJurisdictionInput!) {
  createTaxJurisdiction(input: $input) {
    __typename ... on CreateTaxJurisdictionSuccess { taxJurisdiction { id } }
  }
}"""

CREATE_LENDER = """
mutation($input: CreateLenderInput!) {
  createLender(input: $input) {
    __typename ... on CreateLenderSuccess { lender { id } }
    ... on Error { code }
  }
}"""

UPDATE_LENDER = """
mutation($input: UpdateLenderInput!) {
  updateLender(input: $input) { __typename ... on Error { code } }
}"""


async def _changes(client: GraphQLClient, tenant: Tenant) -> dict[str, str]:
    """Three audited changes: a tax jurisdiction by the sales manager, then a lender created
    and renamed by the finance manager. Returns their global ids."""
    response = await client.post(
        CREATE_TAX,
        {"input": {"name": "Ohio", "state": "OH", "rate": "5.75"}},
        token=tenant.token,
        headers={"X-Request-ID": "req-audit-1"},
    )
    tax = response.json()["data"]["createTaxJurisdiction"]["taxJurisdiction"]["id"]
    finance = tenant.tokens[Role.FINANCE_MANAGER]
    created = await client.data(CREATE_LENDER, {"input": {"name": "Ally"}}, token=finance)
    lender = created["createLender"]["lender"]["id"]
    await client.data(UPDATE_LENDER, {"input": {"id": lender, "name": "Ally Bank"}}, token=finance)
    return {"tax": tax, "lender": lender}


async def _audit(client: GraphQLClient, tenant: Tenant, **variables: object) -> dict[str, object]:
    data = await client.data(AUDIT, variables, token=tenant.token)
    connection = data["auditLogs"]
    assert isinstance(connection, dict)
    return connection


async def test_audit_logs_newest_first_with_their_details(
    client: GraphQLClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    ids = await _changes(client, tenant)
    connection = await _audit(client, tenant)
    assert connection["totalCount"] == 3
    nodes = connection["nodes"]
    assert [(n["action"], n["entityType"], n["entityId"]) for n in nodes] == [
        ("lender.update", "Lender", ids["lender"]),
        ("lender.create", "Lender", ids["lender"]),
        ("tax_jurisdiction.create", "TaxJurisdiction", ids["tax"]),
    ]
    assert nodes[0]["changes"] == {"name": {"before": "Ally", "after": "Ally Bank"}}
    assert nodes[0]["user"] == {"email": f"finance_manager.{tenant.code}@example.com"}
    assert nodes[2]["user"] == {"email": f"sales_manager.{tenant.code}@example.com"}
    assert nodes[2]["requestId"] == "req-audit-1"
    assert nodes[2]["changes"]["rate"] == {"before": None, "after": "5.7500"}
    # An entry is a Node too.
    again = await client.data(
        "query($id: ID!) { node(id: $id) { ... on AuditLog { action } } }",
        {"id": nodes[0]["id"]},
        token=tenant.token,
    )
    assert again["node"] == {"action": "lender.update"}


async def test_audit_log_filters(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    ids = await _changes(client, tenant)

    async def actions(**filter: object) -> list[str]:
        connection = await _audit(client, tenant, filter=filter)
        return [n["action"] for n in connection["nodes"]]

    assert await actions(entityType="Lender") == ["lender.update", "lender.create"]
    assert await actions(entityId=ids["tax"]) == ["tax_jurisdiction.create"]
    assert await actions(entityId=ids["lender"], action="lender.create") == ["lender.create"]
    assert await actions(action="lender.") == ["lender.update", "lender.create"]
    assert await actions(action="lender") == []  # exact unless it ends with "."
    assert await actions(action="tax_jurisdiction.") == ["tax_jurisdiction.create"]
    assert await actions(action="%.") == []  # pattern characters are literal
    manager = to_global_id("User", tenant.users[Role.SALES_MANAGER])
    assert await actions(userId=manager) == ["tax_jurisdiction.create"]
    times = await rows(
        engine, tenant.dealership_id, "SELECT occurred_at FROM audit_logs ORDER BY id"
    )
    second = times[1]["occurred_at"].isoformat()
    assert await actions(occurredAfter=second) == ["lender.update", "lender.create"]
    assert await actions(occurredBefore=second) == ["tax_jurisdiction.create"]
    assert await actions(occurredAfter=second, occurredBefore=second) == []

    for filter, code in (
        ({"entityId": "nonsense"}, "INVALID_ID"),
        ({"entityType": "Customer", "entityId": ids["tax"]}, "INVALID_ID"),
        ({"userId": ids["tax"]}, "INVALID_ID"),
        ({"occurredAfter": "2026-01-01T00:00:00"}, "TIME_ZONE_REQUIRED"),
    ):
        result = await client.execute(AUDIT, {"filter": filter}, token=tenant.token)
        assert result["data"] is None
        assert result["errors"][0]["extensions"]["code"] == code, filter


async def test_audit_log_pagination(client: GraphQLClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    empty = await _audit(client, tenant, first=2)
    assert (empty["totalCount"], empty["nodes"], empty["pageInfo"]["hasNextPage"]) == (0, [], False)
    for n in range(5):
        await client.data(
            CREATE_TAX, {"input": {"name": f"J{n}", "state": "OH", "rate": "1"}}, token=tenant.token
        )
    page1 = await _audit(client, tenant, first=2)
    assert page1["pageInfo"]["hasNextPage"] is True
    page2 = await _audit(client, tenant, first=2, after=page1["pageInfo"]["endCursor"])
    page3 = await _audit(client, tenant, first=2, after=page2["pageInfo"]["endCursor"])
    seen = [n["id"] for page in (page1, page2, page3) for n in page["nodes"]]
    assert len(set(seen)) == 5
    assert (page3["pageInfo"]["hasNextPage"], page3["pageInfo"]["hasPreviousPage"]) == (False, True)
    back = await _audit(client, tenant, last=2, before=page3["pageInfo"]["startCursor"])
    assert [n["id"] for n in back["nodes"]] == seen[2:4]
    oldest = await _audit(client, tenant, first=1, orderBy={"direction": "ASC"})
    assert oldest["nodes"][0]["id"] == seen[-1]
    assert oldest["nodes"][0]["changes"]["name"]["after"] == "J0"
    bad = await client.execute(AUDIT, {"after": "garbage"}, token=tenant.token)
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"


async def test_a_dealership_sees_only_its_own_trails(
    client: GraphQLClient, factory: Factory
) -> None:
    a, b = await factory.tenant(), await factory.tenant()
    ids = await _changes(client, b)
    mine = await _audit(client, a)
    assert mine["totalCount"] == 0
    theirs = await _audit(client, b)
    read = await client.data(
        "query($id: ID!) { node(id: $id) { id } }",
        {"id": theirs["nodes"][0]["id"]},
        token=a.token,
    )
    assert read == {"node": None}
    by_entity = await _audit(client, a, filter={"entityId": ids["lender"]})
    assert by_entity["totalCount"] == 0
    # A's cross-tenant attempt is filed in A's security trail, not in B's.
    attempt = await client.data(
        UPDATE_LENDER, {"input": {"id": ids["lender"], "name": "x"}}, token=a.token
    )
    assert attempt["updateLender"]["code"] == "CROSS_TENANT"
    data = await client.data(SECURITY, {}, token=b.token)
    assert data["securityAuditLogs"]["totalCount"] == 0


async def test_security_audit_logs(client: GraphQLClient, factory: Factory) -> None:
    a, b = await factory.tenant(), await factory.tenant()
    ids = await _changes(client, b)
    for _ in range(3):
        response = await client.post(
            UPDATE_LENDER,
            {"input": {"id": ids["lender"], "name": "Mine"}},
            token=a.token,
            headers={"User-Agent": "probe/1.0", "X-Request-ID": "req-sec-1"},
        )
        assert response.json()["data"]["updateLender"]["code"] == "CROSS_TENANT"
    data = await client.data(SECURITY, {"first": 2}, token=a.token)
    connection = data["securityAuditLogs"]
    assert connection["totalCount"] == 3
    assert connection["pageInfo"]["hasNextPage"] is True
    entry = connection["nodes"][0]
    assert entry == {
        "id": entry["id"],
        "occurredAt": entry["occurredAt"],
        "event": "tenant.cross_tenant_write",
        "outcome": "denied",
        "clientIp": entry["clientIp"],
        "userAgent": "probe/1.0",
        "details": {"operation": "update_lender", "entity": "Lender", "field": ["input", "id"]},
        "requestId": "req-sec-1",
        "user": {"email": f"sales_manager.{a.code}@example.com"},
    }
    rest = await client.data(
        SECURITY, {"first": 2, "after": connection["pageInfo"]["endCursor"]}, token=a.token
    )
    assert len(rest["securityAuditLogs"]["nodes"]) == 1
    assert rest["securityAuditLogs"]["pageInfo"]["hasNextPage"] is False

    async def count(**filter: object) -> int:
        found = await client.data(SECURITY, {"filter": filter}, token=a.token)
        return int(found["securityAuditLogs"]["totalCount"])

    assert await count(event="tenant.cross_tenant_write") == 3
    assert await count(event="tenant.") == 3
    assert await count(event="auth.") == 0
    assert await count(outcome="denied") == 3
    assert await count(outcome="success") == 0
    assert await count(userId=to_global_id("User", a.users[Role.SALES_MANAGER])) == 3
    assert await count(userId=to_global_id("User", a.users[Role.ADMIN])) == 0
    assert await count(occurredAfter=entry["occurredAt"]) >= 1
    node = await client.data(
        "query($id: ID!) { node(id: $id) { ... on SecurityAuditLog { event } } }",
        {"id": entry["id"]},
        token=a.token,
    )
    assert node["node"] == {"event": "tenant.cross_tenant_write"}
    unauthenticated = await client.execute(SECURITY, {})
    assert unauthenticated["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_no_mutation_edits_or_deletes_an_audit_entry(client: GraphQLClient) -> None:
    data = await client.data("{ __schema { mutationType { fields { name } } } }")
    names = [f["name"] for f in data["__schema"]["mutationType"]["fields"]]
    assert names  # the schema has mutations...
    assert [n for n in names if "audit" in n.lower()] == []  # ...none about the trails


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_logs SET action = 'tampered'",
        "DELETE FROM audit_logs",
        "UPDATE security_audit_logs SET outcome = 'success'",
        "DELETE FROM security_audit_logs",
        "TRUNCATE audit_logs",
    ],
)
async def test_the_application_role_cannot_change_or_remove_audit_rows(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine, sql: str
) -> None:
    tenant = await factory.tenant()
    await _changes(client, tenant)
    before = await rows(engine, tenant.dealership_id, "SELECT id, action FROM audit_logs")
    db = TenantDB(engine, tenant.dealership_id)
    try:
        async with db.session() as session:
            with pytest.raises(DBAPIError, match="permission denied"):
                await session.execute(text(sql))
    finally:
        await db.close()
    assert await rows(engine, tenant.dealership_id, "SELECT id, action FROM audit_logs") == before
