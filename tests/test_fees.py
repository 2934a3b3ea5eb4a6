"""Fee templates through the real app: listing, create, update, (de)activate, delete,
validation, tenancy and the audit trail."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from db.models.enums import DealType, FeeKind, Role
from schema.relay import to_global_id
from tests.conftest import GraphQLClient
from tests.factories import Factory, Tenant
from tests.helpers import pk, rows, scalar

FEE_FIELDS = "id name kind dealType amount taxable isActive sortOrder"

CREATE = f"""
mutation($input: CreateFeeTemplateInput!) {{
  createFeeTemplate(input: $input) {{
    __typename
    ... on CreateFeeTemplateSuccess {{ feeTemplate {{ {FEE_FIELDS} }} }}
    ... on Error {{ message code field }}
  }}
}}"""

UPDATE = f"""
mutation($input: UpdateFeeTemplateInput!) {{
  updateFeeTemplate(input: $input) {{
    __typename
    ... on UpdateFeeTemplateSuccess {{ feeTemplate {{ {FEE_FIELDS} }} }}
    ... on Error {{ message code field }}
  }}
}}"""

DEACTIVATE = """
mutation($input: DeactivateFeeTemplateInput!) {
  deactivateFeeTemplate(input: $input) {
    __typename
    ... on DeactivateFeeTemplateSuccess { feeTemplate { id isActive } }
    ... on Error { message code field }
  }
}"""

REACTIVATE = """
mutation($input: ReactivateFeeTemplateInput!) {
  reactivateFeeTemplate(input: $input) {
    __typename
    ... on ReactivateFeeTemplateSuccess { feeTemplate { id isActive } }
    ... on Error { message code field }
  }
}"""

DELETE = """
mutation($input: DeleteFeeTemplateInput!) {
  deleteFeeTemplate(input: $input) {
    __typename
    ... on DeleteFeeTemplateSuccess { deletedId }
    ... on Error { message code field }
  }
}"""

LIST = """
query($dealType: DealType, $includeInactive: Boolean! = false) {
  feeTemplates(dealType: $dealType, includeInactive: $includeInactive) {
    name dealType sortOrder isActive
  }
}"""


def _admin(tenant: Tenant) -> str:
    return tenant.tokens[Role.ADMIN]


async def _create(client: GraphQLClient, tenant: Tenant, **values: object) -> dict:
    payload = {
        "name": "Documentation fee",
        "kind": "DOC",
        "dealType": "FINANCE",
        "amount": "499.00",
        "taxable": True,
        **values,
    }
    data = await client.data(CREATE, {"input": payload}, token=_admin(tenant))
    result = data["createFeeTemplate"]
    assert isinstance(result, dict)
    return result


async def _audit(engine: AsyncEngine, tenant: Tenant) -> list[dict[str, object]]:
    return await rows(
        engine,
        tenant.dealership_id,
        "SELECT action, entity_type, entity_id, user_id, changes FROM audit_logs ORDER BY id",
    )


async def test_create_and_read_a_fee_template(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    result = await _create(client, tenant, name="  Documentation fee ")
    assert result["__typename"] == "CreateFeeTemplateSuccess"
    fee = result["feeTemplate"]
    assert {k: v for k, v in fee.items() if k != "id"} == {
        "name": "Documentation fee",
        "kind": "DOC",
        "dealType": "FINANCE",
        "amount": "499.00",
        "taxable": True,
        "isActive": True,
        "sortOrder": 0,
    }
    read = await client.data(
        "query($id: ID!) { feeTemplate(id: $id) { name } node(id: $id) { id } }",
        {"id": fee["id"]},
        token=tenant.tokens[Role.SALESPERSON],
    )
    assert read == {"feeTemplate": {"name": "Documentation fee"}, "node": {"id": fee["id"]}}
    audit = await _audit(engine, tenant)
    assert len(audit) == 1
    assert audit[0]["action"] == "fee_template.create"
    assert audit[0]["entity_type"] == "FeeTemplate"
    assert audit[0]["entity_id"] == pk(fee["id"])
    assert audit[0]["user_id"] == tenant.users[Role.ADMIN]
    assert audit[0]["changes"]["amount"] == {"before": None, "after": "499.00"}
    # Without sortOrder a new fee goes after the last one of its deal type.
    second = await _create(client, tenant, name="Title", kind="TITLE", amount=77)
    assert second["feeTemplate"]["sortOrder"] == 1
    lease = await _create(client, tenant, name="Title", kind="TITLE", dealType="LEASE")
    assert lease["feeTemplate"]["sortOrder"] == 0


@pytest.mark.parametrize(
    ("values", "field", "code"),
    [
        ({"name": " "}, "name", "REQUIRED"),
        ({"name": "x" * 101}, "name", "TOO_LONG"),
        ({"amount": "-0.01"}, "amount", "OUT_OF_RANGE"),
        ({"amount": "100000"}, "amount", "OUT_OF_RANGE"),
        ({"sortOrder": -1}, "sortOrder", "OUT_OF_RANGE"),
        ({"sortOrder": 10001}, "sortOrder", "OUT_OF_RANGE"),
    ],
)
async def test_create_validation_names_the_field(
    client: GraphQLClient,
    factory: Factory,
    engine: AsyncEngine,
    values: dict[str, object],
    field: str,
    code: str,
) -> None:
    tenant = await factory.tenant()
    result = await _create(client, tenant, **values)
    assert (result["__typename"], result["field"], result["code"]) == (
        "ValidationError",
        ["input", field],
        code,
    )
    assert await scalar(engine, tenant.dealership_id, "SELECT count(*) FROM fee_templates") == 0
    assert await _audit(engine, tenant) == []


async def test_amount_limits(client: GraphQLClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    assert (await _create(client, tenant, name="Free", amount="0"))["feeTemplate"][
        "amount"
    ] == "0.00"
    top = await _create(client, tenant, name="Top", amount="99999.99")
    assert top["feeTemplate"]["amount"] == "99999.99"
    bad = await client.execute(
        CREATE,
        {
            "input": {
                "name": "Odd",
                "kind": "OTHER",
                "dealType": "CASH",
                "amount": "1.005",
                "taxable": False,
            }
        },
        token=_admin(tenant),
    )
    assert "errors" in bad  # the Money scalar refuses a third decimal place


async def test_a_name_is_unique_within_a_deal_type(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    await _create(client, tenant, name="Title")
    dup = await _create(client, tenant, name="TITLE")
    assert (dup["code"], dup["field"]) == ("DUPLICATE_NAME", ["input", "name"])
    assert len(await _audit(engine, tenant)) == 1
    other_type = await _create(client, tenant, name="Title", dealType="CASH")
    assert other_type["__typename"] == "CreateFeeTemplateSuccess"
    # Moving the CASH one over to FINANCE would clash too.
    moved = (
        await client.data(
            UPDATE,
            {"input": {"id": other_type["feeTemplate"]["id"], "dealType": "FINANCE"}},
            token=_admin(tenant),
        )
    )["updateFeeTemplate"]
    assert (moved["code"], moved["field"]) == ("DUPLICATE_NAME", ["input", "dealType"])


async def test_list_order_filter_and_inactive(client: GraphQLClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    assert (await client.data(LIST, {}, token=tenant.token))["feeTemplates"] == []
    await factory.fee_template(tenant, name="Zeta", sort_order=1)
    await factory.fee_template(tenant, name="Alpha", sort_order=2)
    await factory.fee_template(tenant, name="Beta", sort_order=1)
    await factory.fee_template(tenant, name="Gone", sort_order=0, is_active=False)
    await factory.fee_template(tenant, name="Lease doc", deal_type=DealType.LEASE)
    finance = await client.data(LIST, {"dealType": "FINANCE"}, token=tenant.token)
    assert [f["name"] for f in finance["feeTemplates"]] == ["Beta", "Zeta", "Alpha"]
    everything = await client.data(
        LIST, {"dealType": "FINANCE", "includeInactive": True}, token=tenant.token
    )
    assert [f["name"] for f in everything["feeTemplates"]] == ["Gone", "Beta", "Zeta", "Alpha"]
    all_types = await client.data(LIST, {}, token=tenant.token)
    assert {f["dealType"] for f in all_types["feeTemplates"]} == {"FINANCE", "LEASE"}
    assert len(all_types["feeTemplates"]) == 4


async def test_update_changes_only_what_is_sent(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    fee_id = await factory.fee_template(
        tenant, name="Registration", kind=FeeKind.REGISTRATION, amount=Decimal("145.50")
    )
    gid = to_global_id("FeeTemplate", fee_id)
    data = await client.data(
        UPDATE,
        {"input": {"id": gid, "amount": "150", "taxable": True, "sortOrder": 5}},
        token=_admin(tenant),
    )
    fee = data["updateFeeTemplate"]["feeTemplate"]
    assert (fee["name"], fee["amount"], fee["taxable"], fee["sortOrder"]) == (
        "Registration",
        "150.00",
        True,
        5,
    )
    audit = await _audit(engine, tenant)
    assert audit[0]["action"] == "fee_template.update"
    assert audit[0]["changes"] == {
        "amount": {"before": "145.50", "after": "150.00"},
        "taxable": {"before": False, "after": True},
        "sort_order": {"before": 0, "after": 5},
    }
    await client.data(UPDATE, {"input": {"id": gid, "amount": "150.00"}}, token=_admin(tenant))
    assert len(await _audit(engine, tenant)) == 1  # nothing changed, nothing audited


@pytest.mark.parametrize(
    ("values", "field", "code"),
    [
        ({"name": None}, "name", "REQUIRED"),
        ({"amount": None}, "amount", "REQUIRED"),
        ({"kind": None}, "kind", "REQUIRED"),
        ({"name": ""}, "name", "REQUIRED"),
        ({"amount": "100000.00"}, "amount", "OUT_OF_RANGE"),
        ({"sortOrder": -5}, "sortOrder", "OUT_OF_RANGE"),
        ({"id": "nonsense"}, "id", "INVALID_ID"),
    ],
)
async def test_update_validation(
    client: GraphQLClient,
    factory: Factory,
    engine: AsyncEngine,
    values: dict[str, object],
    field: str,
    code: str,
) -> None:
    tenant = await factory.tenant()
    fee_id = await factory.fee_template(tenant)
    payload = {"id": to_global_id("FeeTemplate", fee_id), **values}
    result = (await client.data(UPDATE, {"input": payload}, token=_admin(tenant)))[
        "updateFeeTemplate"
    ]
    assert (result["__typename"], result["field"], result["code"]) == (
        "ValidationError",
        ["input", field],
        code,
    )
    assert await _audit(engine, tenant) == []


async def test_deactivate_reactivate_and_delete(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    gid = to_global_id("FeeTemplate", await factory.fee_template(tenant, name="Prep"))
    off = await client.data(DEACTIVATE, {"input": {"id": gid}}, token=_admin(tenant))
    assert off["deactivateFeeTemplate"]["feeTemplate"] == {"id": gid, "isActive": False}
    assert (await client.data(LIST, {}, token=tenant.token))["feeTemplates"] == []
    on = await client.data(REACTIVATE, {"input": {"id": gid}}, token=_admin(tenant))
    assert on["reactivateFeeTemplate"]["feeTemplate"]["isActive"] is True

    gone = await client.data(DELETE, {"input": {"id": gid}}, token=_admin(tenant))
    assert gone["deleteFeeTemplate"] == {"__typename": "DeleteFeeTemplateSuccess", "deletedId": gid}
    assert await scalar(engine, tenant.dealership_id, "SELECT count(*) FROM fee_templates") == 0
    read = await client.data(
        "query($id: ID!) { feeTemplate(id: $id) { id } }", {"id": gid}, token=tenant.token
    )
    assert read == {"feeTemplate": None}
    audit = await _audit(engine, tenant)
    assert [a["action"] for a in audit] == [
        "fee_template.deactivate",
        "fee_template.reactivate",
        "fee_template.delete",
    ]
    assert audit[2]["changes"]["name"] == {"before": "Prep", "after": None}
    again = await client.data(DELETE, {"input": {"id": gid}}, token=_admin(tenant))
    assert again["deleteFeeTemplate"]["__typename"] == "ResourceNotFoundError"
    assert len(await _audit(engine, tenant)) == 3


async def test_another_dealerships_fee_templates_are_off_limits(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    a, b = await factory.tenant(), await factory.tenant()
    theirs = to_global_id("FeeTemplate", await factory.fee_template(b, name="Theirs"))
    read = await client.data(
        "query($id: ID!) { feeTemplate(id: $id) { id } node(id: $id) { id } }",
        {"id": theirs},
        token=a.token,
    )
    assert read == {"feeTemplate": None, "node": None}
    assert (await client.data(LIST, {}, token=a.token))["feeTemplates"] == []
    for query, name, payload in (
        (UPDATE, "updateFeeTemplate", {"id": theirs, "amount": "1"}),
        (DEACTIVATE, "deactivateFeeTemplate", {"id": theirs}),
        (REACTIVATE, "reactivateFeeTemplate", {"id": theirs}),
        (DELETE, "deleteFeeTemplate", {"id": theirs}),
    ):
        result = (await client.data(query, {"input": payload}, token=_admin(a)))[name]
        assert result["__typename"] == "MultiTenantViolationError", name
        assert result["field"] == ["input", "id"]
    assert await rows(
        engine, b.dealership_id, "SELECT name, amount, is_active FROM fee_templates"
    ) == [{"name": "Theirs", "amount": Decimal("100.00"), "is_active": True}]
    assert await _audit(engine, a) == []
    assert await _audit(engine, b) == []


async def test_fee_templates_need_sign_in(client: GraphQLClient) -> None:
    result = await client.execute("{ feeTemplates { id } }")
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
