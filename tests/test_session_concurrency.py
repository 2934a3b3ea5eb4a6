"""Resolvers run concurrently; the request's one AsyncSession must never be used by two
coroutines at once."""

from __future__ import annotations

import asyncio
import contextlib

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.models.enums import Role
from db.tenant import TenantDB, tenant_session
from tests.conftest import GraphQLClient
from tests.factories import Factory


async def test_unserialised_use_of_one_session_fails(engine: AsyncEngine, factory: Factory) -> None:
    """The hazard is real: without the lock, concurrent use of one session breaks."""
    tenant = await factory.tenant()
    session = tenant_session(engine, tenant.dealership_id)
    results = await asyncio.gather(
        *(session.execute(text("SELECT pg_sleep(0.01)")) for _ in range(10)),
        return_exceptions=True,
    )
    errors = [r for r in results if isinstance(r, Exception)]
    assert errors, "ten coroutines shared one session without a single failure"
    with contextlib.suppress(Exception):
        await session.invalidate()


async def test_tenant_db_serialises_concurrent_users(engine: AsyncEngine, factory: Factory) -> None:
    tenant = await factory.tenant()
    db = TenantDB(engine, tenant.dealership_id)

    async def use(n: int) -> int:
        async with db.session() as session:
            await session.execute(text("SELECT pg_sleep(0.005)"))
            value = (await session.execute(text("SELECT CAST(:n AS int)"), {"n": n})).scalar_one()
            assert isinstance(value, int)
            return value

    try:
        assert await asyncio.gather(*(use(n) for n in range(25))) == list(range(25))
    finally:
        await db.close()


async def test_parallel_relations_in_one_request(client: GraphQLClient, factory: Factory) -> None:
    """Sibling fields and their loaders resolve concurrently against the one session."""
    tenant = await factory.tenant()
    aliases = " ".join(
        f"v{n}: viewer {{ user {{ email dealership {{ code }} }} dealership {{ name }} }}"
        for n in range(10)
    )
    query = f"{{ {aliases} d: dealership {{ code }} }}"
    data = await client.data(query, token=tenant.tokens[Role.ADMIN])
    assert data["d"] == {"code": tenant.code}
    assert all(data[f"v{n}"]["user"]["dealership"]["code"] == tenant.code for n in range(10))
