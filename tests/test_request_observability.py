"""Request metrics, the request log line and tracing, through the real ASGI app: what /metrics
exposes, what each kind of request counts, what the log line holds and never holds."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.routing import Route

from db.engine import PoolConfig, create_engine, dispose
from db.instrumentation import pool_figures
from db.models.enums import Role
from schema.relay import to_global_id
from server.app import create_app
from server.config import Settings
from server.http import GraphQLEndpoint
from server.logs import JSONFormatter
from server.observe import (
    MULTIPROC_DIR,
    OTHER,
    REJECTED,
    RequestObserver,
    Tracing,
    tracing_from_environment,
    worker_metrics,
)
from tests.conftest import TEST_SECRET, GraphQLClient
from tests.factories import Factory, Tenant
from tests.helpers import live_server

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

FAMILIES = {
    "dealerdesk_graphql_requests": "counter",
    "dealerdesk_graphql_request_duration_seconds": "histogram",
    "dealerdesk_graphql_errors": "counter",
    "dealerdesk_create_deal_outcomes": "counter",
    "dealerdesk_sql_statements": "counter",
    "dealerdesk_sql_statement_duration_seconds": "histogram",
    "dealerdesk_sql_slow_statements": "counter",
    "dealerdesk_db_pool_connections": "gauge",
    "dealerdesk_db_transactions": "counter",
    "dealerdesk_db_transaction_retries": "counter",
}

CREATE = """
mutation ObsCreateDeal($input: CreateDealInput!) {
  createDeal(input: $input) { __typename }
}"""

LOGIN = """
mutation ObsLogin($input: LoginInput!) {
  login(input: $input) { __typename ... on LoginSuccess { accessToken } }
}"""


def parse(text: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[sample.name, frozenset(sample.labels.items())] = sample.value
    return samples


async def scrape(http: httpx.AsyncClient) -> Samples:
    response = await http.get("/metrics")
    assert response.status_code == 200
    return parse(response.text)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


@contextmanager
def request_log(caplog: pytest.LogCaptureFixture) -> Iterator[list[logging.LogRecord]]:
    """The request log's records, as they would be written."""
    with caplog.at_level(logging.INFO, logger="dealerdesk.request"):
        caplog.clear()
        records: list[logging.LogRecord] = []
        yield records
        records.extend(r for r in caplog.records if r.name == "dealerdesk.request")


def line(record: logging.LogRecord) -> dict[str, object]:
    formatted: dict[str, object] = json.loads(JSONFormatter().format(record))
    return formatted


def deal_input(tenant: Tenant, vehicle: int) -> dict[str, object]:
    return {
        "vehicleId": to_global_id("Vehicle", vehicle),
        "salespersonId": to_global_id("User", tenant.users[Role.SALESPERSON]),
        "customer": {
            "firstName": "Zebulon",
            "lastName": "Quixley",
            "email": "zebulon.quixley@example.com",
            "phone": "(614) 555-0199",
        },
    }


def endpoint_of(app: Starlette) -> GraphQLEndpoint:
    for route in app.routes:
        if isinstance(route, Route) and route.path == "/graphql":
            assert isinstance(route.endpoint, GraphQLEndpoint)
            return route.endpoint
    raise AssertionError("no /graphql route")


# --- /metrics ---------------------------------------------------------------------------------


async def test_metrics_expose_every_family(http: httpx.AsyncClient) -> None:
    response = await http.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    families = {f.name: f.type for f in text_string_to_metric_families(response.text)}
    for name, kind in FAMILIES.items():
        assert families.get(name) == kind, name
    samples = parse(response.text)
    for state in ("in_use", "idle", "waiting", "overflow"):
        assert ("dealerdesk_db_pool_connections", frozenset({("state", state)})) in samples
    for outcome in ("committed", "rolled_back", "timed_out"):
        assert ("dealerdesk_db_transactions_total", frozenset({("outcome", outcome)})) in samples


