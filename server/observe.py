"""What each GraphQL request did: Prometheus metrics, one JSON log line, and an OpenTelemetry
span when tracing is configured.

Cheap by construction (a few microseconds a request): each metric child is bound once per
distinct label value and kept, nothing is formatted for a logger that is off, and without
tracing no OpenTelemetry code is imported or run. Label values are bounded: operation names
must look like GraphQL names, at most `max_operations` of them per process (then "other"),
and a name is only admitted by a request that got past validation.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import Token
from dataclasses import dataclass, field
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.registry import REGISTRY

from db.instrumentation import (
    POOL_COLLECTOR,
    POOL_STATES,
    StatementStats,
    current_stats,
    pool_figures,
)

log = logging.getLogger("dealerdesk.request")

REQUESTS = Counter(
    "dealerdesk_graphql_requests_total",
    "GraphQL requests by operation name and outcome",
    ["operation", "outcome"],
)
DURATION = Histogram(
    "dealerdesk_graphql_request_duration_seconds",
    "GraphQL request duration, from reading the request to the response built",
    ["operation"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
ERRORS = Counter(
    "dealerdesk_graphql_errors_total", "Errors in GraphQL responses by extensions.code", ["code"]
)

# Outcomes, from best to worst (a batch takes its worst operation's).
OK = "ok"
GRAPHQL_ERROR = "graphql_error"  # executed; the response has errors (refusals, not found...)
REJECTED = "rejected"  # nothing executed: bad request, bad token, parse/validation/limits
INTERNAL_ERROR = "internal_error"  # a bug or an outage, masked for the client
_RANK = {OK: 0, GRAPHQL_ERROR: 1, REJECTED: 2, INTERNAL_ERROR: 3}

ANONYMOUS = "anonymous"
OTHER = "other"
BATCH = "batch"
NO_CODE = "none"  # an error without extensions.code (graphql-core's syntax and validation)

_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")
_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")


def worse(current: str | None, outcome: str) -> str:
    return outcome if current is None or _RANK[outcome] > _RANK[current] else current


@dataclass(slots=True)
class RequestRecord:
    """What one request did, filled in by the endpoint as it learns it."""

    request_id: str
    started: float
    stats: StatementStats
    token: Token[StatementStats | None]
    operation_name: str | None = None
    operation_type: str | None = None
    dealership_id: int | None = None
    user_id: int | None = None
    outcome: str | None = None  # stays None for what is not a GraphQL request (GraphiQL)
    status: int = 200
    error_codes: list[str] = field(default_factory=list)

    def note(self, outcome: str, codes: Iterable[str] = ()) -> None:
        self.outcome = worse(self.outcome, outcome)
        self.error_codes += codes


class Span(Protocol):
    def set_attribute(self, key: str, value: str | int) -> None: ...
    def update_name(self, name: str) -> None: ...


@dataclass(frozen=True)
class Tracing:
    """The little of OpenTelemetry the endpoint uses (see tracing_from_environment)."""

    start: Callable[[], AbstractContextManager[Span]]
    fail: Callable[[Span], None]
    shutdown: Callable[[], None]


class RequestObserver:
    def __init__(self, tracing: Tracing | None = None, max_operations: int = 200) -> None:
        self.tracing = tracing
        self.max_operations = max_operations
        self._operations: dict[str, str] = {}
        self._children: dict[tuple[str, str], tuple[Counter, Histogram]] = {}
        self._errors: dict[str, Counter] = {}

    def start(self, request_id: str) -> RequestRecord:
        """Begin a request: its SQL statements are tallied from here (db/instrumentation.py)."""
        stats = StatementStats()
        return RequestRecord(request_id, time.perf_counter(), stats, current_stats.set(stats))

    def finish(self, record: RequestRecord) -> None:
        elapsed = time.perf_counter() - record.started
        current_stats.reset(record.token)
        outcome = record.outcome
        if outcome is None:
            return
        operation = self.operation_label(
            record.operation_name, outcome, found=record.operation_type is not None
        )
        children = self._children.get((operation, outcome))
        if children is None:
            children = self._children[operation, outcome] = (
                REQUESTS.labels(operation, outcome),
                DURATION.labels(operation),
            )
        children[0].inc()
        children[1].observe(elapsed)
        for code in record.error_codes:
            counter = self._errors.get(code)
            if counter is None:
                counter = self._error_counter(code)
            counter.inc()
        if log.isEnabledFor(logging.INFO):
            self._log(record, elapsed)

    def operation_label(self, name: str | None, outcome: str, *, found: bool = True) -> str:
        """The operation's name as a label value. `found`: the document was parsed and the
        operation found in it; an unnamed one is then "anonymous", else unknown ("other")."""
        if name is None:
            return ANONYMOUS if found else OTHER
        label = self._operations.get(name)
        if label is not None:
            return label
        if (
            outcome == REJECTED
            or len(self._operations) >= self.max_operations
            or not _NAME.fullmatch(name)
        ):
            return OTHER  # not remembered: a flood of made-up names must not grow anything
        self._operations[name] = name
        return name

    def _error_counter(self, code: str) -> Counter:
        # Codes are the server's own constants, but a bound costs nothing.
        known = code == NO_CODE or _CODE.fullmatch(code)
        label = code if known and len(self._errors) < 200 else OTHER
        counter = ERRORS.labels(label)
        if label == code:
            self._errors[code] = counter
        return counter

    @staticmethod
    def _log(record: RequestRecord, elapsed: float) -> None:
        # Identifiers and figures only: never variables, the query text, headers or tokens.
        entry: dict[str, object] = {
            "request_id": record.request_id,
            "operation": shown_name(record),
            "operation_type": record.operation_type,
            "dealership_id": record.dealership_id,
            "user_id": record.user_id,
            "outcome": record.outcome,
            "status": record.status,
            "duration_ms": round(elapsed * 1000, 2),
            "sql_statements": record.stats.count,
            "sql_ms": round(record.stats.seconds * 1000, 2),
        }
        if record.error_codes:
            entry["error_codes"] = record.error_codes
        log.info("graphql request", extra=entry)

    def annotate(self, span: Span, record: RequestRecord) -> None:
        """The span's name and attributes, once the request is answered."""
        assert self.tracing is not None
        operation = shown_name(record)
        if operation is not None:
            span.update_name(f"{record.operation_type or 'graphql'} {operation}")
            span.set_attribute("graphql.operation.name", operation)
        if record.operation_type is not None:
            span.set_attribute("graphql.operation.type", record.operation_type)
        if record.dealership_id is not None:
            span.set_attribute("dealerdesk.dealership_id", record.dealership_id)
        span.set_attribute("dealerdesk.outcome", record.outcome or OK)
        span.set_attribute("http.response.status_code", record.status)
        if record.outcome == INTERNAL_ERROR:
            self.tracing.fail(span)


