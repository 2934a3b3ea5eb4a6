"""The tamper-evident audit trails: append-only for everyone (privileges and triggers), a hash
chain per dealership that stays fork-free under concurrent writers, and `dealerdesk audit
verify`, which names the first row someone changed or removed behind the triggers' back."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from db.audit_chain import GENESIS, ChainReport, canonical, row_hash, verify_chains
from db.migrate import upgrade
from db.models.enums import Role
from db.tenant import TenantDB
from db.urls import async_url
from server.cli import audit_verify
from tests.conftest import GraphQLClient
from tests.factories import Factory, Tenant
from tests.helpers import rows, scalar
from tests.test_create_deal import create, deal_input

CREATE_CUSTOMER = """
mutation($input: CreateCustomerInput!) {
  createCustomer(input: $input) { __typename ... on CreateCustomerSuccess { customer { id } } }
}"""

UPDATE_CUSTOMER = """
mutation($input: UpdateCustomerInput!) {
  updateCustomer(input: $input) { __typename ... on Error { code } }
}"""

CREATE_TAX = """
mutation($input: CreateTaxJurisdictionInput!) {
  createTaxJurisdiction(input: $input) { __typename }
}"""


async def _some_changes(client: GraphQLClient, tenant: Tenant, n: int = 4) -> None:
    for i in range(n):
        data = await client.data(
            CREATE_TAX,
            {"input": {"name": f"Zone {i}", "state": "OH", "rate": "1.25"}},
            token=tenant.token,
        )
        assert data["createTaxJurisdiction"]["__typename"] == "CreateTaxJurisdictionSuccess"


async def _cross_tenant_attempt(
    client: GraphQLClient, attacker: Tenant, victim_customer: int
) -> None:
    """A refused write of another dealership's customer: a security event for `attacker`."""
    from schema.relay import to_global_id

    data = await client.data(
        UPDATE_CUSTOMER,
        {"input": {"id": to_global_id("Customer", victim_customer), "version": 1, "city": "X"}},
        token=attacker.token,
    )
    assert data["updateCustomer"]["code"] == "CROSS_TENANT"


@asynccontextmanager
async def _owner(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection as the database owner (a superuser here), no tenant role."""
    async with engine.connect() as conn:
        yield conn


async def _verify(engine: AsyncEngine, dealership_id: int | None) -> list[ChainReport]:
    async with _owner(engine) as conn:
        reports = await verify_chains(conn, dealership_id=dealership_id)
        await conn.rollback()
    return list(reports)


async def _run_cli_function(database_url: str, code: str | None) -> tuple[int, str]:
    out = io.StringIO()
    status = await audit_verify(database_url, dealership=code, out=out)
    return status, out.getvalue()


async def _as_replica(engine: AsyncEngine, sql: str, **params: object) -> None:
    """What a superuser can do behind the triggers' back."""
    async with _owner(engine) as conn:
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        await conn.execute(text(sql), params)
        await conn.commit()


# --- append-only for everyone --------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM audit_chain_heads",
        "UPDATE audit_chain_heads SET row_count = 0",
        "INSERT INTO audit_chain_heads VALUES (1, 'audit_logs', 0, '\\x00', 0)",
        "TRUNCATE security_audit_logs",
    ],
)
async def test_the_application_role_cannot_reach_the_chain_heads(
    factory: Factory, engine: AsyncEngine, sql: str
) -> None:
    tenant = await factory.tenant()
    db = TenantDB(engine, tenant.dealership_id)
    try:
        async with db.session() as session:
            with pytest.raises(DBAPIError, match="permission denied"):
                await session.execute(text(sql))
    finally:
        await db.close()


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_logs SET action = 'tampered' WHERE dealership_id = :d",
        "DELETE FROM audit_logs WHERE dealership_id = :d",
        "TRUNCATE audit_logs",
        "UPDATE security_audit_logs SET outcome = 'success' WHERE dealership_id = :d",
        "DELETE FROM security_audit_logs WHERE dealership_id = :d",
        "TRUNCATE security_audit_logs",
        "TRUNCATE dealerships CASCADE",
    ],
)
async def test_triggers_refuse_changes_even_to_the_owner(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine, sql: str
) -> None:
    a, b = await factory.tenant(), await factory.tenant()
    await _some_changes(client, a, 2)
    await _cross_tenant_attempt(client, a, await factory.customer(b))
    count = "SELECT (SELECT count(*) FROM audit_logs) + (SELECT count(*) FROM security_audit_logs)"
    before = await scalar(engine, a.dealership_id, count)
    assert before == 3
    async with _owner(engine) as conn:
        assert await conn.scalar(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))
        with pytest.raises(DBAPIError, match="is append-only"):
            await conn.execute(text(sql), {"d": a.dealership_id})
        await conn.rollback()
    assert await scalar(engine, a.dealership_id, count) == before
    assert [r.ok for r in await _verify(engine, a.dealership_id)] == [True, True]


