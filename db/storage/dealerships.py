"""Dealerships: creating a tenant with its defaults, reading and updating it."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from db.models import Dealership, DealershipSettings
from db.tenant import TenantDB


async def allocate_dealership_id(engine: AsyncEngine) -> int:
    """Take an id from the dealerships sequence. A new dealership is inserted by a session
    already bound to its id: row-level security lets no session create another tenant."""
    db = TenantDB(engine, None)
    try:
        async with db.session() as session:
            value = await session.scalar(
                text("SELECT nextval(pg_get_serial_sequence('dealerships', 'id'))")
            )
    finally:
        await db.close()
    assert isinstance(value, int)
    return value


async def create_dealership(
    engine: AsyncEngine,
    *,
    code: str,
    name: str,
    time_zone: str = "America/New_York",
    city: str | None = None,
    state: str | None = None,
    doc_fee: Decimal = Decimal("499.00"),
) -> int:
    dealership_id = await allocate_dealership_id(engine)
    db = TenantDB(engine, dealership_id)

    async def work(session: AsyncSession) -> None:
        session.add(Dealership(id=dealership_id, code=code, name=name, city=city, state=state))
        await session.flush()
        session.add(
            DealershipSettings(dealership_id=dealership_id, time_zone=time_zone, doc_fee=doc_fee)
        )

    try:
        await db.transaction(work)
    finally:
        await db.close()
    return dealership_id


async def get_dealership(session: AsyncSession, *, dealership_id: int) -> Dealership | None:
    return await session.scalar(select(Dealership).where(Dealership.id == dealership_id))


async def get_settings(session: AsyncSession, *, dealership_id: int) -> DealershipSettings | None:
    return await session.get(DealershipSettings, dealership_id)
