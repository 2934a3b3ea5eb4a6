"""No tenant setting leaks from one request to the next, and no dataloader cache serves one
request's rows to another.

A second app, configured with a pool of ONE database connection, takes thousands of
interleaved requests of dealership A, dealership B and anonymous callers (reads through
the dataloaders, writes, refused cross-tenant writes, errors). Each answer must belong to
its caller; every time the connection is handed out it must carry no dealership and no
role from the previous request; and afterwards the connection, outside any transaction, is
back to the connecting user with no app.dealership_id.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only
from starlette.applications import Starlette

import server.http
from db.models.enums import Role
from db.tenant import APP_ROLE, TENANT_SETTING
from resolvers.loaders import Loaders
from schema.relay import to_global_id
from server.app import create_app
from server.config import Environment, Settings
from tests import helpers
from tests.conftest import TEST_SECRET, GraphQLClient
from tests.factories import Factory, Tenant

REQUESTS = 3000
CONCURRENCY = 16

STATE_SQL = (
    "SELECT pg_backend_pid() AS pid, current_user AS role, session_user AS login, "
    f"current_setting('{TENANT_SETTING}', true) AS dealership"
)


@dataclass
class Side:
    """One dealership of the storm: its tenant, marker and records."""

    tenant: Tenant
    marker: str
    customers: list[str] = field(default_factory=list)
    deals: list[str] = field(default_factory=list)

    @property
    def token(self) -> str:
        return self.tenant.tokens[Role.ADMIN]


@dataclass
class Checkouts:
    """What the pooled connection carried each time it was handed out."""

    seen: list[dict[str, object]] = field(default_factory=list)


@pytest.fixture(scope="module")
async def one_connection(
    database_url: str,
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient, Checkouts]]:
    """The real app with a pool of one connection, recording the connection's state at
    every checkout (outside any transaction: asyncpg runs it on its own)."""
    one = Settings(
        app_env=Environment.TEST,
        database_url=database_url,
        auth_token_secret=TEST_SECRET,
        db_pool_max=1,
        db_pool_min=1,
        # Not replaced for idling during the run: the same connection throughout.
        db_idle_timeout=600_000,
    )
    app = create_app(one, database_url)
    checkouts = Checkouts()
    async with LifespanManager(app):
        engine: AsyncEngine = app.state.dealerdesk.engine

        def on_checkout(dbapi_connection: object, record: object, proxy: object) -> None:
            driver = dbapi_connection.driver_connection  # type: ignore[attr-defined]
            row = await_only(driver.fetchrow(STATE_SQL))
            checkouts.seen.append({**dict(row), "in_transaction": driver.is_in_transaction()})

        event.listen(engine.sync_engine, "checkout", on_checkout)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield app, http, checkouts
        event.remove(engine.sync_engine, "checkout", on_checkout)


async def _side(factory: Factory, marker: str) -> Side:
    tenant = await factory.tenant()
    side = Side(tenant, marker)
    for n in range(3):
        pk = await factory.customer(tenant, last_name=f"{marker}{n}")
        side.customers.append(str(to_global_id("Customer", pk)))
    for pk in side.customers[:2]:
        deal = await factory.deal(tenant, customer_id=helpers.pk(pk))
        side.deals.append(str(to_global_id("Deal", deal)))
    return side


@pytest.fixture(scope="module")
async def sides(engine: AsyncEngine, client: GraphQLClient) -> tuple[Side, Side]:
    factory = Factory(engine=engine, client=client)
    return await _side(factory, "Alphaleak"), await _side(factory, "Betaleak")


VIEWER = "{ viewer { dealership { code } user { email } } }"
CUSTOMERS = "{ customers(first: 50) { totalCount nodes { id lastName } } }"
DEALS = """{ deals(first: 20) { nodes { id customer { id lastName }
            vehicle { id stockNumber } salesperson { email } scenarios { id } } } }"""
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Customer { lastName } } }"
NOTE = """mutation($input: AddCustomerNoteInput!) { addCustomerNote(input: $input) {
            __typename ... on AddCustomerNoteSuccess { note { id customer { id lastName } } }
            ... on Error { code field } } }"""
BAD_ID = '{ customer(id: "not-an-id") { id } }'


async def _post(
    http: httpx.AsyncClient, query: str, variables: dict[str, object] | None, token: str | None
) -> dict[str, object]:
    headers = {"content-type": "application/json"}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    body: dict[str, object] = {"query": query, "variables": variables or {}}
    response = await http.post("/graphql", json=body, headers=headers)
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


def _request(kind: str, me: Side, other: Side) -> tuple[str, dict[str, object] | None]:
    """A request of one kind, as `me` (ids of both dealerships where it takes ids)."""
    both = [*me.customers, *other.customers]
    random.shuffle(both)
    return {
        "viewer": (VIEWER, None),
        "customers": (CUSTOMERS, None),
        "deals": (DEALS, None),
        "nodes": (NODES, {"ids": both}),
        "note": (NOTE, {"input": {"customerId": random.choice(me.customers), "body": "hi"}}),
        "foreign_note": (
            NOTE,
            {"input": {"customerId": random.choice(other.customers), "body": "hi"}},
        ),
        "bad_id": (BAD_ID, None),
    }[kind]


# Kinds of request and how often each comes (writes commit, so they are the slow ones).
KINDS = {
    "viewer": 25,
    "nodes": 20,
    "customers": 15,
    "deals": 10,
    "bad_id": 10,
    "note": 5,
    "foreign_note": 5,
}


def _check(kind: str, me: Side, other: Side, result: dict[str, object]) -> None:
    """The answer belongs to `me`: its own rows and code, nothing of the other's."""
    text = json.dumps(result)
    assert other.marker not in text, result
    assert other.tenant.code not in text, result
    assert not any(i in text for i in other.customers + other.deals), result
    data = result.get("data")
    assert isinstance(data, dict), result
    if kind == "viewer":
        assert data["viewer"]["dealership"]["code"] == me.tenant.code
        assert data["viewer"]["user"]["email"].endswith(f"{me.tenant.code}@example.com")
    elif kind == "customers":
        connection = data["customers"]
        assert connection["totalCount"] == len(me.customers)
        assert sorted(n["id"] for n in connection["nodes"]) == sorted(me.customers)
    elif kind == "deals":
        nodes = data["deals"]["nodes"]
        assert sorted(n["id"] for n in nodes) == sorted(me.deals)
        assert all(n["customer"]["lastName"].startswith(me.marker) for n in nodes)
        own = f"{me.tenant.code}@example.com"
        assert all(n["salesperson"]["email"].endswith(own) for n in nodes)
    elif kind == "nodes":
        found = {n["id"] for n in data["nodes"] if n is not None}
        assert found == set(me.customers)
    elif kind == "note":
        payload = data["addCustomerNote"]
        assert payload["__typename"] == "AddCustomerNoteSuccess", payload
        assert payload["note"]["customer"]["lastName"].startswith(me.marker)
    elif kind == "foreign_note":
        payload = data["addCustomerNote"]
        assert payload == {
            "__typename": "MultiTenantViolationError",
            "code": "CROSS_TENANT",
            "field": ["input", "customerId"],
        }
    elif kind == "bad_id":
        assert data["customer"] is None
        assert result["errors"][0]["extensions"]["code"] == "INVALID_ID"  # type: ignore[index]


