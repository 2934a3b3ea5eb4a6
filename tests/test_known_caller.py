"""A caller confirmed once is confirmed again on every request, with BEGIN, by a statement that
fails unless nothing changed (db/storage/auth.py confirm_caller, migration 0008): the same
answers, one round trip fewer, and every change seen at once."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from db.models.enums import Role
from db.tenant import TenantDB
from tests.conftest import GraphQLClient
from tests.factories import Factory
from tests.helpers import count_statements

AUDIT = "{ auditLogs(first: 1) { totalCount } }"
VIEWER = "{ viewer { role } }"


def checks(statements: list[str]) -> list[str]:
    return [
        "known" if "bind_known_caller" in s else "full"
        for s in statements
        if "dealerdesk_bind" in s
    ]


async def test_the_second_request_is_confirmed_with_begin(
    app: Starlette, client: GraphQLClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    engine = app.state.dealerdesk.engine.sync_engine
    with count_statements(engine) as first:
        one = await client.data(VIEWER, token=tenant.token)
    with count_statements(engine) as second:
        two = await client.data(VIEWER, token=tenant.token)
    assert one == two == {"viewer": {"role": "SALES_MANAGER"}}
    assert checks(first.statements) == ["full"]
    assert checks(second.statements) == ["known"]


async def test_a_changed_set_of_actions_is_seen_on_the_next_request(
    app: Starlette, client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    assert "errors" not in await client.execute(AUDIT, token=tenant.token)
    assert "errors" not in await client.execute(AUDIT, token=tenant.token)  # known now

    db = TenantDB(engine, tenant.dealership_id)
    try:
        await db.transaction(
            lambda s: s.execute(
                text(
                    "DELETE FROM permissions WHERE role = 'sales_manager' AND action = 'audit.read'"
                )
            )
        )
    finally:
        await db.close()

    with count_statements(app.state.dealerdesk.engine.sync_engine) as log:
        refused = await client.execute(AUDIT, token=tenant.token)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"  # type: ignore[index]
    # The remembered caller no longer matched: confirmed afresh, with the actions of now.
    assert checks(log.statements) == ["known", "full"]


async def test_a_caller_of_another_role_is_not_taken_for_a_known_one(
    client: GraphQLClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    for role in (Role.SALES_MANAGER, Role.READ_ONLY, Role.SALES_MANAGER, Role.READ_ONLY):
        data = await client.data(VIEWER, token=tenant.tokens[role])
        assert data == {"viewer": {"role": role.name}}
