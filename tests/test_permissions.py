"""Role permissions through the real app: the catalogue, each role's defaults, replacing a
role's set, validation, tenancy and the audit trail."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from db.models.enums import Role
from db.storage.permissions import ACTIONS, DEFAULT_ROLE_PERMISSIONS
from resolvers.permissions import Public, Requires
from schema.root import schema
from tests.conftest import GraphQLClient
from tests.factories import Factory, Tenant
from tests.helpers import rows, scalar

UPDATE = """
mutation($input: UpdateRolePermissionsInput!) {
  updateRolePermissions(input: $input) {
    __typename
    ... on UpdateRolePermissionsSuccess { rolePermissions { role actions } }
    ... on Error { message code field }
  }
}"""

REQUIRED_ACTIONS = {
    "viewer.read",
    "node.read",
    "customer.read",
    "customer.write",
    "user.read",
    "user.manage",
    "permission.read",
    "permission.manage",
    "settings.read",
    "settings.manage",
    "fee.read",
    "fee.manage",
    "vehicle.read",
    "vehicle.write",
    "deal.read",
    "deal.write",
    "deal.approve",
    "deal.unwind",
    "scenario.write",
    "appointment.read",
    "appointment.write",
    "quote.read",
    "quote.write",
    "tax.read",
    "tax.manage",
    "lender.read",
    "lender.manage",
    "rate_request.read",
    "rate_request.write",
    "audit.read",
    "security_audit.read",
    "deal.view_gross",
}


def _admin(tenant: Tenant) -> str:
    return tenant.tokens[Role.ADMIN]


async def _update(
    client: GraphQLClient, tenant: Tenant, role: str, actions: list[str]
) -> dict[str, object]:
    data = await client.data(
        UPDATE, {"input": {"role": role, "actions": actions}}, token=_admin(tenant)
    )
    result = data["updateRolePermissions"]
    assert isinstance(result, dict)
    return result


def test_every_declared_action_is_in_the_catalogue() -> None:
    """Each root field's `requires(...)` names an action roles can be given."""
    declared: dict[str, str] = {}
    for root in (
        schema.schema_converter.type_map["Query"],
        schema.schema_converter.type_map["Mutation"],
    ):
        for field in root.definition.fields:
            for extension in field.extensions:
                if isinstance(extension, Requires) and not isinstance(extension, Public):
                    declared[field.graphql_name or field.python_name] = extension.action
    assert declared, "no root field declares an action"
    unknown = {name: action for name, action in declared.items() if action not in ACTIONS}
    assert unknown == {}
    assert set(ACTIONS) >= REQUIRED_ACTIONS


def test_default_role_sets() -> None:
    everything = set(ACTIONS)
    manage_admin = {"user.manage", "permission.manage", "settings.manage"}
    assert DEFAULT_ROLE_PERMISSIONS[Role.ADMIN] == everything
    # Managers edit permissions (without being able to grant what they lack themselves).
    assert DEFAULT_ROLE_PERMISSIONS[Role.SALES_MANAGER] == everything - {
        "user.manage",
        "settings.manage",
    }
    finance = DEFAULT_ROLE_PERMISSIONS[Role.FINANCE_MANAGER]
    assert {"lender.manage", "rate_request.write", "deal.view_gross"} <= finance
    assert "deal.unwind" not in finance
    assert not finance & manage_admin
    sales = DEFAULT_ROLE_PERMISSIONS[Role.SALESPERSON]
    assert {"customer.write", "deal.write", "scenario.write", "rate_request.write"} <= sales
    assert not sales & {"deal.approve", "deal.unwind", "deal.view_gross", "vehicle.write"}
    assert not {a for a in sales if a.endswith(".manage")}
    assert DEFAULT_ROLE_PERMISSIONS[Role.READ_ONLY] == {
        a for a in ACTIONS if a.endswith(".read")
    } - {"audit.read", "security_audit.read", "customer.sensitive.read"}
    sensitive = {"customer.sensitive.read", "customer.sensitive.write"}
    assert sensitive <= DEFAULT_ROLE_PERMISSIONS[Role.FINANCE_MANAGER]
    assert not sensitive & (sales | DEFAULT_ROLE_PERMISSIONS[Role.READ_ONLY])
    for actions in DEFAULT_ROLE_PERMISSIONS.values():
        assert actions <= everything


