"""The one way to run a unit of work: isolation level, a deadline enforced in PostgreSQL and
in Python, and bounded retries with exponential backoff and jitter on transient failures."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from db.errors import PermissionDenied, TransactionTimeout
from db.instrumentation import COMMITTED, ROLLED_BACK, TIMED_OUT, TRANSACTION_RETRIES

log = logging.getLogger("dealerdesk.transactions")

T = TypeVar("T")

SERIALIZATION_FAILURE = "40001"
DEADLOCK_DETECTED = "40P01"
QUERY_CANCELED = "57014"  # statement_timeout
LOCK_NOT_AVAILABLE = "55P03"  # lock_timeout
IDLE_IN_TX_TIMEOUT = "25P03"
INSUFFICIENT_PRIVILEGE = "42501"
RLS_REFUSAL = "new row violates row-level security policy"

TX_TIMEOUT_KEY = "tx_timeout_ms"


class Isolation(StrEnum):
    READ_COMMITTED = "READ COMMITTED"
    REPEATABLE_READ = "REPEATABLE READ"
    SERIALIZABLE = "SERIALIZABLE"


@dataclass(frozen=True)
class TxOptions:
    isolation: Isolation = Isolation.READ_COMMITTED
    timeout: float = 10.0  # seconds, for the whole attempt including commit
    max_attempts: int = 5
    backoff_base: float = 0.01
    backoff_max: float = 0.5


class CommitOutcomeUnknown(Exception):
    """The connection died during COMMIT: the work may or may not have been saved, so it is
    not retried (a retry could apply it twice)."""


def sqlstate(exc: BaseException) -> str | None:
    if isinstance(exc, DBAPIError):
        state = getattr(exc.orig, "sqlstate", None)
        return state if isinstance(state, str) else None
    return None


def transient_reason(exc: BaseException) -> str | None:
    """Why a failed attempt may succeed if run again, or None if it would fail again."""
    state = sqlstate(exc)
    if state == SERIALIZATION_FAILURE:
        return "serialization_failure"
    if state == DEADLOCK_DETECTED:
        return "deadlock"
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return "connection_lost"
    return None


def backoff_delay(attempt: int, options: TxOptions) -> float:
    """Full jitter: uniform in [0, min(max, base * 2^attempt)], which spreads racing retries."""
    ceiling = min(options.backoff_max, options.backoff_base * (2**attempt))
    return random.uniform(0, ceiling)  # noqa: S311 - jitter, not cryptography


async def run_transaction(
    session: AsyncSession,
    work: Callable[[AsyncSession], Awaitable[T]],
    options: TxOptions = TxOptions(),
) -> T:
    """Run `work` in its own transaction on `session` and commit, retrying transient
    failures. `work` must be safe to run again from the start: it sees a fresh transaction
    each attempt and must not keep state from a failed one."""
    if session.in_transaction():
        # Reads made earlier in the request end here; the unit of work starts clean.
        await session.commit()
    attempt = 0
    while True:
        attempt += 1
        try:
            return await _attempt(session, work, options)
        except Exception as exc:
            reason = transient_reason(exc)
            if reason is None or attempt >= options.max_attempts:
                raise
            TRANSACTION_RETRIES.labels(reason).inc()
            delay = backoff_delay(attempt, options)
            log.info("retrying unit of work", extra={"reason": reason, "attempt": attempt})
            await asyncio.sleep(delay)


async def _attempt(
    session: AsyncSession, work: Callable[[AsyncSession], Awaitable[T]], options: TxOptions
) -> T:
    # PostgreSQL 15 has no transaction_timeout: each statement gets the whole budget as its
    # statement_timeout (set in the transaction by the tenant binding), and Python bounds
    # the attempt as a whole.
    session.info[TX_TIMEOUT_KEY] = int(options.timeout * 1000)
    committing = False
    try:
        async with asyncio.timeout(options.timeout):
            await session.connection(execution_options={"isolation_level": options.isolation})
            result = await work(session)
            committing = True
            await session.commit()
    except TimeoutError:
        await _abandon(session)
        TIMED_OUT.inc()
        raise TransactionTimeout(options.timeout) from None
    except BaseException as exc:
        await _abandon(session)
        ROLLED_BACK.inc()
        if committing and transient_reason(exc) == "connection_lost":
            raise CommitOutcomeUnknown("connection lost during COMMIT") from exc
        if sqlstate(exc) in {QUERY_CANCELED, LOCK_NOT_AVAILABLE, IDLE_IN_TX_TIMEOUT}:
            raise TransactionTimeout(options.timeout) from exc
        if sqlstate(exc) == INSUFFICIENT_PRIVILEGE and RLS_REFUSAL in str(exc):
            # A row the caller's policies do not let them write (e.g. a salesperson giving
            # a deal to someone else): the database's refusal is a permission refusal.
            raise PermissionDenied("you may not make this change") from exc
        raise
    finally:
        session.info.pop(TX_TIMEOUT_KEY, None)
    COMMITTED.inc()
    return result


async def _abandon(session: AsyncSession) -> None:
    """Roll back; if the connection is unusable (for example a query was cancelled midway),
    drop it from the pool rather than hand a confused connection to the next request."""
    try:
        await asyncio.shield(session.rollback())
    except Exception:
        log.warning("rollback failed; invalidating the connection", exc_info=True)
        try:
            await session.invalidate()
        except Exception:
            log.exception("could not invalidate the connection")
