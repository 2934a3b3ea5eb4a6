"""Small helpers for tests: reading tables as a dealership, counting SQL statements."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from db.storage.auth import CALLER_CHECK
from db.tenant import TenantDB
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

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield log
    finally:
        event.remove(engine, "before_cursor_execute", before)


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
