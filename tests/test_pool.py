"""The connection pool: a connection that sat idle longer than DB_IDLE_TIMEOUT is replaced
when next checked out (and the old one closed), whichever way it is taken."""

from __future__ import annotations

import asyncio

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import greenlet_spawn

from db.engine import PoolConfig, create_engine, dispose


async def _backend_via_session(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def _backend_via_driver(engine: AsyncEngine) -> int:
    """As the request's read transaction takes its connection (db/tenant.py)."""
    fairy = await engine.raw_connection()
    try:
        driver = fairy.driver_connection
        assert isinstance(driver, asyncpg.Connection)
        return int(await driver.fetchval("SELECT pg_backend_pid()"))
    finally:
        await greenlet_spawn(fairy.close)


async def test_a_connection_idle_too_long_is_replaced(database_url: str) -> None:
    engine = create_engine(
        PoolConfig(url=database_url, max_size=1, min_size=0, idle_timeout_ms=300)
    )
    observer = create_engine(PoolConfig(url=database_url, max_size=1, min_size=0))
    try:
        first = await _backend_via_session(engine)
        assert await _backend_via_driver(engine) == first, "replaced without idling"
        await asyncio.sleep(0.5)
        second = await _backend_via_driver(engine)
        assert second != first
        assert await _backend_via_session(engine) == second
        await asyncio.sleep(0.5)
        third = await _backend_via_session(engine)
        assert third not in (first, second)
        async with observer.connect() as conn:
            alive = await conn.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid IN (:a, :b)"),
                {"a": first, "b": second},
            )
        assert alive == 0, "a replaced connection was left open"
    finally:
        await dispose(observer)
        await dispose(engine)


async def test_a_busy_connection_is_kept(database_url: str) -> None:
    engine = create_engine(PoolConfig(url=database_url, max_size=1, min_size=0))
    try:
        first = await _backend_via_session(engine)
        for _ in range(5):
            await asyncio.sleep(0.05)
            assert await _backend_via_driver(engine) == first
    finally:
        await dispose(engine)
