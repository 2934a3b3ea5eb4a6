"""Shared by the deal, scenario and trade-in tests: running a mutation, reading the audit
trail and deal versions, adding staff."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from db.models import User
from db.models.enums import Role
from schema.relay import to_global_id
from tests.conftest import GraphQLClient
from tests.factories import Factory, Tenant
from tests.helpers import rows, scalar

# Mutations whose payload union includes VersionConflictError.
VERSIONED = frozenset(
    {
        "updateDeal",
        "assignDealCustomer",
        "changeDealSalesperson",
        "setActiveScenario",
        "updateDealScenario",
        "deleteDealScenario",
    }
)


def gid(type_name: str, value: int) -> str:
    return to_global_id(type_name, value)


async def mutate(
    client: GraphQLClient, token: str, name: str, input: dict[str, object], selection: str = ""
) -> dict[str, object]:
    """Run mutation `name` with `input`; its payload, with `__typename`, the error fields
    and `selection` on the success type."""
    input_type = name[0].upper() + name[1:] + "Input"
    success = name[0].upper() + name[1:] + "Success"
    conflict = "... on VersionConflictError { currentVersion }" if name in VERSIONED else ""
    query = f"""mutation($input: {input_type}!) {{ {name}(input: $input) {{
        __typename
        ... on {success} {{ {selection or "__typename"} }}
        {conflict}
        ... on Error {{ message code field }}
    }} }}"""
    data = await client.data(query, {"input": input}, token=token)
    result = data[name]
    assert isinstance(result, dict)
    return result


async def audit(engine: AsyncEngine, tenant: Tenant) -> list[dict[str, object]]:
    return await rows(
        engine,
        tenant.dealership_id,
        "SELECT action, entity_type, entity_id, user_id, changes FROM audit_logs ORDER BY id",
    )


async def deal_version(engine: AsyncEngine, tenant: Tenant, deal_id: int) -> object:
    return await scalar(
        engine, tenant.dealership_id, "SELECT version FROM deals WHERE id = :id", id=deal_id
    )


async def add_user(factory: Factory, tenant: Tenant, role: Role, *, active: bool = True) -> int:
    user = User(
        dealership_id=tenant.dealership_id,
        email=f"extra.{role.value}.{uuid.uuid4().hex[:8]}.{tenant.code}@example.com",
        first_name="Extra",
        last_name=role.value.title(),
        role=role,
        is_active=active,
    )

    async def work(session: AsyncSession) -> None:
        session.add(user)

    await factory.run(tenant.dealership_id, work)
    return user.id
