"""Test fixtures: a real PostgreSQL database migrated to head, the real ASGI app driven over
httpx, and factories for tenants, users and tokens.

The server comes from TEST_DATABASE_URL or DATABASE_URL (a maintenance database such as
postgresql://postgres@127.0.0.1:5432/postgres); without either, an embedded PostgreSQL is
started. Each test run creates its own database and drops it afterwards.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from db.engine import PoolConfig, create_engine, dispose
from db.models.enums import Role
from server.app import create_app, signer_for
from server.config import DATA_DIR, Environment, Settings
from server.tokens import TokenSigner
from tests.factories import Factory
from tests.helpers import scratch_database

TEST_SECRET = "test-secret-" + "x" * 40


def _server_url() -> Iterator[str]:
    url = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    from db.embedded import EmbeddedPostgres

    embedded = EmbeddedPostgres(DATA_DIR / "test-postgres")
    try:
        yield embedded.start()
    finally:
        embedded.stop()


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    yield from _server_url()


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    """A fresh database for this run, migrated to head by the real migrations."""
    with scratch_database(server_url) as url:
        yield url


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """Argon2id still, but with the smallest cost: tests sign in hundreds of times and must
    not spend seconds on each (production keeps argon2-cffi's RFC 9106 parameters)."""
    from argon2 import PasswordHasher

    from server import passwords

    production = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    passwords._hasher = production


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(
        app_env=Environment.TEST,
        database_url=database_url,
        auth_token_secret=TEST_SECRET,
        db_pool_max=10,
        db_pool_min=1,
    )


@pytest.fixture(scope="session")
async def engine(settings: Settings, database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(PoolConfig(url=database_url, max_size=30, min_size=0))
    yield engine
    await dispose(engine)


@pytest.fixture(scope="session")
async def app(settings: Settings, database_url: str) -> AsyncIterator[Starlette]:
    application = create_app(settings, database_url)
    async with LifespanManager(application):
        yield application


@pytest.fixture(scope="session")
def signer(settings: Settings) -> TokenSigner:
    return signer_for(settings)


@dataclass
class GraphQLClient:
    http: httpx.AsyncClient
    signer: TokenSigner

    def token(self, user_id: int, dealership_id: int, role: Role) -> str:
        return self.signer.issue(
            user_id=user_id, dealership_id=dealership_id, role=role, ttl=timedelta(minutes=15)
        )

    async def post(
        self,
        query: str,
        variables: dict[str, object] | None = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        all_headers = {"content-type": "application/json", **(headers or {})}
        if token is not None:
            all_headers["authorization"] = f"Bearer {token}"
        body: dict[str, object] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        return await self.http.post("/graphql", json=body, headers=all_headers)

    async def execute(
        self, query: str, variables: dict[str, object] | None = None, *, token: str | None = None
    ) -> dict[str, object]:
        response = await self.post(query, variables, token=token)
        assert response.status_code == 200, response.text
        result: dict[str, object] = response.json()
        return result

    async def data(
        self, query: str, variables: dict[str, object] | None = None, *, token: str | None = None
    ) -> dict[str, object]:
        """The `data` of a response that must have no errors."""
        result = await self.execute(query, variables, token=token)
        assert "errors" not in result, result
        data = result["data"]
        assert isinstance(data, dict)
        return data


@pytest.fixture(scope="session")
async def http(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture(scope="session")
def client(http: httpx.AsyncClient, signer: TokenSigner) -> GraphQLClient:
    return GraphQLClient(http=http, signer=signer)


@pytest.fixture
def factory(engine: AsyncEngine, client: GraphQLClient) -> Factory:
    return Factory(engine=engine, client=client)
