"""The one-vehicle race again, through two separate server processes on one database."""

from __future__ import annotations

import asyncio
import os
import sys

import httpx
import pytest

from db.models.enums import Role
from server.config import Settings
from tests.factories import Factory
from tests.helpers import free_port, wait_healthy
from tests.test_create_deal import CREATE, deal_input


async def test_two_servers_racing_for_one_vehicle_have_one_winner(
    database_url: str, settings: Settings, factory: Factory
) -> None:
    tenant = await factory.tenant()
    vehicle = await factory.vehicle(tenant)
    assert settings.auth_token_secret is not None
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DB_POOL_MIN": "1",
        "AUTH_TOKEN_SECRET": settings.auth_token_secret.get_secret_value(),
    }
    ports = [free_port(), free_port()]
    servers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "server.cli",
            "serve",
            "--port",
            str(port),
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        for port in ports:
            await wait_healthy(f"http://127.0.0.1:{port}", asyncio.get_running_loop().time() + 30)
        headers = {"authorization": f"Bearer {tenant.tokens[Role.SALESPERSON]}"}

        async def call(http: httpx.AsyncClient, n: int) -> str:
            body = deal_input(
                tenant,
                vehicle,
                customer={"firstName": "Racer", "lastName": str(n), "email": f"p{n}@example.com"},
            )
            response = await http.post(
                f"http://127.0.0.1:{ports[n % 2]}/graphql",
                json={"query": CREATE, "variables": {"input": body}},
                headers=headers,
            )
            assert response.status_code == 200, response.text
            return str(response.json()["data"]["createDeal"]["__typename"])

        async with httpx.AsyncClient(timeout=30) as http:
            kinds = await asyncio.gather(*(call(http, n) for n in range(50)))
    finally:
        for server in servers:
            if server.returncode is None:
                server.terminate()
        for server in servers:
            await server.wait()
    assert kinds.count("CreateDealSuccess") == 1, kinds
    assert kinds.count("VehicleNotAvailableError") == 49, kinds


pytestmark = pytest.mark.slow