async def test_catalogue_and_defaults_through_the_api(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    data = await client.data(
        """{ permissionCatalog { action description }
             allRolePermissions { role actions }
             rolePermissions(role: SALESPERSON) { role actions } }""",
        token=tenant.tokens[Role.READ_ONLY],
    )
    catalog = data["permissionCatalog"]
    assert [c["action"] for c in catalog] == list(ACTIONS)
    assert all(c["description"] for c in catalog)
    by_role = {r["role"]: r["actions"] for r in data["allRolePermissions"]}
    assert list(by_role) == [
        "ADMIN",
        "SALES_MANAGER",
        "FINANCE_MANAGER",
        "SALESPERSON",
        "READ_ONLY",
    ]
    for role in Role:
        expected = [a for a in ACTIONS if a in DEFAULT_ROLE_PERMISSIONS[role]]
        assert by_role[role.name] == expected
    assert data["rolePermissions"] == {"role": "SALESPERSON", "actions": by_role["SALESPERSON"]}
    # Stored as rows by create_dealership, one per (role, action).
    total = sum(len(a) for a in DEFAULT_ROLE_PERMISSIONS.values())
    assert await scalar(engine, tenant.dealership_id, "SELECT count(*) FROM permissions") == total


async def test_replace_a_roles_actions_and_audit_it(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant, other = await factory.tenant(), await factory.tenant()
    before = [a for a in ACTIONS if a in DEFAULT_ROLE_PERMISSIONS[Role.SALESPERSON]]
    wanted = ["deal.approve", "customer.read", "viewer.read", "customer.read"]
    result = await _update(client, tenant, "SALESPERSON", wanted)
    assert result == {
        "__typename": "UpdateRolePermissionsSuccess",
        "rolePermissions": {
            "role": "SALESPERSON",
            "actions": ["viewer.read", "customer.read", "deal.approve"],
        },
    }
    read = await client.data(
        "{ rolePermissions(role: SALESPERSON) { actions } }", token=tenant.token
    )
    assert read["rolePermissions"]["actions"] == ["viewer.read", "customer.read", "deal.approve"]
    audit = await rows(
        engine,
        tenant.dealership_id,
        "SELECT action, entity_type, entity_id, user_id, changes FROM audit_logs",
    )
    assert audit == [
        {
            "action": "permission.update",
            "entity_type": "RolePermissions",
            "entity_id": tenant.dealership_id,
            "user_id": tenant.users[Role.ADMIN],
            "changes": {
                "salesperson": {
                    "before": before,
                    "after": ["viewer.read", "customer.read", "deal.approve"],
                }
            },
        }
    ]
    # The same set again: no change, no audit row.
    await _update(client, tenant, "SALESPERSON", ["customer.read", "viewer.read", "deal.approve"])
    assert await scalar(engine, tenant.dealership_id, "SELECT count(*) FROM audit_logs") == 1
    # Other roles and other dealerships are untouched.
    untouched = await client.data(
        "{ rolePermissions(role: SALESPERSON) { actions } "
        "  manager: rolePermissions(role: SALES_MANAGER) { actions } }",
        token=other.token,
    )
    assert untouched["rolePermissions"]["actions"] == before
    mine = await client.data(
        "{ rolePermissions(role: SALES_MANAGER) { actions } }", token=tenant.token
    )
    assert mine["rolePermissions"]["actions"] == untouched["manager"]["actions"]


async def test_a_role_may_be_left_with_nothing(client: GraphQLClient, factory: Factory) -> None:
    tenant = await factory.tenant()
    result = await _update(client, tenant, "READ_ONLY", [])
    assert result["rolePermissions"] == {"role": "READ_ONLY", "actions": []}


@pytest.mark.parametrize(
    ("role", "actions", "field", "code"),
    [
        (
            "SALESPERSON",
            ["deal.read", "deal.write", "customer.read", "deals.delete"],
            ["input", "actions", "3"],
            "UNKNOWN_ACTION",
        ),
        ("SALESPERSON", [""], ["input", "actions", "0"], "UNKNOWN_ACTION"),
        (
            "ADMIN",
            ["user.manage", "settings.manage"],
            ["input", "actions"],
            "CANNOT_REMOVE_ADMIN_ACCESS",
        ),
    ],
)
async def test_update_validation(
    client: GraphQLClient,
    factory: Factory,
    engine: AsyncEngine,
    role: str,
    actions: list[str],
    field: list[str],
    code: str,
) -> None:
    tenant = await factory.tenant()
    result = await _update(client, tenant, role, actions)
    assert (result["__typename"], result["field"], result["code"]) == (
        "ValidationError",
        field,
        code,
    )
    assert await scalar(engine, tenant.dealership_id, "SELECT count(*) FROM audit_logs") == 0
    total = sum(len(a) for a in DEFAULT_ROLE_PERMISSIONS.values())
    assert await scalar(engine, tenant.dealership_id, "SELECT count(*) FROM permissions") == total


async def test_admins_may_change_other_parts_of_their_own_set(
    client: GraphQLClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    result = await _update(client, tenant, "ADMIN", ["permission.manage", "permission.read"])
    assert result["rolePermissions"]["actions"] == ["permission.read", "permission.manage"]


async def test_permission_fields_need_sign_in(client: GraphQLClient) -> None:
    result = await client.execute("{ permissionCatalog { action } }")
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    result = await client.execute(UPDATE, {"input": {"role": "ADMIN", "actions": []}})
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