async def test_inserted_rows_get_the_chain_s_id_and_hashes_whatever_is_sent(
    factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    db = TenantDB(engine, tenant.dealership_id)
    try:

        async def work(session: object) -> None:
            await session.execute(
                text(
                    "INSERT INTO audit_logs (dealership_id, id, action, entity_type, entity_id,"
                    " changes, prev_hash, row_hash) VALUES (:d, 1, 'x.forge', 'X', 1, '{}',"
                    " '\\xdead', '\\xbeef')"
                ),
                {"d": tenant.dealership_id},
            )

        await db.transaction(work)  # type: ignore[arg-type]
    finally:
        await db.close()
    async with _owner(engine) as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT id, prev_hash, row_hash, dealerdesk_audit_log_hash(a) AS db_hash "
                    "FROM audit_logs a WHERE dealership_id = :d"
                ),
                {"d": tenant.dealership_id},
            )
        ).one()
        await conn.rollback()
    assert row.id != 1
    assert row.prev_hash == GENESIS
    assert row.row_hash == row.db_hash
    assert len(row.row_hash) == 32


async def test_events_tied_to_no_dealership_form_chain_zero(engine: AsyncEngine) -> None:
    """A sign-in with an unknown e-mail, say: written by a session bound to no dealership,
    which may add the row but not read it back."""
    from db.storage.audit import record_security_event

    agent = f"probe-{uuid.uuid4().hex}"
    db = TenantDB(engine, None)
    try:
        for _ in range(2):
            await db.transaction(
                lambda session: record_security_event(
                    session,
                    dealership_id=None,
                    user_id=None,
                    event="auth.login_failed",
                    outcome="failure",
                    client_ip="203.0.113.9",
                    user_agent=agent,
                )
            )
    finally:
        await db.close()
    async with _owner(engine) as conn:
        found = (
            await conn.execute(
                text("SELECT dealership_id FROM security_audit_logs WHERE user_agent = :a"),
                {"a": agent},
            )
        ).all()
        await conn.rollback()
    assert [r.dealership_id for r in found] == [0, 0]
    reports = await _verify(engine, 0)
    assert [(r.table, r.dealership_id, r.ok) for r in reports] == [("security_audit_logs", 0, True)]


# --- the canonical form --------------------------------------------------------------------


def test_the_canonical_form() -> None:
    values = [
        7,
        3,
        datetime(2026, 3, 4, 5, 6, 7, 89, tzinfo=UTC),
        None,
        "customer.update",
        "Customer",
        12,
        '{"city": {"after": "Akron|2:x", "before": null}}',
        "req-1",
    ]
    form = canonical("audit_logs", values, GENESIS)
    assert form == (
        "audit_logs|1:7|1:3|27:2026-03-04T05:06:07.000089Z|-|15:customer.update|8:Customer|2:12"
        '|48:{"city": {"after": "Akron|2:x", "before": null}}|5:req-1|64:' + "0" * 64
    )
    # A value's separators cannot be confused with the form's own.
    moved = [*values[:7], '{"city": {"after": "Akron", "before": null}}|5:req-1', None]
    assert row_hash("audit_logs", moved, GENESIS) != row_hash("audit_logs", values, GENESIS)