def _check_anonymous(result: dict[str, object]) -> None:
    """Nothing but UNAUTHENTICATED: no data of anyone."""
    errors = result.get("errors")
    assert isinstance(errors, list), result
    assert errors, result
    assert {e["extensions"]["code"] for e in errors} == {"UNAUTHENTICATED"}, result
    data = result.get("data")
    assert data is None or all(v is None for v in data.values()), result  # type: ignore[union-attr]


async def test_thousands_of_interleaved_requests_through_one_connection(
    one_connection: tuple[Starlette, httpx.AsyncClient, Checkouts], sides: tuple[Side, Side]
) -> None:
    app, http, checkouts = one_connection
    a, b = sides
    engine: AsyncEngine = app.state.dealerdesk.engine
    assert engine.pool.size() == 1  # type: ignore[attr-defined]
    rng = random.Random(20261125)
    kinds = rng.choices(list(KINDS), weights=list(KINDS.values()), k=REQUESTS)
    plan = [(rng.choice(["A", "B", "anonymous"]), kind) for kind in kinds]
    queue: asyncio.Queue[tuple[int, str, str]] = asyncio.Queue()
    for n, (caller, kind) in enumerate(plan):
        queue.put_nowait((n, caller, kind))
    completed: list[str] = []
    checkouts.seen.clear()

    async def worker() -> None:
        while not queue.empty():
            n, caller, kind = queue.get_nowait()
            if caller == "anonymous":
                query, variables = _request(kind, a, b)
                _check_anonymous(await _post(http, query, variables, None))
            else:
                me, other = (a, b) if caller == "A" else (b, a)
                query, variables = _request(kind, me, other)
                result = await _post(http, query, variables, me.token)
                try:
                    _check(kind, me, other, result)
                except AssertionError as exc:
                    raise AssertionError(f"request {n} ({caller} {kind}): {result}") from exc
            completed.append(caller)

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    assert len(completed) == REQUESTS
    # Interleaved: the caller changed from one completed request to the next most times.
    switches = sum(1 for x, y in itertools.pairwise(completed) if x != y)
    assert switches > REQUESTS // 2

    # One connection, handed out again and again, each time clean: no dealership, no role.
    touching = sum(1 for caller, kind in plan if caller != "anonymous" and kind != "bad_id")
    assert len(checkouts.seen) >= touching
    assert len({c["pid"] for c in checkouts.seen}) == 1
    dirty = [
        c
        for c in checkouts.seen
        if c["dealership"] not in (None, "")
        or c["role"] != c["login"]
        or c["role"] == APP_ROLE
        or c["in_transaction"]
    ]
    assert dirty == [], dirty[:5]

    # And after the storm, outside any transaction.
    pid = checkouts.seen[0]["pid"]
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        assert not driver.is_in_transaction()
        state = await driver.fetchrow(STATE_SQL)
    assert state["pid"] == pid
    assert state["dealership"] in (None, "")
    assert state["role"] == state["login"] != APP_ROLE
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_the_same_request_as_a_then_b_answers_each_its_own(
    one_connection: tuple[Starlette, httpx.AsyncClient, Checkouts], sides: tuple[Side, Side]
) -> None:
    """The identical document and variables, A then B then A, on the same process: a
    cache outliving its request would hand the second caller the first one's rows."""
    _, http, _ = one_connection
    a, b = sides
    ids = [*a.customers, *b.customers]
    query = NODES.replace("lastName }", "lastName deals { id customer { lastName } } }")
    for me, other in ((a, b), (b, a), (a, b)):
        result = await _post(http, query, {"ids": ids}, me.token)
        nodes = result["data"]["nodes"]  # type: ignore[index]
        mine = [n for n in nodes if n is not None]
        assert [n["id"] for n in mine] == me.customers
        assert [n for n in nodes[len(a.customers) :] if n] == (mine if me is b else [])
        assert other.marker not in json.dumps(result)
        for query_ in (CUSTOMERS, DEALS):
            _check(
                "customers" if query_ is CUSTOMERS else "deals",
                me,
                other,
                await _post(http, query_, None, me.token),
            )


