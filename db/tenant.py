"""Tenant-bound database sessions.

Every transaction opened by a TenantDB first runs, in the same round trip, `SET LOCAL ROLE`
to the application role (which row-level security applies to, even when DATABASE_URL names
a superuser) and sets `app.dealership_id` for the policies, with `app.user_id` and `app.role`
of the signed-in caller (a salesperson's policies keep them to their own deals). All are
transaction-local, so a pooled connection carries nothing over to the next request.

Without a caller (sign-in, jobs, tests) `app.user_id` and `app.role` are empty: such a
session sees what the dealership binding allows, as before roles existed.

A request with a token binds its read transaction with `bind_caller`, whose binding
statement also confirms the caller (migration 0006), so the check costs no round trip; a
caller confirmed before is bound with `bind_known_caller` (migration 0009), whose statement
travels with BEGIN. The binding statements are sent as they are (`exec_driver_sql` for
units of work, asyncpg itself for read transactions): they run at the start of every
transaction, and SQLAlchemy's statement building would cost more than they do.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import NamedTuple, TypeVar

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util import greenlet_spawn

from db.instrumentation import note_statement
from db.transactions import TX_TIMEOUT_KEY, TxOptions, run_transaction

T = TypeVar("T")

APP_ROLE = "dealerdesk_app"
TENANT_SETTING = "app.dealership_id"
DEALERSHIP_KEY = "dealership_id"
USER_KEY = "user_id"
ROLE_KEY = "app_role"

# In the caller check's SQL, so that statement counts can tell it from data statements.
CALLER_CHECK = "/* caller check */"
# session.info: the session is joined to a read transaction TenantDB has bound already.
BOUND_KEY = "bound"

_BIND_READ = (
    "SELECT set_config('role', $1, true), set_config('app.dealership_id', $2, true),"
    " set_config('app.user_id', $3, true), set_config('app.role', $4, true)"
)
_BIND_UNIT = (
    _BIND_READ + ","
    " set_config('statement_timeout', $5, true),"
    " set_config('lock_timeout', $5, true),"
    " set_config('idle_in_transaction_session_timeout', $5, true)"
)
_BIND_CALLER = (
    "/* caller check */ SELECT caller_id, caller_dealership_id, caller_role, caller_actions,"
    " session_live, permissions_version FROM dealerdesk_bind_caller($1, $2, $3, $4)"
)
_BIND_KNOWN_CALLER = (
    "/* caller check */ SELECT dealerdesk_bind_known_caller($1, $2, $3, $4, $5)"  # migration 0009
)
# dealerdesk_bind_known_caller's refusal: the caller is not as last confirmed.
CALLER_CHANGED = "DDC01"
# What may be written into the statements read transactions open with (sent with their
# values in, as the simple protocol that lets BEGIN travel with them requires): numbers,
# UUIDs, and names and digests of these characters only.
_PLAIN_TEXT = re.compile(r"[A-Za-z0-9_.]*")


def _literal(value: int | str | uuid.UUID | None) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, uuid.UUID):
        return f"'{value}'::uuid"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and _PLAIN_TEXT.fullmatch(value):
        return f"'{value}'"
    raise ValueError(f"not a value to write into a statement: {value!r}")


def _with_values(statement: str, *values: int | str | uuid.UUID | None) -> str:
    """The statement with its $n parameters replaced by these values, as literals."""
    for n in range(len(values), 0, -1):  # $10 before $1
        statement = statement.replace(f"${n}", _literal(values[n - 1]))
    return statement


class ConfirmedCaller(NamedTuple):
    """A row of dealerdesk_bind_caller."""

    user_id: int
    dealership_id: int
    role: str
    actions: frozenset[str]
    session_live: bool
    # The dealership's permissions version (migration 0009): what bind_known_caller compares.
    permissions_version: int


class TenantSession(Session):
    """The synchronous half of every tenant-bound AsyncSession; see _bind_tenant."""


@event.listens_for(TenantSession, "after_begin")
def _bind_tenant(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    if transaction.nested or session.info.get(BOUND_KEY):
        return  # a SAVEPOINT, or a session joined to a read transaction already bound
    info = session.info
    dealership = info.get(DEALERSHIP_KEY)
    user = info.get(USER_KEY)
    timeout_ms = info.get(TX_TIMEOUT_KEY)
    params = _binding_values(dealership, user, info.get(ROLE_KEY))
    if timeout_ms is None:
        connection.exec_driver_sql(_BIND_READ, params)
    else:
        connection.exec_driver_sql(_BIND_UNIT, (*params, str(timeout_ms)))


def _binding_values(
    dealership: int | None, user: int | None, role: str | None
) -> tuple[str, str, str, str]:
    """The parameters of _BIND_READ (and the first four of _BIND_UNIT)."""
    return (
        APP_ROLE,
        "" if dealership is None else str(dealership),
        "" if user is None else str(user),
        role or "",
    )


def tenant_session(
    engine: AsyncEngine,
    dealership_id: int | None,
    *,
    user_id: int | None = None,
    role: str | None = None,
) -> AsyncSession:
    session = AsyncSession(
        engine, sync_session_class=TenantSession, expire_on_commit=False, autoflush=True
    )
    session.info[DEALERSHIP_KEY] = dealership_id
    session.info[USER_KEY] = user_id
    session.info[ROLE_KEY] = role
    return session


class _ReadTransaction:
    """A read transaction on a pooled connection, begun and ended by statements sent through
    asyncpg itself: BEGIN travels with the binding statement in one simple-protocol message
    (one round trip), and no Connection or ORM session is made. A request that reads only
    through `fetch` (the caller check, dataloaders) needs nothing more; one that needs the
    ORM gets a session joined to this same transaction (`session`).

    While it is open, SQLAlchemy's driver adapter is told it is in autocommit mode, so it
    neither begins a transaction of its own nor ends this one behind our back (a joined
    session's rollback, the pool's reset); `end` rolls back and restores it."""

    __slots__ = ("adapted", "driver", "fairy", "orm")

    def __init__(self, fairy: PoolProxiedConnection) -> None:
        self.fairy = fairy
        self.adapted = fairy.dbapi_connection
        driver = fairy.driver_connection
        assert isinstance(driver, asyncpg.Connection)
        self.driver = driver
        self.orm: AsyncSession | None = None

    @classmethod
    async def begin(
        cls, engine: AsyncEngine, binding: str | None = None, counted_as: str | None = None
    ) -> _ReadTransaction:
        """Check a connection out and begin, with `binding` (values written in) in the same
        round trip. Counted and timed as `counted_as`: the statement without its values."""
        read = cls(await engine.raw_connection())
        read.adapted.autocommit = True  # type: ignore[union-attr]
        started = time.perf_counter()
        try:
            try:
                await read.driver.execute("BEGIN" if binding is None else f"BEGIN; {binding}")
            finally:
                if counted_as is not None:
                    note_statement(engine.sync_engine, counted_as, time.perf_counter() - started)
        except BaseException:
            with contextlib.suppress(Exception):
                await read.end()
            raise
        return read

    def session(self, engine: AsyncEngine, info: dict[str, object]) -> AsyncSession:
        """An ORM session joined to this transaction (made on first use)."""
        if self.orm is None:
            connection = AsyncConnection(engine, Connection(engine.sync_engine, self.fairy))
            self.orm = AsyncSession(
                connection, sync_session_class=TenantSession, expire_on_commit=False
            )
            self.orm.info.update(info)
            self.orm.info[BOUND_KEY] = True
        return self.orm

    async def end(self) -> None:
        """Roll back (only units of work write) and return the connection to the pool; a
        connection that cannot roll back is discarded rather than reused."""
        orm, self.orm = self.orm, None
        try:
            if orm is not None:
                await orm.close()
            await self.driver.execute("ROLLBACK")
        except BaseException:
            await greenlet_spawn(_discard, self.fairy)
            raise
        finally:
            self.adapted.autocommit = False  # type: ignore[union-attr]
        await greenlet_spawn(self.fairy.close)


def _discard(fairy: PoolProxiedConnection) -> None:
    try:
        fairy.invalidate()
    finally:
        fairy.close()


class TenantDB:
    """One request's (or one job's) database, bound to one dealership (and caller).

    Reads run in one read transaction of the request (_ReadTransaction), begun by the
    first read; `fetch` sends its statements through asyncpg itself and `session()` lends
    an ORM session joined to the same transaction. Units of work (`transaction()`) run on
    a session of their own, after any open read transaction has ended. GraphQL resolves
    sibling fields concurrently, and neither a session nor a connection may be used by two
    coroutines at once, so every use holds a lock.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        dealership_id: int | None,
        *,
        user_id: int | None = None,
        role: str | None = None,
    ) -> None:
        self.dealership_id = dealership_id
        self.user_id = user_id
        self.role = role
        self._engine = engine
        self._units: AsyncSession | None = None
        self._lock = asyncio.Lock()
        self._after_commit: list[Callable[[], None]] = []
        self._read: _ReadTransaction | None = None

    def _info(self) -> dict[str, object]:
        return {DEALERSHIP_KEY: self.dealership_id, USER_KEY: self.user_id, ROLE_KEY: self.role}

    async def _end_read(self) -> None:
        """End the open read transaction, if any (the lock is held)."""
        read, self._read = self._read, None
        if read is not None:
            await read.end()

    async def _reading(self) -> _ReadTransaction:
        """The open read transaction, begun and bound now if there is none (lock held)."""
        read = self._read
        if read is None:
            binding = _with_values(
                _BIND_READ, *_binding_values(self.dealership_id, self.user_id, self.role)
            )
            read = self._read = await _ReadTransaction.begin(self._engine, binding, _BIND_READ)
        return read

    async def bind(
        self, dealership_id: int | None, *, user_id: int | None, role: str | None
    ) -> None:
        """Bind later transactions to another caller (e.g. once a token's user has been
        confirmed, or signed in). An open read transaction bound otherwise ends first."""
        if (dealership_id, user_id, role) == (self.dealership_id, self.user_id, self.role):
            return
        async with self._lock:
            await self._end_read()
            self._rebind(dealership_id, user_id, role)

    def _rebind(self, dealership_id: int | None, user_id: int | None, role: str | None) -> None:
        self.dealership_id, self.user_id, self.role = dealership_id, user_id, role
        if self._units is not None:
            self._units.info.update(self._info())

    async def bind_caller(
        self, dealership_id: int, *, user_id: int, role: str | None, session_id: uuid.UUID | None
    ) -> ConfirmedCaller | None:
        """Bind to a token's caller and open the request's read transaction with the
        statement that also confirms them (dealerdesk_bind_caller): the user's id,
        dealership, current role, its actions and whether the sign-in session is live - or
        None if the user or their dealership is not active."""
        async with self._lock:
            await self._end_read()
            self._rebind(dealership_id, user_id, role)
            read = self._read = await _ReadTransaction.begin(self._engine)
            started = time.perf_counter()
            row = await read.driver.fetchrow(_BIND_CALLER, dealership_id, user_id, role, session_id)
            note_statement(self._engine.sync_engine, _BIND_CALLER, time.perf_counter() - started)
            if row is None:
                return None
            found_user, found_dealership, found_role, actions, live, version = row
            return ConfirmedCaller(
                int(found_user),
                int(found_dealership),
                str(found_role),
                frozenset(actions or ()),
                bool(live),
                int(version),
            )

    async def bind_known_caller(
        self,
        dealership_id: int,
        *,
        user_id: int,
        role: str,
        session_id: uuid.UUID | None,
        permissions_version: int,
    ) -> bool:
        """Bind to a token's caller as an earlier `bind_caller` found them, and open the
        request's read transaction with the statement that confirms they still are
        (dealerdesk_bind_known_caller: the user and their dealership active, the user's role
        and the dealership's permissions version as found, the sign-in session live), in the
        round trip of BEGIN. False (and no transaction open) when they are not: call
        `bind_caller`."""
        async with self._lock:
            await self._end_read()
            self._rebind(dealership_id, user_id, role)
            check = _with_values(
                _BIND_KNOWN_CALLER, dealership_id, user_id, role, session_id, permissions_version
            )
            try:
                self._read = await _ReadTransaction.begin(self._engine, check, _BIND_KNOWN_CALLER)
            except asyncpg.PostgresError as exc:
                if exc.sqlstate != CALLER_CHANGED:
                    raise
                return False
            return True

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` after each committed unit of work (e.g. to clear loader caches)."""
        self._after_commit.append(callback)

    async def fetch(self, sql: str, *args: object) -> list[asyncpg.Record]:
        """A read sent through asyncpg itself, in the request's read transaction: the hot
        read paths (dataloaders) skip SQLAlchemy's statement building and result
        processing, which cost more than the query. Counted and timed like every statement
        (db/instrumentation.py)."""
        async with self._lock:
            driver = (await self._reading()).driver
            started = time.perf_counter()
            rows = await driver.fetch(sql, *args)
            note_statement(self._engine.sync_engine, sql, time.perf_counter() - started)
            return rows

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """Exclusive use of an ORM session in the request's read transaction (begun now if
        none is open); close() ends it."""
        async with self._lock:
            read = await self._reading()
            yield read.session(self._engine, self._info())

    async def transaction(
        self,
        work: Callable[[AsyncSession], Awaitable[T]],
        options: TxOptions = TxOptions(),  # noqa: B008 - frozen dataclass
    ) -> T:
        """Run a unit of work atomically through the transaction manager, after ending the
        read transaction (later reads begin a new one, and see what was committed)."""
        async with self._lock:
            await self._end_read()
            if self._units is None:
                self._units = tenant_session(
                    self._engine, self.dealership_id, user_id=self.user_id, role=self.role
                )
            result = await run_transaction(self._units, work, options)
        for callback in self._after_commit:
            callback()
        return result

    async def close(self) -> None:
        """End the read transaction (rolled back: only units of work write) and return the
        connection to the pool. Idempotent."""
        async with self._lock:
            await self._end_read()
            if self._units is not None:
                await self._units.close()
