"""Small helpers for tests: reading tables as a dealership, counting SQL statements, scratch
databases and server processes."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from db.instrumentation import listen_raw, unlisten_raw
from db.migrate import upgrade
from db.tenant import CALLER_CHECK, TenantDB
from db.urls import async_url
from schema.relay import from_global_id


def pk(global_id: object) -> int:
    assert isinstance(global_id, str)
    return from_global_id(global_id)[1]


async def rows(
    engine: AsyncEngine, dealership_id: int, sql: str, **params: object
) -> list[dict[str, object]]:
    db = TenantDB(engine, dealership_id)
    try:
        async with db.session() as session:
            result = await session.execute(text(sql), params)
            return [dict(r._mapping) for r in result.all()]
    finally:
        await db.close()


async def scalar(engine: AsyncEngine, dealership_id: int, sql: str, **params: object) -> object:
    found = await rows(engine, dealership_id, sql, **params)
    return next(iter(found[0].values())) if found else None


@dataclass
class StatementLog:
    statements: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.statements)

    @property
    def data_statements(self) -> list[str]:
        """Statements other than the per-transaction tenant binding and the per-request
        check of the caller (server.auth)."""
        return [
            s for s in self.statements if "set_config('role'" not in s and CALLER_CHECK not in s
        ]


@contextmanager
def count_statements(engine: Engine) -> Iterator[StatementLog]:
    log = StatementLog()

    def before(conn: object, cursor: object, statement: str, *args: object) -> None:
        log.statements.append(statement)

    # Statements through SQLAlchemy, and those the read fast path sends with asyncpg.
    event.listen(engine, "before_cursor_execute", before)
    listen_raw(engine, log.statements.append)
    try:
        yield log
    finally:
        event.remove(engine, "before_cursor_execute", before)
        unlisten_raw(engine, log.statements.append)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def wait_healthy(url: str, deadline: float) -> None:
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            try:
                if (await http.get(f"{url}/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("server did not start")


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """A new database on the server, migrated to head by the real migrations; dropped after."""
    name = f"dealerdesk_test_{uuid.uuid4().hex[:10]}"
    admin = async_url(server_url)

    async def run(sql: str) -> None:
        engine = create_async_engine(admin, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        try:
            async with engine.connect() as conn:
                await conn.execute(text(sql))
        finally:
            await engine.dispose()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    url = admin.set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    try:
        yield url
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def dealerdesk_command() -> list[str]:
    """The installed `dealerdesk` script of this environment."""
    script = shutil.which("dealerdesk", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "server.cli"]


@dataclass
class LiveServer:
    url: str
    env: dict[str, str]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def run(self, *args: str) -> str:
        """Another `dealerdesk` command against the same database; its standard output."""
        done = subprocess.run(
            [*dealerdesk_command(), *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout


@contextmanager
def live_server(database_url: str, secret: str, *args: str, **env: str) -> Iterator[LiveServer]:
    """`dealerdesk serve` in a process of its own on a free port, logging to a file; stopped
    with SIGTERM afterwards."""
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "AUTH_TOKEN_SECRET": secret,
        "APP_ENV": "test",
        **env,
    }
    with tempfile.TemporaryDirectory() as folder:
        log_path = Path(folder) / "server.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [*dealerdesk_command(), "serve", "--port", str(port), *args],
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        server = LiveServer(f"http://127.0.0.1:{port}", environment, log_path)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if process.poll() is not None:
                    raise AssertionError(f"the server exited:\n{server.log()}")
                try:
                    if httpx.get(f"{server.url}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            else:
                raise AssertionError(f"the server did not start:\n{server.log()}")
            yield server
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