def shown_name(record: RequestRecord) -> str | None:
    """The operation's name for the log line and the span: None when unknown (the request
    was refused before its document was parsed), "anonymous" when it has none, "other" when
    the name given is not a GraphQL name."""
    name = record.operation_name
    if name is None:
        return None if record.operation_type is None else ANONYMOUS
    return name if _NAME.fullmatch(name) else OTHER


def tracing_from_environment() -> Tracing | None:
    """OpenTelemetry tracing to OTLP over HTTP when OTEL_EXPORTER_OTLP_ENDPOINT (or its
    traces variant) is set and the `otel` extra is installed; otherwise None. The exporter
    reads the other OTEL_* variables (headers, timeouts, OTEL_SERVICE_NAME) itself."""
    if not (
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    ):
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.trace import SpanKind, StatusCode
    except ImportError:
        log.warning(
            "OTEL_EXPORTER_OTLP_ENDPOINT is set but OpenTelemetry is not installed "
            "(pip install 'dealerdesk[otel]'): tracing is off"
        )
        return None
    provider = TracerProvider(resource=Resource.create({"service.name": "dealerdesk"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    tracer = provider.get_tracer("dealerdesk")
    return Tracing(
        start=lambda: tracer.start_as_current_span("graphql", kind=SpanKind.SERVER),
        fail=lambda span: span.set_status(StatusCode.ERROR),  # type: ignore[attr-defined]
        shutdown=provider.shutdown,
    )


# --- several worker processes (`dealerdesk serve --workers N`) ------------------------------

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_DIR))


@contextmanager
def worker_metrics(workers: int) -> Iterator[None]:
    """Worker processes each count in files of one shared folder, which /metrics adds up
    (prometheus-client's multiprocess mode): a fresh folder for this run, removed at exit.
    Must be entered before the workers start. An operator's own PROMETHEUS_MULTIPROC_DIR
    is used as it is (empty it between runs)."""
    if workers <= 1 or multiprocess():
        yield
        return
    with tempfile.TemporaryDirectory(prefix="dealerdesk-metrics-") as folder:
        os.environ[MULTIPROC_DIR] = folder
        try:
            yield
        finally:
            os.environ.pop(MULTIPROC_DIR, None)


def metrics_registry() -> CollectorRegistry:
    """What GET /metrics reports: this process's registry, or every worker's files summed."""
    if not multiprocess():
        return REGISTRY
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


async def sample_pool(interval: float = 1.0) -> None:
    """In multiprocess mode the pool gauge cannot be read at scrape time (the scrape reaches
    one worker): each worker writes its pool figures every `interval`, and /metrics sums the
    live workers' ("livesum"). Runs until cancelled."""
    gauge = Gauge(
        "dealerdesk_db_pool_connections",
        "Pooled connections in use and idle, overflow, and callers waiting for one",
        ["state"],
        multiprocess_mode="livesum",
        registry=None,  # the single-process PoolCollector has this name in the default one
    )
    children = {state: gauge.labels(state) for state in POOL_STATES}
    while True:
        for state, value in pool_figures(POOL_COLLECTOR.engines).items():
            children[state].set(value)
        await asyncio.sleep(interval)


def worker_exited() -> None:
    """Drop this worker's live gauges from the sums (a worker that crashes keeps its last
    pool figures in them until the server restarts)."""
    from prometheus_client.multiprocess import mark_process_dead

    mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
