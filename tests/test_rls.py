"""Row-level security, proven with hand-written SQL through tenant-bound sessions."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine

from db.tenant import APP_ROLE, TenantDB
from tests.factories import Factory, Tenant


async def _scalar(
    engine: AsyncEngine,
    dealership_id: int | None,
    sql: str,
    params: dict[str, object] | None = None,
) -> object:
    db = TenantDB(engine, dealership_id)
    try:
        async with db.session() as session:
            return (await session.execute(text(sql), params or {})).scalar()
    finally:
        await db.close()


async def _two_tenants(factory: Factory) -> tuple[Tenant, Tenant, int, int]:
    a, b = await factory.tenant(), await factory.tenant()
    await factory.customer(a)
    return a, b, await factory.customer(b), await factory.vehicle(b)


async def test_queries_run_as_the_application_role(engine: AsyncEngine, factory: Factory) -> None:
    tenant = await factory.tenant()
    assert await _scalar(engine, tenant.dealership_id, "SELECT current_user") == APP_ROLE
    role = await _scalar(
        engine,
        tenant.dealership_id,
        "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user",
    )
    assert role is False


async def test_a_session_without_a_dealership_sees_nothing(
    engine: AsyncEngine, factory: Factory
) -> None:
    await _two_tenants(factory)
    for table in ("customers", "vehicles", "users", "dealerships", "dealership_settings"):
        assert await _scalar(engine, None, f"SELECT count(*) FROM {table}") == 0


async def test_a_tenant_cannot_read_another_tenants_rows(
    engine: AsyncEngine, factory: Factory
) -> None:
    a, b, b_customer, _ = await _two_tenants(factory)
    assert (
        await _scalar(
            engine,
            a.dealership_id,
            "SELECT count(*) FROM customers WHERE id = :id",
            {"id": b_customer},
        )
        == 0
    )
    assert (
        await _scalar(
            engine,
            a.dealership_id,
            "SELECT count(*) FROM customers WHERE dealership_id = :d",
            {"d": b.dealership_id},
        )
        == 0
    )
    assert await _scalar(engine, a.dealership_id, "SELECT count(*) FROM dealerships") == 1
    # Sanity: B does see its own row.
    assert (
        await _scalar(
            engine,
            b.dealership_id,
            "SELECT count(*) FROM customers WHERE id = :id",
            {"id": b_customer},
        )
        == 1
    )


async def test_a_tenant_cannot_change_or_delete_another_tenants_rows(
    engine: AsyncEngine, factory: Factory
) -> None:
    a, b, b_customer, _ = await _two_tenants(factory)
    db = TenantDB(engine, a.dealership_id)
    try:
        async with db.session() as session:
            updated = await session.execute(
                text("UPDATE customers SET first_name = 'Hacked' WHERE id = :id"),
                {"id": b_customer},
            )
            deleted = await session.execute(
                text("DELETE FROM customers WHERE id = :id"), {"id": b_customer}
            )
            assert updated.rowcount == 0  # type: ignore[attr-defined]
            assert deleted.rowcount == 0  # type: ignore[attr-defined]
            await session.commit()
    finally:
        await db.close()
    assert (
        await _scalar(
            engine,
            b.dealership_id,
            "SELECT first_name FROM customers WHERE id = :id",
            {"id": b_customer},
        )
        != "Hacked"
    )


async def test_a_tenant_cannot_insert_rows_for_another_tenant(
    engine: AsyncEngine, factory: Factory
) -> None:
    a, b, _, _ = await _two_tenants(factory)
    db = TenantDB(engine, a.dealership_id)
    try:
        async with db.session() as session:
            with pytest.raises(ProgrammingError, match="row-level security"):
                await session.execute(
                    text(
                        "INSERT INTO customers (dealership_id, first_name, last_name) "
                        "VALUES (:d, 'Eve', 'Intruder')"
                    ),
                    {"d": b.dealership_id},
                )
    finally:
        await db.close()


async def test_a_row_cannot_point_at_another_tenants_row(
    engine: AsyncEngine, factory: Factory
) -> None:
    """Composite foreign keys: a deal of A cannot reference B's vehicle, whatever RLS says."""
    a, _, b_customer, b_vehicle = await _two_tenants(factory)
    a_customer = await factory.customer(a)
    from db.models.enums import Role

    db = TenantDB(engine, a.dealership_id)
    try:
        async with db.session() as session:
            with pytest.raises(DBAPIError, match="foreign key"):
                await session.execute(
                    text(
                        "INSERT INTO deals (dealership_id, deal_number, customer_id, vehicle_id,"
                        " salesperson_id) VALUES (:d, 'X-1', :c, :v, :s)"
                    ),
                    {
                        "d": a.dealership_id,
                        "c": a_customer,
                        "v": b_vehicle,
                        "s": a.users[Role.SALESPERSON],
                    },
                )
    finally:
        await db.close()
    assert b_customer


async def test_the_tenant_setting_does_not_outlive_its_transaction(
    engine: AsyncEngine, factory: Factory
) -> None:
    tenant = await factory.tenant()
    db = TenantDB(engine, tenant.dealership_id)
    try:
        async with db.session() as session:
            conn = await session.connection()
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
            await session.execute(text("SELECT 1"))
    finally:
        await db.close()
    # The same physical connection, back in the pool, carries neither setting nor role.
    assert driver is not None
    assert await driver.fetchval("SELECT current_setting('app.dealership_id', true)") in ("", None)
    assert await driver.fetchval("SELECT current_user") != APP_ROLE
