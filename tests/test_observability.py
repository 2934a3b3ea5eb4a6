"""Statement timing, the slow-statement log (without parameters) and counters."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from db.engine import PoolConfig, create_engine, dispose
from db.instrumentation import SQL_SLOW, SQL_STATEMENTS, TRANSACTIONS
from db.tenant import TenantDB
from tests.factories import Factory


async def test_slow_statements_are_logged_without_parameters(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine = create_engine(PoolConfig(url=database_url, max_size=1, min_size=0, slow_query_ms=50))
    before_slow = SQL_SLOW._value.get()
    before_all = SQL_STATEMENTS._value.get()
    try:
        with caplog.at_level(logging.WARNING, logger="dealerdesk.sql"):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT pg_sleep(0.1), :secret"), {"secret": "555-12-3456"})
                await conn.execute(text("SELECT 1"))
    finally:
        await dispose(engine)
    slow = [r for r in caplog.records if r.getMessage() == "slow statement"]
    assert len(slow) == 1
    assert "pg_sleep" in slow[0].statement  # type: ignore[attr-defined]
    assert slow[0].duration_ms >= 100  # type: ignore[attr-defined]
    assert "555-12-3456" not in caplog.text
    assert SQL_SLOW._value.get() == before_slow + 1
    assert SQL_STATEMENTS._value.get() >= before_all + 2


async def test_units_of_work_are_counted(engine: object, factory: Factory) -> None:
    tenant = await factory.tenant()
    committed = TRANSACTIONS.labels("committed")._value.get()
    rolled_back = TRANSACTIONS.labels("rolled_back")._value.get()
    db = TenantDB(factory.engine, tenant.dealership_id)

    async def fails(session: object) -> None:
        raise ValueError("no")

    async def works(session: object) -> None:
        return None

    try:
        await db.transaction(works)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="no"):
            await db.transaction(fails)  # type: ignore[arg-type]
    finally:
        await db.close()
    assert TRANSACTIONS.labels("committed")._value.get() == committed + 1
    assert TRANSACTIONS.labels("rolled_back")._value.get() == rolled_back + 1
