"""Liveness, readiness and metrics endpoints."""

from __future__ import annotations

import uuid

import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from db.urls import async_url
from server.app import create_app
from server.config import Settings


async def test_health_is_ok(http: httpx.AsyncClient) -> None:
    response = await http.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_when_migrated(http: httpx.AsyncClient) -> None:
    response = await http.get("/ready")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"


async def test_not_ready_when_the_database_is_not_migrated(
    server_url: str, settings: Settings
) -> None:
    admin = create_async_engine(
        async_url(server_url), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    name = f"dealerdesk_test_unmigrated_{uuid.uuid4().hex[:8]}"
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = async_url(server_url).set(database=name).render_as_string(hide_password=False)
        app = create_app(settings, url)
        async with LifespanManager(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                response = await http.get("/ready")
        assert response.status_code == 503
        assert response.json()["reason"] == "database not migrated"
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def test_not_ready_when_the_database_is_unreachable(settings: Settings) -> None:
    app = create_app(settings, "postgresql://nobody@127.0.0.1:1/none")
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.get("/ready")
    assert response.status_code == 503
    assert response.json()["reason"] == "database unreachable"


async def test_metrics_are_exposed(http: httpx.AsyncClient) -> None:
    await http.post("/graphql", json={"query": "{ __typename }"})
    response = await http.get("/metrics")
    assert response.status_code == 200
    body = response.text
    assert "dealerdesk_sql_statements_total" in body
    assert 'dealerdesk_db_pool_connections{state="in_use"}' in body
    assert "dealerdesk_db_transactions_total" in body