async def test_python_and_the_database_hash_alike(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    """Non-ASCII text, NULLs, nested JSON, an IP address: both sides agree on every row."""
    a, b = await factory.tenant(), await factory.tenant()
    await client.data(
        CREATE_CUSTOMER,
        {"input": {"firstName": "Zoë", "lastName": "Ñúñez | 3:x", "city": "Mönchengladbach"}},
        token=a.token,
    )
    await _cross_tenant_attempt(client, a, await factory.customer(b))
    reports = await _verify(engine, a.dealership_id)
    assert [(r.table, r.rows, r.ok) for r in reports] == [
        ("audit_logs", 1, True),
        ("security_audit_logs", 1, True),
    ]


# --- concurrency ---------------------------------------------------------------------------


@pytest.mark.slow
async def test_fifty_concurrent_deals_and_more_form_one_chain_without_forks(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine, database_url: str
) -> None:
    tenant, other = await factory.tenant(), await factory.tenant()
    vehicles = [await factory.vehicle(tenant) for _ in range(50)]
    victim = await factory.customer(other)

    async def deal(n: int, vehicle: int) -> str:
        body = deal_input(
            tenant,
            vehicle,
            customer={"firstName": "C", "lastName": str(n), "email": f"chain{n}@example.com"},
        )
        token = tenant.tokens[Role.SALESPERSON if n % 2 else Role.SALES_MANAGER]
        return str((await create(client, tenant, body, token=token))["__typename"])

    async def customer(n: int, who: Tenant) -> str:
        data = await client.data(
            CREATE_CUSTOMER, {"input": {"firstName": "P", "lastName": str(n)}}, token=who.token
        )
        return str(data["createCustomer"]["__typename"])

    async def refused(n: int) -> str:
        await _cross_tenant_attempt(client, tenant, victim)
        return "refused"

    results = await asyncio.gather(
        *(deal(n, v) for n, v in enumerate(vehicles)),
        *(customer(n, tenant) for n in range(10)),
        *(customer(n, other) for n in range(10)),  # another dealership's chain, interleaved
        *(refused(n) for n in range(10)),
    )
    assert results.count("CreateDealSuccess") == 50, results
    assert results.count("CreateCustomerSuccess") == 20
    assert results.count("refused") == 10

    for table, expected in (("audit_logs", 60), ("security_audit_logs", 10)):
        chain = await rows(
            engine,
            tenant.dealership_id,
            f"SELECT id, prev_hash, row_hash FROM {table} ORDER BY id",
        )
        assert len(chain) == expected
        # No fork: every prev_hash is used once, and following the links from the start
        # visits every row, in id order.
        assert len({r["prev_hash"] for r in chain}) == expected
        by_prev = {r["prev_hash"]: r for r in chain}
        walked, link = [], GENESIS
        while link in by_prev:
            walked.append(by_prev[link]["id"])
            link = by_prev[link]["row_hash"]
        assert walked == [r["id"] for r in chain]

    reports = await _verify(engine, tenant.dealership_id)
    assert [(r.table, r.rows, r.ok) for r in reports] == [
        ("audit_logs", 60, True),
        ("security_audit_logs", 10, True),
    ]
    status, output = await _run_cli_function(database_url, tenant.code)
    assert status == 0, output
    assert "audit verify: OK, 2 chains, 70 rows" in output


async def test_a_rolled_back_write_leaves_no_gap(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine
) -> None:
    tenant = await factory.tenant()
    await _some_changes(client, tenant, 1)
    db = TenantDB(engine, tenant.dealership_id)

    async def work(session: object) -> None:
        await session.execute(
            text(
                "INSERT INTO audit_logs (dealership_id, action, entity_type, entity_id, changes)"
                " VALUES (:d, 'x.lost', 'X', 1, '{}')"
            ),
            {"d": tenant.dealership_id},
        )
        raise RuntimeError("the unit of work fails after its audit row")

    try:
        with pytest.raises(RuntimeError):
            await db.transaction(work)  # type: ignore[arg-type]
    finally:
        await db.close()
    await _some_changes(client, tenant, 1)
    reports = await _verify(engine, tenant.dealership_id)
    assert [(r.rows, r.ok) for r in reports] == [(2, True)]


# --- tampering -----------------------------------------------------------------------------


async def test_a_row_changed_by_a_superuser_is_named(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine, database_url: str
) -> None:
    tenant = await factory.tenant()
    await _some_changes(client, tenant, 4)
    chain = await rows(
        engine, tenant.dealership_id, "SELECT id, changes FROM audit_logs ORDER BY id"
    )
    victim = chain[2]
    # The triggers refuse it...
    async with _owner(engine) as conn:
        with pytest.raises(DBAPIError, match="append-only"):
            await conn.execute(
                text("UPDATE audit_logs SET changes = '{}' WHERE id = :id"), {"id": victim["id"]}
            )
        await conn.rollback()
    # ...so the superuser turns them off for the session.
    await _as_replica(
        engine,
        "UPDATE audit_logs SET changes = jsonb_set(changes, '{rate,after}', '\"0.0100\"') "
        "WHERE dealership_id = :d AND id = :id",
        d=tenant.dealership_id,
        id=victim["id"],
    )
    try:
        reports = await _verify(engine, tenant.dealership_id)
        broken = [r for r in reports if not r.ok]
        assert len(broken) == 1
        assert (broken[0].table, broken[0].broken_id) == ("audit_logs", victim["id"])
        assert "does not match the row's content" in broken[0].problem

        status, output = await _run_cli_function(database_url, tenant.code)
        assert status == 1
        line = next(x for x in output.splitlines() if x.startswith("BROKEN"))
        assert "audit_logs" in line
        assert f"dealership {tenant.dealership_id} ({tenant.code})" in line
        assert f"first broken row: id {victim['id']}:" in line
        assert "the row was changed after it was written" in line
        assert "1 of 1 chains BROKEN" in output

        # The installed command says the same, with a non-zero exit status.
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "server.cli", "audit", "verify", "--dealership", tenant.code],
            capture_output=True,
            text=True,
            env={**os.environ, "DATABASE_URL": database_url},
            timeout=120,
            check=False,
        )
        assert result.returncode == 1, result.stderr
        assert f"first broken row: id {victim['id']}:" in result.stdout
    finally:
        await _as_replica(
            engine,
            "UPDATE audit_logs SET changes = CAST(:changes AS jsonb) "
            "WHERE dealership_id = :d AND id = :id",
            changes=json.dumps(victim["changes"]),
            d=tenant.dealership_id,
            id=victim["id"],
        )
    assert (await _run_cli_function(database_url, tenant.code))[0] == 0


