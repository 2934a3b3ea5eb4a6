"""Timing of every SQL statement, the slow-statement log, and database metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import REGISTRY, Collector
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, ExecutionContext
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import AsyncAdaptedQueuePool, PoolProxiedConnection, QueuePool

log = logging.getLogger("dealerdesk.sql")

SQL_STATEMENTS = Counter("dealerdesk_sql_statements_total", "SQL statements executed")
SQL_DURATION = Histogram(
    "dealerdesk_sql_statement_duration_seconds",
    "SQL statement duration",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
SQL_SLOW = Counter("dealerdesk_sql_slow_statements_total", "Statements above the slow threshold")
TRANSACTIONS = Counter("dealerdesk_db_transactions_total", "Units of work by outcome", ["outcome"])
TRANSACTION_RETRIES = Counter(
    "dealerdesk_db_transaction_retries_total", "Units of work retried, by reason", ["reason"]
)
# Bound once: a unit of work then pays for an increment, not for a label lookup under a lock.
# Binding them here also shows every outcome at 0 from the first scrape.
COMMITTED = TRANSACTIONS.labels("committed")
ROLLED_BACK = TRANSACTIONS.labels("rolled_back")
TIMED_OUT = TRANSACTIONS.labels("timed_out")


@dataclass
class StatementStats:
    """Per-request tally, read by the request logger."""

    count: int = 0
    seconds: float = 0.0


current_stats: ContextVar[StatementStats | None] = ContextVar("sql_stats", default=None)

_START_KEY = "dealerdesk_started"

StatementListener = Callable[[str], None]
# Per engine: the slow-statement threshold, and listeners of statements sent past SQLAlchemy
# (the asyncpg fast path of TenantDB.fetch), so they are counted like every other one.
_thresholds: dict[int, float] = {}
_listeners: dict[int, list[StatementListener]] = {}


def _observe(statement: str, elapsed: float, threshold: float) -> None:
    SQL_STATEMENTS.inc()
    SQL_DURATION.observe(elapsed)
    stats = current_stats.get()
    if stats is not None:
        stats.count += 1
        stats.seconds += elapsed
    if elapsed >= threshold:
        SQL_SLOW.inc()
        log.warning(
            "slow statement",
            extra={"duration_ms": round(elapsed * 1000, 1), "statement": statement[:500]},
        )


def note_statement(engine: Engine, statement: str, elapsed: float) -> None:
    """Count and time a statement sent on the engine's connection without SQLAlchemy."""
    _observe(statement, elapsed, _thresholds.get(id(engine), float("inf")))
    for listener in _listeners.get(id(engine), ()):
        listener(statement)


def listen_raw(engine: Engine, listener: StatementListener) -> None:
    _listeners.setdefault(id(engine), []).append(listener)


def unlisten_raw(engine: Engine, listener: StatementListener) -> None:
    _listeners.get(id(engine), []).remove(listener)


def instrument(engine: AsyncEngine, slow_threshold_ms: int) -> None:
    """Attach statement timing to an engine. Parameters are never logged: they carry
    customers' personal data."""
    sync_engine: Engine = engine.sync_engine
    threshold = slow_threshold_ms / 1000.0
    _thresholds[id(sync_engine)] = threshold

    @event.listens_for(sync_engine, "before_cursor_execute")
    def _before(
        conn: Connection,
        cursor: object,
        statement: str,
        parameters: object,
        context: ExecutionContext | None,
        executemany: bool,
    ) -> None:
        conn.info.setdefault(_START_KEY, []).append(time.perf_counter())

    @event.listens_for(sync_engine, "after_cursor_execute")
    def _after(
        conn: Connection,
        cursor: object,
        statement: str,
        parameters: object,
        context: ExecutionContext | None,
        executemany: bool,
    ) -> None:
        elapsed = time.perf_counter() - conn.info[_START_KEY].pop()
        _observe(statement, elapsed, threshold)

    @event.listens_for(sync_engine, "handle_error")
    def _error(context: object) -> None:
        conn = getattr(context, "connection", None)
        if conn is not None and conn.info.get(_START_KEY):
            conn.info[_START_KEY].pop()


class CountingQueuePool(AsyncAdaptedQueuePool):
    """The engine's pool, counting the checkouts in progress.

    A checkout is synchronous while a connection is free: the event loop cannot serve a
    scrape in the middle of it. So a scrape sees a checkout in progress only while its caller
    is suspended in it: waiting for a connection to be returned (the pool is exhausted),
    opening a new one, or pre-pinging it. That is the `waiting` figure of the pool gauge."""

    checkouts_in_progress = 0

    def connect(self) -> PoolProxiedConnection:
        self.checkouts_in_progress += 1
        try:
            return super().connect()
        finally:
            self.checkouts_in_progress -= 1


POOL_STATES = ("in_use", "idle", "waiting", "overflow")


def pool_figures(engines: Iterable[AsyncEngine]) -> dict[str, int]:
    """Connections in use and idle, callers waiting for one, and overflow, over the engines."""
    figures = dict.fromkeys(POOL_STATES, 0)
    for engine in engines:
        pool = engine.sync_engine.pool
        if isinstance(pool, QueuePool):
            figures["in_use"] += pool.checkedout()
            figures["idle"] += pool.checkedin()
            figures["overflow"] += max(pool.overflow(), 0)
        if isinstance(pool, CountingQueuePool):
            figures["waiting"] += pool.checkouts_in_progress
    return figures


class PoolCollector(Collector):
    """Reports the pool's connections at scrape time instead of tracking every checkout."""

    def __init__(self) -> None:
        self.engines: list[AsyncEngine] = []

    def collect(self) -> Iterable[Metric]:
        gauge = GaugeMetricFamily(
            "dealerdesk_db_pool_connections",
            "Pooled connections in use and idle, overflow, and callers waiting for one",
            labels=["state"],
        )
        for state, value in pool_figures(self.engines).items():
            gauge.add_metric([state], value)
        yield gauge


POOL_COLLECTOR = PoolCollector()
REGISTRY.register(POOL_COLLECTOR)
