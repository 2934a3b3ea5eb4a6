"""Tenant-bound database sessions.

Every transaction opened by a TenantDB first runs, in the same round trip, `SET LOCAL ROLE`
to the application role (which row-level security applies to, even when DATABASE_URL names
a superuser) and sets `app.dealership_id` for the policies, with `app.user_id` and `app.role`
of the signed-in caller (a salesperson's policies keep them to their own deals). All are
transaction-local, so a pooled connection carries nothing over to the next request.

Without a caller (sign-in, jobs, tests) `app.user_id` and `app.role` are empty: such a
session sees what the dealership binding allows, as before roles existed.

A request with a token binds its read transaction with `bind_caller`, whose binding
statement also confirms the caller (migration 0006), so the check costs no round trip.
The binding statements are sent as they are (`exec_driver_sql`): they run at the start of
every transaction, and SQLAlchemy's statement building would cost more than they do.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import NamedTuple, TypeVar

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from db.instrumentation import note_statement
from db.transactions import TX_TIMEOUT_KEY, TxOptions, run_transaction

T = TypeVar("T")

APP_ROLE = "dealerdesk_app"
TENANT_SETTING = "app.dealership_id"
DEALERSHIP_KEY = "dealership_id"
USER_KEY = "user_id"
ROLE_KEY = "app_role"

# session.info: the sign-in session (or None) of the caller the next transaction confirms.
CALLER_KEY = "confirm_caller"
# session.info: what that confirmation found (a row of dealerdesk_bind_caller, or None).
CALLER_ROW_KEY = "confirmed_caller"
# In the caller check's SQL, so that statement counts can tell it from data statements.
CALLER_CHECK = "/* caller check */"

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
    " session_live FROM dealerdesk_bind_caller($1, $2, $3, $4)"
)


class ConfirmedCaller(NamedTuple):
    """A row of dealerdesk_bind_caller."""

    user_id: int
    dealership_id: int
    role: str
    actions: frozenset[str]
    session_live: bool


class TenantSession(Session):
    """The synchronous half of every tenant-bound AsyncSession; see _bind_tenant."""


@event.listens_for(TenantSession, "after_begin")
def _bind_tenant(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    if transaction.nested:
        return  # a SAVEPOINT inside a transaction that is already bound
    info = session.info
    dealership = info.get(DEALERSHIP_KEY)
    user = info.get(USER_KEY)
    timeout_ms = info.get(TX_TIMEOUT_KEY)
    if CALLER_KEY in info and timeout_ms is None:
        row = connection.exec_driver_sql(
            _BIND_CALLER, (dealership, user, info.get(ROLE_KEY), info[CALLER_KEY])
        ).first()
        info[CALLER_ROW_KEY] = None
        if row is not None:
            user_id, dealership_id, role, actions, live = row
            info[CALLER_ROW_KEY] = ConfirmedCaller(
                int(user_id), int(dealership_id), str(role), frozenset(actions or ()), bool(live)
            )
        return
    params: tuple[str, ...] = (
        APP_ROLE,
        "" if dealership is None else str(dealership),
        "" if user is None else str(user),
        str(info.get(ROLE_KEY) or ""),
    )
    if timeout_ms is None:
        connection.exec_driver_sql(_BIND_READ, params)
    else:
        connection.exec_driver_sql(_BIND_UNIT, (*params, str(timeout_ms)))


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


class TenantDB:
    """One request's (or one job's) database: a single AsyncSession bound to one dealership.

    GraphQL resolves sibling fields concurrently, and an AsyncSession must never be used by
    two coroutines at once, so every use goes through `session()` (or `transaction()`),
    which holds a lock for its duration.
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
        self._session = tenant_session(engine, dealership_id, user_id=user_id, role=role)
        self._lock = asyncio.Lock()
        self._after_commit: list[Callable[[], None]] = []
        # The asyncpg connection of the open read transaction (see fetch).
        self._driver: asyncpg.Connection | None = None

    async def bind(
        self, dealership_id: int | None, *, user_id: int | None, role: str | None
    ) -> None:
        """Bind later transactions to another caller (e.g. once a token's user has been
        confirmed, or signed in). An open read transaction bound otherwise ends first."""
        if (dealership_id, user_id, role) == (self.dealership_id, self.user_id, self.role):
            return
        async with self._lock:
            await self._session.close()
            self._driver = None
            self.dealership_id, self.user_id, self.role = dealership_id, user_id, role
            self._session.info[DEALERSHIP_KEY] = dealership_id
            self._session.info[USER_KEY] = user_id
            self._session.info[ROLE_KEY] = role

    async def bind_caller(
        self, dealership_id: int, *, user_id: int, role: str | None, session_id: uuid.UUID | None
    ) -> ConfirmedCaller | None:
        """Bind to a token's caller and open the request's read transaction with the
        statement that also confirms them (dealerdesk_bind_caller): the user's id,
        dealership, current role, its actions and whether the sign-in session is live - or
        None if the user or their dealership is not active."""
        async with self._lock:
            await self._session.close()
            self._driver = None
            self.dealership_id, self.user_id, self.role = dealership_id, user_id, role
            info = self._session.info
            info[DEALERSHIP_KEY] = dealership_id
            info[USER_KEY] = user_id
            info[ROLE_KEY] = role
            info[CALLER_KEY] = session_id
            try:
                await self._session.connection()  # begins: _bind_tenant runs the check
            finally:
                info.pop(CALLER_KEY, None)
            found = info.pop(CALLER_ROW_KEY, None)
            assert found is None or isinstance(found, ConfirmedCaller)
            return found

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` after each committed unit of work (e.g. to clear loader caches)."""
        self._after_commit.append(callback)

    async def fetch(self, sql: str, *args: object) -> list[asyncpg.Record]:
        """A read sent through asyncpg itself, in the request's read transaction (bound like
        every other one): the hot read paths (dataloaders, the caller check) skip
        SQLAlchemy's statement building and result processing, which cost more than the
        query. Counted and timed like every statement (db/instrumentation.py)."""
        async with self._lock:
            driver = self._driver
            if driver is None:
                connection = await self._session.connection()  # begins and binds if needed
                raw = await connection.get_raw_connection()
                driver = raw.driver_connection
                assert isinstance(driver, asyncpg.Connection)
                self._driver = driver
            started = time.perf_counter()
            rows = await driver.fetch(sql, *args)
            note_statement(self._engine.sync_engine, sql, time.perf_counter() - started)
            return rows

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """Exclusive use of the session for reads. The first use opens the request's read
        transaction; close() ends it."""
        async with self._lock:
            yield self._session

    async def transaction(
        self,
        work: Callable[[AsyncSession], Awaitable[T]],
        options: TxOptions = TxOptions(),  # noqa: B008 - frozen dataclass
    ) -> T:
        """Run a unit of work atomically through the transaction manager."""
        async with self._lock:
            self._driver = None
            try:
                result = await run_transaction(self._session, work, options)
            finally:
                self._driver = None
        for callback in self._after_commit:
            callback()
        return result

    async def close(self) -> None:
        """End the read transaction (rolled back: only units of work write) and return the
        connection to the pool. Idempotent."""
        async with self._lock:
            self._driver = None
            await self._session.close()