async def test_a_removed_row_is_named_by_its_successor_and_a_removed_tail_by_the_head(
    client: GraphQLClient, factory: Factory, engine: AsyncEngine, database_url: str
) -> None:
    tenant = await factory.tenant()
    await _some_changes(client, tenant, 4)
    chain = await rows(
        engine,
        tenant.dealership_id,
        "SELECT * FROM audit_logs ORDER BY id",
    )
    columns = ", ".join(chain[0])
    values = ", ".join(f":{c}" for c in chain[0])
    restore = f"INSERT INTO audit_logs ({columns}) VALUES ({values})"

    async def put_back(row: dict[str, object]) -> None:
        params = {**row, "changes": json.dumps(row["changes"])}
        await _as_replica(engine, restore.replace(":changes", "CAST(:changes AS jsonb)"), **params)

    remove = "DELETE FROM audit_logs WHERE dealership_id = :d AND id = :id"
    await _as_replica(engine, remove, d=tenant.dealership_id, id=chain[1]["id"])
    try:
        (report,) = await _verify(engine, tenant.dealership_id)
        assert report.broken_id == chain[2]["id"]
        assert f"previous row, id {chain[0]['id']}" in report.problem
    finally:
        await put_back(chain[1])
    assert [r.ok for r in await _verify(engine, tenant.dealership_id)] == [True]

    await _as_replica(engine, remove, d=tenant.dealership_id, id=chain[3]["id"])
    try:
        (report,) = await _verify(engine, tenant.dealership_id)
        assert "rows were removed at the end" in report.problem
        status, output = await _run_cli_function(database_url, tenant.code)
        assert status == 1
        assert "BROKEN" in output
    finally:
        await put_back(chain[3])
    assert [r.ok for r in await _verify(engine, tenant.dealership_id)] == [True]


async def test_verify_everything_and_unknown_dealerships(
    client: GraphQLClient, factory: Factory, database_url: str
) -> None:
    tenant = await factory.tenant()
    await _some_changes(client, tenant, 1)
    status, output = await _run_cli_function(database_url, None)
    assert status == 0, output
    assert f"dealership {tenant.dealership_id} ({tenant.code})" in output
    assert (await _run_cli_function(database_url, "no-such-code"))[0] == 2


# --- the migration chains rows written before it -------------------------------------------


async def test_the_migration_chains_existing_rows(server_url: str) -> None:
    name = f"dealerdesk_chain_{uuid.uuid4().hex[:10]}"
    admin = async_url(server_url)

    async def run(sql: str) -> None:
        engine = create_async_engine(admin, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        try:
            async with engine.connect() as conn:
                await conn.execute(text(sql))
        finally:
            await engine.dispose()

    await run(f'CREATE DATABASE "{name}"')
    url = admin.set(database=name).render_as_string(hide_password=False)
    try:
        await asyncio.to_thread(upgrade, url, "0002")
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO dealerships (code, name) VALUES ('a', 'A')"))
                await conn.execute(
                    text(
                        "INSERT INTO audit_logs (dealership_id, action, entity_type, entity_id,"
                        " changes) SELECT 1, 'x.create', 'X', g, jsonb_build_object('g', g)"
                        " FROM generate_series(1, 30) g"
                    )
                )
                await conn.execute(
                    text(
                        "INSERT INTO security_audit_logs (dealership_id, event, outcome, details,"
                        " client_ip) VALUES (0, 'auth.login_failed', 'failure', '{}', '10.1.2.3')"
                    )
                )
            await asyncio.to_thread(upgrade, url)
            async with engine.connect() as conn:
                reports = await verify_chains(conn)
                await conn.rollback()
            assert [(r.table, r.dealership_id, r.rows, r.ok) for r in reports] == [
                ("audit_logs", 1, 30, True),
                ("security_audit_logs", 0, 1, True),
            ]
            # New rows continue the migrated chains.
            async with engine.begin() as conn:
                await conn.execute(
                    text(
                        "INSERT INTO audit_logs (dealership_id, action, entity_type, entity_id,"
                        " changes) VALUES (1, 'x.update', 'X', 1, '{}')"
                    )
                )
            async with engine.connect() as conn:
                reports = await verify_chains(conn)
                await conn.rollback()
            assert [(r.rows, r.ok) for r in reports] == [(31, True), (1, True)]
        finally:
            await engine.dispose()
    finally:
        await run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
