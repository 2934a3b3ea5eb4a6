"""The transaction manager against real concurrent PostgreSQL transactions: retries on
serialization failure, deadlock and a lost connection; timeouts that roll back."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from db.errors import TransactionTimeout
from db.instrumentation import TRANSACTION_RETRIES
from db.tenant import TenantDB
from db.transactions import Isolation, TxOptions
from db.urls import async_url
from tests.factories import Factory, Tenant


def _retries(reason: str) -> float:
    return TRANSACTION_RETRIES.labels(reason)._value.get()


async def _count_customers(engine: AsyncEngine, tenant: Tenant, last_name: str) -> int:
    db = TenantDB(engine, tenant.dealership_id)
    try:
        async with db.session() as session:
            value = await session.scalar(
                text("SELECT count(*) FROM customers WHERE last_name = :n"), {"n": last_name}
            )
    finally:
        await db.close()
    assert isinstance(value, int)
    return value


async def test_serialization_failure_is_retried(engine: AsyncEngine, factory: Factory) -> None:
    """Write skew between two SERIALIZABLE transactions: each reads what the other writes.
    PostgreSQL aborts one with 40001; the manager runs it again and both end committed."""
    tenant = await factory.tenant()
    barrier = asyncio.Barrier(2)
    attempts = {"a": 0, "b": 0}
    before = _retries("serialization_failure")

    def worker(name: str, reads: str, writes: str):
        async def work(session: AsyncSession) -> None:
            attempts[name] += 1
            await session.execute(
                text("SELECT count(*) FROM customers WHERE last_name = :n"), {"n": reads}
            )
            if attempts[name] == 1:
                await barrier.wait()  # both have read before either writes
            await session.execute(
                text(
                    "INSERT INTO customers (dealership_id, first_name, last_name) "
                    "VALUES (:d, :f, :n)"
                ),
                {"d": tenant.dealership_id, "f": name, "n": writes},
            )
            if attempts[name] == 1:
                await barrier.wait()  # both have written before either commits

        return work

    options = TxOptions(isolation=Isolation.SERIALIZABLE, timeout=10)
    dbs = [TenantDB(engine, tenant.dealership_id) for _ in range(2)]
    try:
        await asyncio.gather(
            dbs[0].transaction(worker("a", "skew-b", "skew-a"), options),
            dbs[1].transaction(worker("b", "skew-a", "skew-b"), options),
        )
    finally:
        for db in dbs:
            await db.close()
    assert sorted(attempts.values()) == [1, 2]
    assert _retries("serialization_failure") == before + 1
    assert await _count_customers(engine, tenant, "skew-a") == 1
    assert await _count_customers(engine, tenant, "skew-b") == 1


async def test_deadlock_is_retried(engine: AsyncEngine, factory: Factory) -> None:
    tenant = await factory.tenant()
    first = await factory.customer(tenant, last_name="lock-1")
    second = await factory.customer(tenant, last_name="lock-2")
    barrier = asyncio.Barrier(2)
    attempts = {"a": 0, "b": 0}
    before = _retries("deadlock")

    def worker(name: str, ids: tuple[int, int]):
        async def work(session: AsyncSession) -> None:
            attempts[name] += 1
            lock = text("SELECT id FROM customers WHERE id = :id FOR UPDATE")
            await session.execute(lock, {"id": ids[0]})
            if attempts[name] == 1:
                await barrier.wait()  # each holds one row and now wants the other's
            await session.execute(lock, {"id": ids[1]})
            await session.execute(
                text("UPDATE customers SET source = coalesce(source, '') || :n WHERE id = :id"),
                {"n": name, "id": ids[1]},
            )

        return work

    dbs = [TenantDB(engine, tenant.dealership_id) for _ in range(2)]
    try:
        await asyncio.gather(
            dbs[0].transaction(worker("a", (first, second))),
            dbs[1].transaction(worker("b", (second, first))),
        )
    finally:
        for db in dbs:
            await db.close()
    assert sorted(attempts.values()) == [1, 2]
    assert _retries("deadlock") == before + 1


async def test_lost_connection_before_commit_is_retried(
    engine: AsyncEngine, factory: Factory, database_url: str
) -> None:
    tenant = await factory.tenant()
    admin = create_async_engine(async_url(database_url), poolclass=NullPool)
    attempts = 0
    before = _retries("connection_lost")

    async def work(session: AsyncSession) -> None:
        nonlocal attempts
        attempts += 1
        await session.execute(
            text(
                "INSERT INTO customers (dealership_id, first_name, last_name) "
                "VALUES (:d, 'Lost', 'lost-conn')"
            ),
            {"d": tenant.dealership_id},
        )
        if attempts == 1:
            pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            async with admin.connect() as conn:
                await conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
            await session.execute(text("SELECT 1"))  # the dead connection fails here

    db = TenantDB(engine, tenant.dealership_id)
    try:
        await db.transaction(work)
    finally:
        await db.close()
        await admin.dispose()
    assert attempts == 2
    assert _retries("connection_lost") == before + 1
    assert await _count_customers(engine, tenant, "lost-conn") == 1


async def test_retries_are_bounded(engine: AsyncEngine, factory: Factory) -> None:
    tenant = await factory.tenant()
    attempts = 0

    async def work(session: AsyncSession) -> None:
        nonlocal attempts
        attempts += 1
        # Raise a genuine serialization failure every time.
        await session.execute(
            text(
                "DO $$ BEGIN RAISE EXCEPTION 'forced' "
                "USING ERRCODE = 'serialization_failure'; END $$"
            )
        )

    db = TenantDB(engine, tenant.dealership_id)
    try:
        with pytest.raises(Exception, match="forced"):
            await db.transaction(work, TxOptions(max_attempts=3, backoff_base=0.001))
    finally:
        await db.close()
    assert attempts == 3


async def test_a_slow_statement_hits_the_timeout_and_rolls_back(
    engine: AsyncEngine, factory: Factory
) -> None:
    tenant = await factory.tenant()

    async def work(session: AsyncSession) -> None:
        await session.execute(
            text(
                "INSERT INTO customers (dealership_id, first_name, last_name) "
                "VALUES (:d, 'Slow', 'timeout-sql')"
            ),
            {"d": tenant.dealership_id},
        )
        await session.execute(text("SELECT pg_sleep(5)"))

    db = TenantDB(engine, tenant.dealership_id)
    started = time.monotonic()
    try:
        with pytest.raises(TransactionTimeout):
            await db.transaction(work, TxOptions(timeout=0.5))
    finally:
        await db.close()
    assert time.monotonic() - started < 3
    assert await _count_customers(engine, tenant, "timeout-sql") == 0


async def test_a_stalled_unit_of_work_hits_the_python_deadline(
    engine: AsyncEngine, factory: Factory
) -> None:
    """Time spent outside PostgreSQL (here, waiting on something else) counts too."""
    tenant = await factory.tenant()

    async def work(session: AsyncSession) -> None:
        await session.execute(
            text(
                "INSERT INTO customers (dealership_id, first_name, last_name) "
                "VALUES (:d, 'Stall', 'timeout-py')"
            ),
            {"d": tenant.dealership_id},
        )
        await asyncio.sleep(5)

    db = TenantDB(engine, tenant.dealership_id)
    started = time.monotonic()
    try:
        with pytest.raises(TransactionTimeout):
            await db.transaction(work, TxOptions(timeout=0.3))
        # The session is usable again after the timeout.
        async with db.session() as session:
            assert (await session.execute(text("SELECT 1"))).scalar() == 1
    finally:
        await db.close()
    assert time.monotonic() - started < 3
    assert await _count_customers(engine, tenant, "timeout-py") == 0


async def test_the_transaction_carries_its_isolation_level(
    engine: AsyncEngine, factory: Factory
) -> None:
    tenant = await factory.tenant()
    seen: list[str] = []

    async def work(session: AsyncSession) -> None:
        seen.append((await session.execute(text("SHOW transaction_isolation"))).scalar_one())
        seen.append((await session.execute(text("SHOW statement_timeout"))).scalar_one())

    db = TenantDB(engine, tenant.dealership_id)
    try:
        await db.transaction(work, TxOptions(isolation=Isolation.REPEATABLE_READ, timeout=7))
    finally:
        await db.close()
    assert seen == ["repeatable read", "7s"]
