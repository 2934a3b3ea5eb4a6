"""The process's one async engine and its connection pool, built from Settings."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from decimal import Decimal

import asyncpg
import orjson
from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, Pool

from db.instrumentation import POOL_COLLECTOR, CountingQueuePool, instrument
from db.urls import async_url

_RETURNED_AT = "dealerdesk_returned_at"


@dataclass(frozen=True)
class PoolConfig:
    """How DB_* settings map onto SQLAlchemy's QueuePool (see README, "Connection pool").

    max_size        -> pool_size (max_overflow=0): SQLAlchemy closes overflow connections as
                       soon as they are returned, which would churn connections under load.
    min_size        -> connections opened at start-up by warm(); QueuePool never shrinks an
                       idle pool below what it has opened, and never pre-opens on its own.
    connect_timeout -> asyncpg's connect timeout and pool_timeout (the wait for a free
                       connection when all max_size are in use).
    idle_timeout    -> a connection that sat in the pool longer than this is replaced when
                       it is next checked out (a firewall or the server may have dropped it);
                       QueuePool has no idle reaper, so the pool does not shrink.
    max_lifetime    -> pool_recycle: a connection older than this is replaced at checkout.
                       Hours, not seconds: a new connection costs its first requests a new
                       backend's cold caches and statement preparation.
    statement_timeout -> PostgreSQL's statement_timeout for every session.
    """

    url: str
    max_size: int = 20
    min_size: int = 5
    connect_timeout_ms: int = 10_000
    idle_timeout_ms: int = 300_000
    max_lifetime_ms: int = 1_800_000
    statement_timeout_ms: int = 30_000
    slow_query_ms: int = 1_000
    pre_ping: bool = False
    application_name: str = "dealerdesk"


def create_engine(config: PoolConfig) -> AsyncEngine:
    engine = create_async_engine(
        async_url(config.url),
        poolclass=CountingQueuePool,
        pool_size=config.max_size,
        max_overflow=0,
        pool_timeout=config.connect_timeout_ms / 1000,
        pool_recycle=max(config.max_lifetime_ms / 1000, 1),
        pool_pre_ping=config.pre_ping,
        json_deserializer=_json_loads,
        connect_args={
            "timeout": config.connect_timeout_ms / 1000,
            "server_settings": {
                "statement_timeout": str(config.statement_timeout_ms),
                "application_name": config.application_name,
                # Short OLTP queries: JIT compilation only ever adds latency here.
                "jit": "off",
                # asyncpg prepares every statement; PostgreSQL would still plan most of them
                # again at each execution (a custom plan), because an estimate with the
                # actual `id = ANY($1)` array is always cheaper than the generic plan's. Under
                # row-level security the planning costs ten times the execution (0.49 against
                # 0.04 ms for a deal with its customer and vehicle). Our statements select by
                # key within a dealership, where the generic plan is the same plan.
                "plan_cache_mode": "force_generic_plan",
            },
        },
    )
    instrument(engine, config.slow_query_ms)
    event.listen(engine.sync_engine, "connect", _set_codecs)
    _replace_when_idle(engine.sync_engine.pool, config.idle_timeout_ms / 1000)
    POOL_COLLECTOR.engines.append(engine)
    return engine


def _json_loads(text: str | bytes) -> object:
    """json/jsonb values with orjson (several times faster than the json module); orjson
    refuses integers beyond 64 bits, which JSON allows, so those fall back."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


async def _numeric_as_text(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "numeric", schema="pg_catalog", encoder=str, decoder=Decimal, format="text"
    )


def _set_codecs(dbapi_connection: object, _record: object) -> None:
    """numeric in PostgreSQL's text form, parsed by Decimal: faster than asyncpg's binary
    decoding into Decimal (about a third of a deal page's row decoding was numerics), and
    the same values."""
    dbapi_connection.run_async(_numeric_as_text)  # type: ignore[attr-defined]


def _replace_when_idle(pool: Pool, idle_timeout_s: float) -> None:
    """Connections are stamped when returned to the pool; one checked out after sitting
    there longer than `idle_timeout_s` is replaced (SQLAlchemy invalidates a connection whose
    checkout handler raises DisconnectionError and connects anew)."""

    @event.listens_for(pool, "checkin")
    def _returned(dbapi_connection: object, record: ConnectionPoolEntry) -> None:
        if dbapi_connection is not None:
            record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _taken(dbapi_connection: object, record: ConnectionPoolEntry, proxy: object) -> None:
        returned = record.info.pop(_RETURNED_AT, None)
        if returned is not None and time.monotonic() - returned > idle_timeout_s:
            raise exc.DisconnectionError("idle in the pool longer than DB_IDLE_TIMEOUT")


async def warm(engine: AsyncEngine, count: int) -> None:
    """Open `count` connections now, so the first requests do not pay for connecting."""
    if count <= 0:
        return
    conns: list[AsyncConnection] = []
    try:
        conns = list(await asyncio.gather(*(engine.connect() for _ in range(count))))
    finally:
        for conn in conns:
            await conn.close()


async def dispose(engine: AsyncEngine) -> None:
    if engine in POOL_COLLECTOR.engines:
        POOL_COLLECTOR.engines.remove(engine)
    await engine.dispose()
