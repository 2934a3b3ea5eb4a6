"""Customers through the real app: CRUD, validation, optimistic locking, tenancy,
pagination, search, notes, history and the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from db.models.enums import Role
from schema.relay import to_global_id
from tests.conftest import GraphQLClient
from tests.factories import Factory, Tenant
from tests.helpers import pk, rows, scalar

CREATE = """
mutation($input: CreateCustomerInput!) {
  createCustomer(input: $input) {
    __typename
    ... on CreateCustomerSuccess { customer { id firstName lastName fullName email phone state
                                              postalCode version isArchived }
                                   possibleDuplicates { id } }
    ... on Error { message code field }
  }
}"""

UPDATE = """
mutation($input: UpdateCustomerInput!) {
  updateCustomer(input: $input) {
    __typename
    ... on UpdateCustomerSuccess { customer { id firstName email phone version } }
    ... on VersionConflictError { currentVersion }
    ... on Error { message code field }
  }
}"""


async def _create(client: GraphQLClient, tenant: Tenant, **values: object) -> dict[str, object]:
    payload = {"firstName": "Dana", "lastName": "Lopez", **values}
    data = await client.data(CREATE, {"input": payload}, token=tenant.token)
    result = data["createCustomer"]
    assert isinstance(result, dict)
    return result


async def test_create_normalises_and_audits(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    result = await _create(
        client,
        tenant,
        email="  Dana.Lopez@Example.COM ",
        phone="(614) 555-0142",
        state="oh",
        postalCode="43215",
    )
    assert result["__typename"] == "CreateCustomerSuccess"
    customer = result["customer"]
    assert customer["email"] == "Dana.Lopez@example.com"
    assert customer["phone"] == "+16145550142"
    assert customer["state"] == "OH"
    assert customer["version"] == 1
    audit = await rows(
        engine,
        tenant.dealership_id,
        "SELECT action, entity_id, user_id, changes FROM audit_logs WHERE entity_type = 'Customer'",
    )
    assert len(audit) == 1
    assert audit[0]["action"] == "customer.create"
    assert audit[0]["entity_id"] == pk(customer["id"])
    assert audit[0]["user_id"] == tenant.users[Role.SALES_MANAGER]
    assert audit[0]["changes"]["email"] == {"before": None, "after": "Dana.Lopez@example.com"}


@pytest.mark.parametrize(
    ("values", "field", "code"),
    [
        ({"firstName": "  "}, ["input", "firstName"], "REQUIRED"),
        ({"email": "not-an-email"}, ["input", "email"], "INVALID_EMAIL"),
        ({"phone": "12"}, ["input", "phone"], "INVALID_PHONE"),
        ({"state": "Ohio"}, ["input", "state"], "INVALID_STATE"),
        ({"postalCode": "4321"}, ["input", "postalCode"], "INVALID_POSTAL_CODE"),
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
    assert result["field"] == field
    assert result["code"] == code
    assert await scalar(engine, tenant.dealership_id, "SELECT count(*) FROM customers") == 0
    assert await scalar(engine, tenant.dealership_id, "SELECT count(*) FROM audit_logs") == 0


async def test_create_reports_possible_duplicates(client: GraphQLClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    first = await _create(client, tenant, email="same@example.com")
    second = await _create(client, tenant, email="SAME@example.com", firstName="Other")
    assert second["possibleDuplicates"] == [{"id": first["customer"]["id"]}]
    data = await client.data(
        '{ findDuplicateCustomers(email: "same@EXAMPLE.com") { id } }', token=tenant.token
    )
    assert len(data["findDuplicateCustomers"]) == 2


async def test_update_with_the_version_read(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    created = (await _create(client, tenant))["customer"]
    data = await client.data(
        UPDATE,
        {"input": {"id": created["id"], "version": 1, "email": "new@example.com", "phone": None}},
        token=tenant.token,
    )
    updated = data["updateCustomer"]
    assert updated["__typename"] == "UpdateCustomerSuccess"
    assert updated["customer"]["email"] == "new@example.com"
    assert updated["customer"]["firstName"] == "Dana"  # untouched
    assert updated["customer"]["version"] == 2
    audit = await rows(
        engine,
        tenant.dealership_id,
        "SELECT changes FROM audit_logs WHERE action = 'customer.update'",
    )
    assert audit[0]["changes"] == {
        "email": {"before": None, "after": "new@example.com"},
        "version": {"before": 1, "after": 2},
    }


async def test_a_stale_version_is_a_conflict_and_changes_nothing(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    created = (await _create(client, tenant))["customer"]
    ok = await client.data(
        UPDATE,
        {"input": {"id": created["id"], "version": 1, "firstName": "Alex"}},
        token=tenant.token,
    )
    assert ok["updateCustomer"]["__typename"] == "UpdateCustomerSuccess"
    stale = await client.data(
        UPDATE,
        {"input": {"id": created["id"], "version": 1, "firstName": "Blake"}},
        token=tenant.token,
    )
    result = stale["updateCustomer"]
    assert result["__typename"] == "VersionConflictError"
    assert result["currentVersion"] == 2
    assert result["code"] == "VERSION_CONFLICT"
    assert (
        await scalar(
            engine,
            tenant.dealership_id,
            "SELECT first_name FROM customers WHERE id = :id",
            id=pk(created["id"]),
        )
        == "Alex"
    )


async def test_another_dealerships_customer_cannot_be_read_or_changed(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    a, b = await factory.tenant(), await factory.tenant()
    theirs = (await _create(client, b, email="b-only@example.com"))["customer"]
    read = await client.data(
        "query($id: ID!) { customer(id: $id) { id } node(id: $id) { id } }",
        {"id": theirs["id"]},
        token=a.token,
    )
    assert read == {"customer": None, "node": None}
    listed = await client.data(
        '{ customers(filter: {search: "b-only"}) { totalCount } }', token=a.token
    )
    assert listed["customers"]["totalCount"] == 0

    result = (
        await client.data(
            UPDATE,
            {"input": {"id": theirs["id"], "version": 1, "firstName": "Mallory"}},
            token=a.token,
        )
    )["updateCustomer"]
    assert result["__typename"] == "MultiTenantViolationError"
    assert result["field"] == ["input", "id"]
    assert (
        await scalar(
            engine,
            b.dealership_id,
            "SELECT first_name FROM customers WHERE id = :id",
            id=pk(theirs["id"]),
        )
        == "Dana"
    )
    events = await rows(
        engine,
        a.dealership_id,
        "SELECT event, outcome, user_id, details FROM security_audit_logs",
    )
    assert [(e["event"], e["outcome"]) for e in events] == [("tenant.cross_tenant_write", "denied")]
    assert events[0]["details"]["entity"] == "Customer"


async def test_unknown_and_malformed_ids(client: GraphQLClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    missing = to_global_id("Customer", 999_999_999)
    result = (
        await client.data(
            UPDATE, {"input": {"id": missing, "version": 1, "firstName": "X"}}, token=tenant.token
        )
    )["updateCustomer"]
    assert result["__typename"] == "ResourceNotFoundError"
    malformed = (
        await client.data(UPDATE, {"input": {"id": "nonsense", "version": 1}}, token=tenant.token)
    )["updateCustomer"]
    assert malformed["__typename"] == "ValidationError"
    assert malformed["code"] == "INVALID_ID"
    wrong_type = (
        await client.data(
            UPDATE, {"input": {"id": to_global_id("User", 1), "version": 1}}, token=tenant.token
        )
    )["updateCustomer"]
    assert wrong_type["code"] == "INVALID_ID"


LIST = """
query($first: Int, $after: String, $last: Int, $before: String, $filter: CustomerFilter,
      $orderBy: CustomerOrder) {
  customers(first: $first, after: $after, last: $last, before: $before, filter: $filter,
            orderBy: $orderBy) {
    totalCount
    edges { cursor node { lastName firstName } }
    nodes { lastName }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""


async def test_pagination_edges(client: GraphQLClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    empty = (await client.data(LIST, {"first": 10}, token=tenant.token))["customers"]
    assert empty["totalCount"] == 0
    assert empty["edges"] == []
    assert empty["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": False,
        "startCursor": None,
        "endCursor": None,
    }
    for name in ("Adams", "Baker", "Clark", "Davis", "Evans"):
        await factory.customer(tenant, last_name=name)
    page1 = (await client.data(LIST, {"first": 2}, token=tenant.token))["customers"]
    assert [n["lastName"] for n in page1["nodes"]] == ["Adams", "Baker"]
    assert page1["totalCount"] == 5
    assert page1["pageInfo"]["hasNextPage"] is True
    page3 = (
        await client.data(
            LIST, {"first": 2, "after": page1["pageInfo"]["endCursor"]}, token=tenant.token
        )
    )["customers"]
    assert [n["lastName"] for n in page3["nodes"]] == ["Clark", "Davis"]
    last = (
        await client.data(
            LIST, {"first": 2, "after": page3["pageInfo"]["endCursor"]}, token=tenant.token
        )
    )["customers"]
    assert [n["lastName"] for n in last["nodes"]] == ["Evans"]
    assert last["pageInfo"]["hasNextPage"] is False
    assert last["pageInfo"]["hasPreviousPage"] is True
    back = (
        await client.data(
            LIST, {"last": 2, "before": last["pageInfo"]["startCursor"]}, token=tenant.token
        )
    )["customers"]
    assert [n["lastName"] for n in back["nodes"]] == ["Clark", "Davis"]
    desc = (
        await client.data(
            LIST,
            {"first": 1, "orderBy": {"field": "LAST_NAME", "direction": "DESC"}},
            token=tenant.token,
        )
    )["customers"]
    assert desc["nodes"] == [{"lastName": "Evans"}]


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"first": 101}, "PAGE_SIZE_OUT_OF_RANGE"),
        ({"first": 0}, "PAGE_SIZE_OUT_OF_RANGE"),
        ({"first": 1, "last": 1}, "INVALID_ARGUMENTS"),
        ({"after": "garbage"}, "INVALID_CURSOR"),
    ],
)
async def test_bad_pagination_arguments(
    client: GraphQLClient, factory: Factory, variables: dict[str, object], code: str
) -> None:
    tenant = await factory.tenant()
    result = await client.execute(LIST, variables, token=tenant.token)
    assert result["data"] is None
    assert result["errors"][0]["extensions"]["code"] == code


