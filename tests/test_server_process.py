"""The real server process: serves over HTTP, and on SIGTERM stops accepting, lets the
request in flight finish, and exits cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from db.models.enums import Role
from db.urls import async_url
from server.config import Settings
from tests.factories import Factory
from tests.helpers import free_port, wait_healthy


async def test_sigterm_drains_in_flight_requests(
    database_url: str, settings: Settings, factory: Factory
) -> None:
    tenant = await factory.tenant()
    token = tenant.tokens[Role.ADMIN]
    port = free_port()
    assert settings.auth_token_secret is not None
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "AUTH_TOKEN_SECRET": settings.auth_token_secret.get_secret_value(),
    }
    process = await asyncio.create_subprocess_exec(
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
    base = f"http://127.0.0.1:{port}"
    admin = create_async_engine(async_url(database_url), poolclass=NullPool)
    try:
        await wait_healthy(base, time.monotonic() + 30)
        async with admin.connect() as conn:
            # Hold a lock that the request's read must wait for: it stays in flight.
            await conn.execute(text("LOCK TABLE dealerships IN ACCESS EXCLUSIVE MODE"))
            async with httpx.AsyncClient(timeout=30) as http:
                in_flight = asyncio.create_task(
                    http.post(
                        f"{base}/graphql",
                        json={"query": "{ dealership { code } }"},
                        headers={"authorization": f"Bearer {token}"},
                    )
                )
                await asyncio.sleep(0.5)
                process.send_signal(signal.SIGTERM)
                await asyncio.sleep(0.5)
                assert process.returncode is None, "exited with a request in flight"
                async with httpx.AsyncClient(timeout=2) as other:
                    try:
                        refused = (await other.get(f"{base}/health")).status_code != 200
                    except httpx.TransportError:
                        refused = True
                assert refused, "still accepting new requests after SIGTERM"
                await conn.rollback()  # release the lock
                response = await in_flight
        assert response.status_code == 200
        assert response.json() == {"data": {"dealership": {"code": tenant.code}}}
        assert await asyncio.wait_for(process.wait(), 20) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await admin.dispose()


def test_worker_factory_settles_the_heap(database_url: str, settings: Settings) -> None:
    """A worker's app is built with what it holds exempt from garbage collection (a full
    collection walking the schema stalled every request in flight) and a young-generation
    threshold above what one request allocates. Run in a fresh interpreter: freezing this
    test process's heap would keep the rest of the suite's garbage."""
    assert settings.auth_token_secret is not None
    probe = (
        "import gc; from server.main import create, YOUNG_THRESHOLD; create(); "
        "print(gc.get_freeze_count(), gc.get_threshold()[0] == YOUNG_THRESHOLD)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env={
            **os.environ,
            "DATABASE_URL": database_url,
            "AUTH_TOKEN_SECRET": settings.auth_token_secret.get_secret_value(),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    frozen, threshold_set = done.stdout.split()
    assert int(frozen) > 50_000
    assert threshold_set == "True"