async def test_every_request_gets_new_loaders(
    one_connection: tuple[Starlette, httpx.AsyncClient, Checkouts],
    sides: tuple[Side, Side],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A's request leaves A's customer in its loader's cache; B's request for the same id
    gets other loaders, with nothing cached, and answers null."""
    _, http, _ = one_connection
    a, b = sides
    made: list[Loaders] = []

    class Recorded(Loaders):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            made.append(self)

    monkeypatch.setattr(server.http, "Loaders", Recorded)
    query = "query($id: ID!) { node(id: $id) { id ... on Customer { lastName } } }"
    target = a.customers[0]
    pk = helpers.pk(target)

    first = await _post(http, query, {"id": target}, a.token)
    assert first["data"]["node"]["lastName"] == f"{a.marker}0"  # type: ignore[index]
    assert len(made) == 1
    cached = made[0].customer._cache[pk]
    assert cached.done()
    assert cached.result().last_name == f"{a.marker}0"

    second = await _post(http, query, {"id": target}, b.token)
    assert second == {"data": {"node": None}}
    assert len(made) == 2
    assert made[1] is not made[0]
    assert made[1].customer is not made[0].customer
    assert made[1].customer._cache[pk].result() is None
    # The first request's cache still holds A's row: B was answered from its own load.
    assert made[0].customer._cache[pk].result().last_name == f"{a.marker}0"

    # Concurrently too: each of many simultaneous requests has loaders of its own.
    made.clear()
    results = await asyncio.gather(
        *(_post(http, query, {"id": target}, (a if n % 2 else b).token) for n in range(40))
    )
    for n, result in enumerate(results):
        expected = {"id": target, "lastName": f"{a.marker}0"} if n % 2 else None
        assert result == {"data": {"node": expected}}
    assert len({id(loaders) for loaders in made}) == 40
    assert len({id(loaders.customer) for loaders in made}) == 40