async def test_search_is_partial_on_name_email_and_phone(
    client: GraphQLClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    await factory.customer(
        tenant,
        first_name="Maria",
        last_name="Gonzalez",
        email="mg@example.com",
        phone="+16145550199",
    )
    await factory.customer(tenant, first_name="Tom", last_name="Smith", email="tom@example.com")
    for term, expected in (
        ("gonz", 1),
        ("MARIA G", 1),
        ("tom@", 1),
        ("555-0199", 1),
        ("zzz", 0),
        ("example", 2),
        ("100%", 0),
    ):
        found = await client.data(LIST, {"filter": {"search": term}}, token=tenant.token)
        assert found["customers"]["totalCount"] == expected, term


async def test_archive_hides_and_restore_returns(client: GraphQLClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    created = (await _create(client, tenant))["customer"]
    archive = """mutation($input: ArchiveCustomerInput!) { archiveCustomer(input: $input) {
      __typename ... on ArchiveCustomerSuccess { customer { isArchived version } } } }"""
    done = await client.data(
        archive, {"input": {"id": created["id"], "version": 1}}, token=tenant.token
    )
    assert done["archiveCustomer"]["customer"] == {"isArchived": True, "version": 2}
    assert (await client.data(LIST, {}, token=tenant.token))["customers"]["totalCount"] == 0
    included = await client.data(LIST, {"filter": {"includeArchived": True}}, token=tenant.token)
    assert included["customers"]["totalCount"] == 1
    restore = archive.replace("archiveCustomer", "restoreCustomer")
    back = await client.data(
        restore, {"input": {"id": created["id"], "version": 2}}, token=tenant.token
    )
    assert back["restoreCustomer"]["customer"]["isArchived"] is False


async def test_notes_and_history(client: GraphQLClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    created = (await _create(client, tenant))["customer"]
    add = """mutation($input: AddCustomerNoteInput!) { addCustomerNote(input: $input) {
      __typename ... on AddCustomerNoteSuccess { note { id body author { email } } }
      ... on Error { code field } } }"""
    for body in ("Called, wants a test drive", "Prefers SUVs"):
        note = await client.data(
            add, {"input": {"customerId": created["id"], "body": body}}, token=tenant.token
        )
        assert note["addCustomerNote"]["__typename"] == "AddCustomerNoteSuccess"
    empty = await client.data(
        add, {"input": {"customerId": created["id"], "body": " "}}, token=tenant.token
    )
    assert empty["addCustomerNote"] == {
        "__typename": "ValidationError",
        "code": "REQUIRED",
        "field": ["input", "body"],
    }
    data = await client.data(
        """query($id: ID!) { customer(id: $id) { notes { body }
             history { kind summary subjectId } } }""",
        {"id": created["id"]},
        token=tenant.token,
    )
    assert [n["body"] for n in data["customer"]["notes"]] == [
        "Prefers SUVs",
        "Called, wants a test drive",
    ]
    assert [h["kind"] for h in data["customer"]["history"]] == ["NOTE", "NOTE"]


async def test_unauthenticated_mutation_is_refused(client: GraphQLClient) -> None:
    result = await client.execute(CREATE, {"input": {"firstName": "A", "lastName": "B"}})
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_cursor_of_another_ordering_is_refused(
    client: GraphQLClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    for name in ("Adams", "Baker"):
        await factory.customer(tenant, last_name=name)
    page = (await client.data(LIST, {"first": 1}, token=tenant.token))["customers"]
    cursor = page["pageInfo"]["endCursor"]
    for order in ({"field": "CREATED_AT"}, {"field": "LAST_NAME", "direction": "DESC"}):
        result = await client.execute(
            LIST, {"first": 1, "after": cursor, "orderBy": order}, token=tenant.token
        )
        assert result["errors"][0]["extensions"]["code"] == "INVALID_CURSOR", order


DELETE = """mutation($input: DeleteCustomerInput!) { deleteCustomer(input: $input) {
  __typename ... on DeleteCustomerSuccess { deletedCustomerId }
  ... on VersionConflictError { currentVersion } ... on Error { code field } } }"""


async def test_delete_a_customer_without_history(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant, other = await factory.tenant(), await factory.tenant()
    created = (await _create(client, tenant))["customer"]
    theirs = (await _create(client, other))["customer"]
    crossed = await client.data(
        DELETE, {"input": {"id": theirs["id"], "version": 1}}, token=tenant.token
    )
    assert crossed["deleteCustomer"]["__typename"] == "MultiTenantViolationError"
    stale = await client.data(
        DELETE, {"input": {"id": created["id"], "version": 9}}, token=tenant.token
    )
    assert stale["deleteCustomer"]["currentVersion"] == 1
    done = await client.data(
        DELETE, {"input": {"id": created["id"], "version": 1}}, token=tenant.token
    )
    assert done["deleteCustomer"] == {
        "__typename": "DeleteCustomerSuccess",
        "deletedCustomerId": created["id"],
    }
    assert await scalar(engine, tenant.dealership_id, "SELECT count(*) FROM customers") == 0
    audit = await rows(
        engine,
        tenant.dealership_id,
        "SELECT action FROM audit_logs WHERE action = 'customer.delete'",
    )
    assert len(audit) == 1


async def test_a_customer_with_history_cannot_be_deleted(
    client: GraphQLClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    customer = await factory.customer(tenant)
    await factory.appointment(
        tenant,
        customer_id=customer,
        user_id=tenant.users[Role.SALESPERSON],
        starts_at=datetime.now(UTC),
    )
    refused = await client.data(
        DELETE,
        {"input": {"id": to_global_id("Customer", customer), "version": 1}},
        token=tenant.token,
    )
    assert refused["deleteCustomer"]["code"] == "CUSTOMER_HAS_HISTORY"


async def test_delete_a_note(client: GraphQLClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    created = (await _create(client, tenant))["customer"]
    added = await client.data(
        """mutation($input: AddCustomerNoteInput!) { addCustomerNote(input: $input) {
             ... on AddCustomerNoteSuccess { note { id } } } }""",
        {"input": {"customerId": created["id"], "body": "Call back"}},
        token=tenant.token,
    )
    note = added["addCustomerNote"]["note"]["id"]
    deleted = await client.data(
        """mutation($input: DeleteCustomerNoteInput!) { deleteCustomerNote(input: $input) {
             __typename ... on DeleteCustomerNoteSuccess { deletedNoteId } } }""",
        {"input": {"id": note}},
        token=tenant.token,
    )
    assert deleted["deleteCustomerNote"]["deletedNoteId"] == note
    notes = await client.data(
        "query($id: ID!) { customer(id: $id) { notes { id } } }",
        {"id": created["id"]},
        token=tenant.token,
    )
    assert notes["customer"]["notes"] == []