async def test_a_query_is_counted_by_operation_and_outcome(
    http: httpx.AsyncClient, client: GraphQLClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    before = await scrape(http)
    await client.data("query ObsViewer { viewer { role } }", token=tenant.token)
    await client.data("query ObsViewer { viewer { role } }", token=tenant.token)
    await client.data("{ __typename }")
    after = await scrape(http)
    requests = "dealerdesk_graphql_requests_total"
    assert delta(before, after, requests, operation="ObsViewer", outcome="ok") == 2
    assert delta(before, after, requests, operation="anonymous", outcome="ok") == 1
    durations = "dealerdesk_graphql_request_duration_seconds_count"
    assert delta(before, after, durations, operation="ObsViewer") == 2
    # Every statement of the requests is counted (the caller's check, the viewer's read).
    assert delta(before, after, "dealerdesk_sql_statements_total") >= 2


async def test_errors_are_counted_by_code_and_refusals_as_rejected(
    http: httpx.AsyncClient, client: GraphQLClient
) -> None:
    before = await scrape(http)
    # Executed, answered with an error: no token for a field that needs one.
    unauthenticated = await client.execute("query ObsNoToken { viewer { role } }")
    assert unauthenticated["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"  # type: ignore[index]
    # Refused before anything ran: a query limit, a syntax error, a bad token, a bad body.
    aliases = "query ObsAliases { " + " ".join(f"a{i}: __typename" for i in range(31)) + " }"
    assert (await client.post(aliases)).status_code == 200
    assert (await client.post("query ObsBroken {")).status_code == 200
    bad_token = await client.post("query ObsViewer { viewer { role } }", token="not-a-token")
    assert bad_token.status_code == 401
    not_json = await http.post(
        "/graphql", content=b"{", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 400
    after = await scrape(http)

    errors = "dealerdesk_graphql_errors_total"
    assert delta(before, after, errors, code="UNAUTHENTICATED") == 2
    assert delta(before, after, errors, code="MAX_ALIASES_EXCEEDED") == 1
    assert delta(before, after, errors, code="none") == 1  # graphql-core's syntax error
    assert delta(before, after, errors, code="BAD_REQUEST") == 1
    requests = "dealerdesk_graphql_requests_total"
    assert delta(before, after, requests, operation="ObsNoToken", outcome="graphql_error") == 1
    # Names first seen in refused requests are not admitted as labels, and requests refused
    # before their document was parsed have no name to count.
    assert delta(before, after, requests, operation="other", outcome="rejected") >= 4


async def test_create_deal_outcomes_and_units_of_work_are_counted(
    http: httpx.AsyncClient, client: GraphQLClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    vehicle = await factory.vehicle(tenant)
    before = await scrape(http)
    first = await client.data(CREATE, {"input": deal_input(tenant, vehicle)}, token=tenant.token)
    second = await client.data(CREATE, {"input": deal_input(tenant, vehicle)}, token=tenant.token)
    after = await scrape(http)
    assert first["createDeal"] == {"__typename": "CreateDealSuccess"}
    assert second["createDeal"] == {"__typename": "VehicleNotAvailableError"}

    outcomes = "dealerdesk_create_deal_outcomes_total"
    assert delta(before, after, outcomes, outcome="CreateDealSuccess") == 1
    assert delta(before, after, outcomes, outcome="VehicleNotAvailableError") == 1
    # A typed failure is an answer, not an error.
    requests = "dealerdesk_graphql_requests_total"
    assert delta(before, after, requests, operation="ObsCreateDeal", outcome="ok") == 2
    # The refused creation's unit of work was rolled back.
    transactions = "dealerdesk_db_transactions_total"
    assert delta(before, after, transactions, outcome="committed") >= 1
    assert delta(before, after, transactions, outcome="rolled_back") >= 1


async def test_the_pool_gauge_counts_callers_waiting_for_a_connection(database_url: str) -> None:
    engine = create_engine(PoolConfig(url=database_url, max_size=1, min_size=0))
    try:
        async with engine.connect():
            waiter = asyncio.create_task(engine.connect().start())
            await asyncio.sleep(0.2)
            assert pool_figures([engine]) == {"in_use": 1, "idle": 0, "waiting": 1, "overflow": 0}
        second = await waiter  # the first connection went back: the waiter has it now
        assert pool_figures([engine])["waiting"] == 0
        await second.close()
        assert pool_figures([engine]) == {"in_use": 0, "idle": 1, "waiting": 0, "overflow": 0}
    finally:
        await dispose(engine)


# --- the request log --------------------------------------------------------------------------


async def test_the_request_log_line(
    client: GraphQLClient, factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    tenant = await factory.tenant()
    vehicle = await factory.vehicle(tenant)
    with request_log(caplog) as records:
        response = await client.post(
            CREATE,
            {"input": deal_input(tenant, vehicle)},
            token=tenant.token,
            headers={"x-request-id": "obs-create-1"},
        )
    assert response.headers["x-request-id"] == "obs-create-1"
    (record,) = records
    entry = line(record)
    assert entry["message"] == "graphql request"
    assert entry["level"] == "info"
    assert entry["request_id"] == "obs-create-1"
    assert entry["dealership_id"] == tenant.dealership_id
    assert entry["user_id"] == tenant.users[Role.SALES_MANAGER]
    assert entry["operation"] == "ObsCreateDeal"
    assert entry["operation_type"] == "mutation"
    assert entry["outcome"] == "ok"
    assert entry["status"] == 200
    assert isinstance(entry["duration_ms"], float)
    assert entry["duration_ms"] > 0
    assert isinstance(entry["sql_statements"], int)
    assert entry["sql_statements"] >= 3
    assert isinstance(entry["sql_ms"], float)
    assert entry["sql_ms"] > 0
    written = json.dumps(entry)
    for secret in (tenant.token, "Zebulon", "Quixley", "zebulon.quixley", "555-0199", "5550199"):
        assert secret not in written
    assert "variables" not in entry
    assert "query" not in entry


async def test_a_sign_in_logs_neither_password_nor_email(
    client: GraphQLClient, factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    tenant = await factory.tenant()
    email = await factory.password(tenant, Role.FINANCE_MANAGER, "obs-Secret-pass-42")
    with request_log(caplog) as records:
        response = await client.post(
            LOGIN, {"input": {"email": email, "password": "obs-Secret-pass-42"}}
        )
    token = response.json()["data"]["login"]["accessToken"]
    (record,) = records
    entry = line(record)
    assert entry["operation"] == "ObsLogin"
    assert entry["outcome"] == "ok"
    # Who signed in, by id.
    assert entry["user_id"] == tenant.users[Role.FINANCE_MANAGER]
    assert entry["dealership_id"] == tenant.dealership_id
    written = json.dumps(entry)
    for secret in ("obs-Secret-pass-42", email, token):
        assert secret not in written


async def test_an_incoming_request_id_is_echoed_and_a_bad_one_replaced(
    client: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    with request_log(caplog) as records:
        kept = await client.post("{ __typename }", headers={"x-request-id": "obs-req-42"})
        replaced = await client.post("{ __typename }", headers={"x-request-id": "bad id; DROP"})
    assert kept.headers["x-request-id"] == "obs-req-42"
    assert replaced.headers["x-request-id"] != "bad id; DROP"
    assert [line(r)["request_id"] for r in records] == [
        "obs-req-42",
        replaced.headers["x-request-id"],
    ]


async def test_an_unexpected_failure_is_masked_logged_with_the_request_id_and_counted(
    http: httpx.AsyncClient,
    client: GraphQLClient,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(GraphQLEndpoint, "_execute", broken)
    before = await scrape(http)
    with caplog.at_level(logging.INFO):
        response = await client.post(
            "query ObsBoom { __typename }", headers={"x-request-id": "b-1"}
        )
    monkeypatch.undo()
    after = await scrape(http)
    assert response.status_code == 500
    assert response.json() == {
        "errors": [
            {
                "message": "Internal server error",
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "b-1"},
            }
        ]
    }
    (failure,) = [r for r in caplog.records if r.name == "dealerdesk.http"]
    assert failure.levelno == logging.ERROR
    assert line(failure)["request_id"] == "b-1"
    assert "secret internals" in line(failure)["exception"]  # type: ignore[operator]
    (request,) = [r for r in caplog.records if r.name == "dealerdesk.request"]
    assert (line(request)["outcome"], line(request)["status"]) == ("internal_error", 500)
    requests = "dealerdesk_graphql_requests_total"
    assert delta(before, after, requests, operation="other", outcome="internal_error") == 1
    assert (
        delta(before, after, "dealerdesk_graphql_errors_total", code="INTERNAL_SERVER_ERROR") == 1
    )


# --- label bounds -----------------------------------------------------------------------------


def test_operation_labels_are_bounded() -> None:
    observer = RequestObserver(max_operations=2)
    assert observer.operation_label("DealPage", "ok") == "DealPage"
    assert observer.operation_label("Made_Up", REJECTED) == OTHER  # refused: not admitted
    assert observer.operation_label("not a name", "ok") == OTHER
    assert observer.operation_label("x" * 65, "ok") == OTHER
    assert observer.operation_label("Vehicles", "graphql_error") == "Vehicles"
    assert observer.operation_label("Third", "ok") == OTHER  # over the bound
    assert observer.operation_label("DealPage", REJECTED) == "DealPage"  # known: kept
    assert observer.operation_label(None, "ok") == "anonymous"
    assert observer.operation_label(None, REJECTED, found=False) == OTHER  # never parsed


# --- tracing ----------------------------------------------------------------------------------


@dataclass
class FakeSpan:
    name: str = "graphql"
    attributes: dict[str, object] = field(default_factory=dict)
    failed: bool = False

    def set_attribute(self, key: str, value: str | int) -> None:
        self.attributes[key] = value

    def update_name(self, name: str) -> None:
        self.name = name


async def test_a_span_per_request_when_tracing_is_on(
    app: Starlette,
    client: GraphQLClient,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spans: list[FakeSpan] = []

    @contextmanager
    def start() -> Iterator[FakeSpan]:
        spans.append(FakeSpan())
        yield spans[-1]

    def fail(span: object) -> None:
        assert isinstance(span, FakeSpan)
        span.failed = True

    def begin() -> AbstractContextManager[FakeSpan]:
        return start()

    tracing = Tracing(start=begin, fail=fail, shutdown=lambda: None)
    monkeypatch.setattr(endpoint_of(app), "observer", RequestObserver(tracing))
    tenant = await factory.tenant()
    await client.data("query ObsTraced { viewer { role } }", token=tenant.token)
    (span,) = spans
    assert span.name == "query ObsTraced"
    assert span.attributes == {
        "graphql.operation.name": "ObsTraced",
        "graphql.operation.type": "query",
        "dealerdesk.dealership_id": tenant.dealership_id,
        "dealerdesk.outcome": "ok",
        "http.response.status_code": 200,
    }
    assert not span.failed


def test_tracing_is_off_without_an_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    assert tracing_from_environment() is None


def test_tracing_without_the_packages_warns_and_stays_off(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk.trace", None)
    with caplog.at_level(logging.WARNING, logger="dealerdesk.request"):
        assert tracing_from_environment() is None
    assert "dealerdesk[otel]" in caplog.text


class _Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, bytes]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", 0))
        self.received.append((self.path, self.rfile.read(length)))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


async def test_spans_reach_an_otlp_collector(
    settings: Settings, database_url: str, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("opentelemetry.sdk.trace")
    pytest.importorskip("opentelemetry.exporter.otlp.proto.http")
    collector = HTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=collector.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{collector.server_port}")
    tenant = await factory.tenant()
    try:
        application = create_app(settings, database_url)
        async with LifespanManager(application):
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                response = await http.post(
                    "/graphql",
                    json={"query": "query ObsExported { viewer { role } }"},
                    headers={"authorization": f"Bearer {tenant.token}"},
                )
                assert response.status_code == 200
        # Leaving the lifespan shut the provider down, which flushed the span.
    finally:
        collector.shutdown()
        collector.server_close()
    ((path, body),) = _Collector.received
    assert path == "/v1/traces"
    assert b"ObsExported" in body
    assert b"graphql.operation.name" in body


# --- several workers --------------------------------------------------------------------------


def test_worker_metrics_folder_is_fresh_and_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MULTIPROC_DIR, raising=False)
    with worker_metrics(1):
        assert MULTIPROC_DIR not in os.environ
    with worker_metrics(2):
        folder = Path(os.environ[MULTIPROC_DIR])
        assert folder.is_dir()
        assert not any(folder.iterdir())
        (folder / "counter_1.db").write_bytes(b"")
    assert not folder.exists()
    assert MULTIPROC_DIR not in os.environ


def test_several_workers_report_one_sum(database_url: str) -> None:
    with live_server(database_url, TEST_SECRET, "--workers", "2") as server:
        for _ in range(6):
            # A connection each, so the requests may go to either worker.
            response = httpx.post(
                f"{server.url}/graphql", json={"query": "query ObsWorkers { __typename }"}
            )
            assert response.status_code == 200
        # Each worker writes its pool figures every second; the gauge sums the live ones.
        deadline = time.monotonic() + 10
        while True:
            text = httpx.get(f"{server.url}/metrics").text
            samples = parse(text)
            if value(samples, "dealerdesk_db_pool_connections", state="idle") >= 2:
                break  # both workers' pools (DB_POOL_MIN connections each)
            assert time.monotonic() < deadline, text
            time.sleep(0.2)
    requests = "dealerdesk_graphql_requests_total"
    assert value(samples, requests, operation="ObsWorkers", outcome="ok") == 6
    assert value(samples, "dealerdesk_db_pool_connections", state="waiting") == 0
    families = {f.name for f in text_string_to_metric_families(text)}
    # Families with labels appear once a value has been counted in some worker.
    assert {
        "dealerdesk_graphql_requests",
        "dealerdesk_graphql_request_duration_seconds",
        "dealerdesk_sql_statements",
        "dealerdesk_sql_statement_duration_seconds",
        "dealerdesk_db_transactions",
        "dealerdesk_db_pool_connections",
    } <= families


def test_log_lines_are_json_whatever_the_extras() -> None:
    record = logging.getLogger("dealerdesk.test").makeRecord(
        "dealerdesk.test",
        logging.INFO,
        __file__,
        1,
        "odd extras",
        None,
        None,
        extra={"path": ("deal", 0), "by_id": {1: "a"}, "big": 2**70, "when": object()},
    )
    entry = json.loads(JSONFormatter().format(record))
    assert entry["message"] == "odd extras"
    assert entry["path"] == ["deal", 0]
    assert entry["by_id"] == {"1": "a"}
    assert entry["big"] == 2**70
    assert entry["when"].startswith("<object object")
