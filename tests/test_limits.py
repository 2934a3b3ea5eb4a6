"""Query limits, each at its value (runs) and one past it (refused before any SQL, as a request
error with a code), plus the screens the defaults were chosen from, the node counting rules,
page sizes, batching, introspection and hints in production, and masked internal errors."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from graphql import get_introspection_query, get_named_type, parse
from graphql.language import Lexer, Source, TokenKind
from starlette.applications import Starlette

from db.models.enums import Role
from db.storage import vehicles as vehicle_storage
from schema import limits as limits_module
from schema.limits import QueryLimits, count_nodes, operation_shapes
from schema.relay import to_global_id
from schema.root import schema
from server.app import create_app, query_limits
from server.config import Environment, Settings, load_settings
from tests.conftest import GraphQLClient
from tests.factories import Factory, Tenant
from tests.helpers import StatementLog, count_statements
from tests.screens import SCREENS

GQL = "application/graphql-response+json"
DEFAULTS = QueryLimits()
README = Path(__file__).resolve().parent.parent / "README.md"


@contextmanager
def no_sql(app: Starlette) -> Iterator[StatementLog]:
    """Every statement the app's engine sends while the block runs."""
    with count_statements(app.state.dealerdesk.engine.sync_engine) as log:
        yield log


async def send(
    http: httpx.AsyncClient,
    query: str,
    variables: dict[str, object] | None = None,
    *,
    token: str | None = None,
) -> httpx.Response:
    headers = {"accept": GQL}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    body: dict[str, object] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    return await http.post("/graphql", json=body, headers=headers)


def ok(response: httpx.Response) -> dict[str, object]:
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    assert "errors" not in result, result
    data = result["data"]
    assert isinstance(data, dict)
    return data


def refused(response: httpx.Response, code: str) -> dict[str, object]:
    """A request error: 400, no data, and the limit's code."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert "data" not in body
    codes = [e.get("extensions", {}).get("code") for e in body["errors"]]
    assert code in codes, body
    error: dict[str, object] = body["errors"][codes.index(code)]
    return error


def admin(tenant: Tenant) -> str:
    return tenant.tokens[Role.ADMIN]


@pytest.fixture
async def tenant(factory: Factory) -> Tenant:
    return await factory.tenant()


@pytest.fixture
async def deal_id(factory: Factory, tenant: Tenant) -> str:
    return to_global_id("Deal", await factory.deal(tenant, scenarios=2))


# --- depth ---------------------------------------------------------------------------------


def deep(depth: int, *, fragments: bool = False) -> str:
    """A query whose longest path holds `depth` fields: deal > activeScenario > deal > ... > id.
    With `fragments`, every level after the first sits in a fragment of its own."""
    chain = ["deal(id: $id)"] + ["activeScenario" if i % 2 else "deal" for i in range(1, depth - 1)]
    if not fragments:
        return "query($id: ID!) { " + " { ".join(chain) + " { id" + " }" * depth
    definitions = ["query($id: ID!) { deal(id: $id) { ...L0 } }"]
    for i, field in enumerate(chain[1:]):
        on = "Deal" if field == "activeScenario" else "DealScenario"
        definitions.append(f"fragment L{i} on {on} {{ {field} {{ ...L{i + 1} }} }}")
    last_on = "Deal" if len(chain) % 2 else "DealScenario"
    definitions.append(f"fragment L{len(chain) - 1} on {last_on} {{ id }}")
    return " ".join(definitions)


@pytest.mark.parametrize("fragments", [False, True])
async def test_depth_at_the_limit_runs_and_one_past_is_refused(
    app: Starlette, http: httpx.AsyncClient, tenant: Tenant, deal_id: str, fragments: bool
) -> None:
    at_limit = deep(DEFAULTS.max_depth, fragments=fragments)
    assert depth_of(at_limit) == DEFAULTS.max_depth
    data = ok(await send(http, at_limit, {"id": deal_id}, token=admin(tenant)))
    level = data["deal"]
    for _ in range((DEFAULTS.max_depth - 2) // 2):  # the chain resolves all the way down
        assert isinstance(level, dict)
        level = level["activeScenario"]["deal"]
    assert level == {"id": deal_id}

    past = deep(DEFAULTS.max_depth + 1, fragments=fragments)
    assert depth_of(past) == DEFAULTS.max_depth + 1
    with no_sql(app) as log:
        error = refused(
            await send(http, past, {"id": deal_id}, token=admin(tenant)), "MAX_DEPTH_EXCEEDED"
        )
    assert log.count == 0
    assert error["extensions"]["depth"] == DEFAULTS.max_depth + 1
    assert error["extensions"]["maxDepth"] == DEFAULTS.max_depth
    assert f"at most {DEFAULTS.max_depth}" in str(error["message"])


def depth_of(query: str) -> int:
    [(_, shape)] = list(operation_shapes(parse(query)))
    return shape.depth


# --- aliases -------------------------------------------------------------------------------


def aliased(count: int) -> str:
    """`count` aliases, most of them inside a fragment spread three times."""
    per_fragment, rest = divmod(count, 3)
    inner = " ".join(f"f{i}: fullName" for i in range(per_fragment))
    outer = " ".join(f"t{i}: __typename" for i in range(rest))
    return (
        "query($id: ID!) { viewer { user { ...U } } "
        "deal(id: $id) { salesperson { ...U } customer { id } vehicle { id } "
        f"activeScenario {{ deal {{ salesperson {{ ...U }} }} }} }} {outer} }} "
        f"fragment U on User {{ id {inner} }}"
    )


async def test_aliases_are_counted_through_fragment_spreads(
    app: Starlette, http: httpx.AsyncClient, tenant: Tenant, deal_id: str
) -> None:
    limit = DEFAULTS.max_aliases
    data = ok(await send(http, aliased(limit), {"id": deal_id}, token=admin(tenant)))
    assert data["viewer"]["user"][f"f{limit // 3 - 1}"]  # type: ignore[index]

    with no_sql(app) as log:
        error = refused(
            await send(http, aliased(limit + 1), {"id": deal_id}, token=admin(tenant)),
            "MAX_ALIASES_EXCEEDED",
        )
    assert log.count == 0
    assert error["extensions"] == {
        "code": "MAX_ALIASES_EXCEEDED",
        "aliases": limit + 1,
        "maxAliases": limit,
    }


async def test_fragments_that_spread_each_other_are_measured_in_linear_time(
    http: httpx.AsyncClient, tenant: Tenant
) -> None:
    """F0 spreads F1 twice, F1 spreads F2 twice...: 2^60 aliases once expanded. Counting each
    fragment once (not each expansion) answers at once."""
    levels = 60
    fragments = " ".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    query = f"{{ ...F0 }} {fragments} fragment F{levels} on Query {{ a: __typename }}"
    error = refused(await send(http, query, token=admin(tenant)), "MAX_ALIASES_EXCEEDED")
    assert error["extensions"]["aliases"] == 2**levels


# --- tokens --------------------------------------------------------------------------------


def with_tokens(count: int) -> str:
    """A query of exactly `count` tokens: 16 of syntax, the rest values of a list."""
    return "{ deals(filter: {status: [" + "OPEN " * (count - 16) + "]}) { totalCount } }"


async def test_tokens_at_the_limit_run_and_one_past_is_refused(
    app: Starlette, http: httpx.AsyncClient, tenant: Tenant
) -> None:
    limit = DEFAULTS.max_tokens
    assert tokens_of(with_tokens(limit)) == limit
    assert ok(await send(http, with_tokens(limit), token=admin(tenant))) == {
        "deals": {"totalCount": 0}
    }
    with no_sql(app) as log:
        response = await send(http, with_tokens(limit + 1), token=admin(tenant))
    assert log.count == 0
    error = refused(response, "MAX_TOKENS_EXCEEDED")
    assert error["extensions"] == {"code": "MAX_TOKENS_EXCEEDED", "maxTokens": limit}


async def test_comments_have_the_same_budget(http: httpx.AsyncClient) -> None:
    limit = DEFAULTS.max_tokens
    ok(await send(http, "#\n" * limit + "{ __typename }"))
    refused(await send(http, "#\n" * (limit + 1) + "{ __typename }"), "MAX_TOKENS_EXCEEDED")


# --- nodes ---------------------------------------------------------------------------------

# 59 customers x (1 + 20 deals x (1 + 20 scenarios)) = 24,839; + 100 users + $users more.
COSTLY = """
query($users: Int!) {
  customers(first: 59) { nodes { id deals { id scenarios { id } } } }
  staff: users(first: 100) { nodes { id } }
  more: users(first: $users) { nodes { id } }
}"""


async def test_node_budget_at_the_limit_runs_and_one_past_is_refused_before_any_sql(
    app: Starlette, http: httpx.AsyncClient, factory: Factory, tenant: Tenant
) -> None:
    await factory.deal(tenant, scenarios=3)
    limit = DEFAULTS.max_nodes
    at_limit = {"users": limit - 24_839 - 100}
    assert count_nodes(schema._schema, parse(COSTLY), None, at_limit) == limit
    with no_sql(app) as log:
        data = ok(await send(http, COSTLY, at_limit, token=admin(tenant)))
    assert log.data_statements  # the counter sees the statements of a query that runs
    assert len(data["customers"]["nodes"]) == 1  # type: ignore[index]
    assert len(data["customers"]["nodes"][0]["deals"][0]["scenarios"]) == 3  # type: ignore[index]

    with no_sql(app) as log:
        response = await send(http, COSTLY, {"users": at_limit["users"] + 1}, token=admin(tenant))
    assert log.count == 0, log.statements
    error = refused(response, "QUERY_TOO_COSTLY")
    assert error["extensions"] == {
        "code": "QUERY_TOO_COSTLY",
        "nodes": limit + 1,
        "maxNodes": limit,
    }
    assert f"{limit:,}" in str(error["message"])


def nodes(query: str, variables: dict[str, object] | None = None) -> int | None:
    return count_nodes(schema._schema, parse(query), None, variables)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # No list at all.
        ("{ viewer { user { id } dealership { name } } }", 0),
        # A connection without first/last is a default page of 20; totalCount and pageInfo
        # are not nodes; edges and nodes are the page itself, not another list.
        (
            "{ deals { totalCount pageInfo { hasNextPage } edges { node { id } } nodes { id } } }",
            20,
        ),
        ("{ deals(first: 50) { nodes { id } } }", 50),
        ("{ deals(last: 7) { nodes { id } } }", 7),
        # Nested lists multiply: 50 deals + 50 x 20 scenarios + 50 x 20 x 20 fee lines.
        ("{ deals(first: 50) { nodes { scenarios { id fees { name } } } } }", 50 + 1000 + 20000),
        # A single object in between does not multiply.
        ("{ deals(first: 10) { nodes { customer { deals { id } } } } }", 10 + 200),
        # Plain lists count as 20, unless they take `first` or `ids`.
        ("{ permissionCatalog { action } }", 20),
        ("{ upcomingAppointments { id } }", 10),
        ("{ upcomingAppointments(first: 3) { id } }", 3),
        ('{ nodes(ids: ["a", "b", "c"]) { id } }', 3),
        # Lists of scalars are not nodes.
        ('{ rateRequest(id: "1") { decisions { stipulations } } }', 20),
        # A fragment counts wherever it is spread; inline fragments count.
        (
            "{ a: deals(first: 10) { ...F } b: deals(first: 5) { ...F } }"
            " fragment F on DealConnection { nodes { ... on Deal { scenarios { id } } } }",
            10 * 21 + 5 * 21,
        ),
        # Fragments on every member of a union count (an upper bound: one applies).
        (
            'mutation { createCustomer(input: {firstName: "A", lastName: "B"}) {'
            " ... on CreateCustomerSuccess { customer { deals { id } } possibleDuplicates { id } }"
            " ... on ValidationError { field } } }",
            40,
        ),
        # A negative page is refused when it runs; it never offsets other lists.
        ("{ a: deals(first: -1000) { nodes { id } } b: users(first: 30) { nodes { id } } }", 30),
    ],
)
def test_nodes_are_counted_like_github(query: str, expected: int) -> None:
    assert nodes(query) == expected


def test_variables_and_their_defaults_set_page_sizes() -> None:
    query = "query($n: Int = 40) { deals(first: $n) { nodes { id } } }"
    assert nodes(query) == 40
    assert nodes(query, {"n": 90}) == 90
    assert nodes(query, {"n": "lots"}) is None  # not coercible: execution refuses it


def test_the_standard_introspection_query_fits_the_budget() -> None:
    introspection = get_introspection_query(
        descriptions=True,
        specified_by_url=True,
        directive_is_repeatable=True,
        schema_description=True,
        input_value_deprecation=True,
    )
    assert nodes(introspection) == 10_440 < DEFAULTS.max_nodes
    # Nesting introspection's lists is refused like nesting any other list.
    nested = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }"
    assert nodes(nested) == 20 + 400 + 8_000 + 160_000


# --- the screens the defaults come from ----------------------------------------------------


def tokens_of(query: str) -> int:
    lexer, count = Lexer(Source(query)), 0
    while lexer.advance().kind is not TokenKind.EOF:
        count += 1
    return count


@pytest.mark.parametrize("name", list(SCREENS))
async def test_each_screen_runs_within_the_limits_with_room_to_spare(
    http: httpx.AsyncClient, factory: Factory, tenant: Tenant, deal_id: str, name: str
) -> None:
    query = SCREENS[name]
    variables: dict[str, object] | None = None
    if name == "desking":
        variables = {"id": deal_id}
    elif name == "customer":
        variables = {"id": to_global_id("Customer", await factory.customer(tenant))}
    [(_, shape)] = list(operation_shapes(parse(query)))
    cost = nodes(query, variables)
    assert cost is not None
    # The margins README.md ("Query limits") quotes.
    assert shape.depth * 2 <= DEFAULTS.max_depth
    assert shape.aliases * 2 <= DEFAULTS.max_aliases
    assert tokens_of(query) * 3 <= DEFAULTS.max_tokens
    assert cost * 10 <= DEFAULTS.max_nodes
    ok(await send(http, query, variables, token=tenant.tokens[Role.ADMIN]))


# --- page sizes ----------------------------------------------------------------------------

CONNECTIONS = [
    "customers",
    "users",
    "vehicles",
    "deals",
    "appointments",
    "quickQuotes",
    "taxJurisdictions",
    "lenders",
    "auditLogs",
    "securityAuditLogs",
]


def test_every_connection_is_paged_and_in_the_list_below() -> None:
    query_type = schema._schema.query_type
    assert query_type is not None
    found = [
        name
        for name, field in query_type.fields.items()
        if get_named_type(field.type).name.endswith("Connection")
    ]
    assert sorted(found) == sorted(CONNECTIONS)
    for name in found:
        assert {"first", "last", "after", "before"} <= query_type.fields[name].args.keys()


@pytest.mark.parametrize("field", CONNECTIONS)
async def test_page_size_is_capped_at_100_through_the_api(
    client: GraphQLClient, tenant: Tenant, field: str
) -> None:
    token = tenant.tokens[Role.ADMIN]
    for arg in ("first", "last"):
        fine = await client.execute(f"{{ {field}({arg}: 100) {{ totalCount }} }}", token=token)
        assert "errors" not in fine, fine
        for bad in (0, 101):
            result = await client.execute(
                f"{{ {field}({arg}: {bad}) {{ totalCount }} }}", token=token
            )
            [error] = result["errors"]  # type: ignore[misc]
            assert error["extensions"]["code"] == "PAGE_SIZE_OUT_OF_RANGE"
            assert error["path"] == [field]


async def test_upcoming_appointments_first_is_capped_too(
    client: GraphQLClient, tenant: Tenant
) -> None:
    token = tenant.tokens[Role.ADMIN]
    assert "errors" not in await client.execute(
        "{ upcomingAppointments(first: 100) { id } }", token=token
    )
    result = await client.execute("{ upcomingAppointments(first: 101) { id } }", token=token)
    assert result["errors"][0]["extensions"]["code"] == "PAGE_SIZE_OUT_OF_RANGE"  # type: ignore[index]


# --- apps with other settings: production, batching ----------------------------------------


@asynccontextmanager
async def other_app(
    settings: Settings, database_url: str, **changes: object
) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(settings.model_copy(update=changes), database_url)
    async with LifespanManager(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


@pytest.fixture
async def production(settings: Settings, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with other_app(settings, database_url, app_env=Environment.PRODUCTION) as http:
        yield http


async def test_introspection_is_off_in_production_and_on_in_development(
    production: httpx.AsyncClient, http: httpx.AsyncClient
) -> None:
    for query in ("{ __schema { queryType { name } } }", '{ __type(name: "Deal") { name } }'):
        error = refused(await send(production, query), "INTROSPECTION_DISABLED")
        assert error["message"] == "Introspection is disabled on this server."
        ok(await send(http, query))
    # __typename is not introspection: clients need it to tell union members apart.
    assert ok(await send(production, "{ __typename }")) == {"__typename": "Query"}


async def test_introspection_can_be_turned_on_in_production(
    settings: Settings, database_url: str
) -> None:
    async with other_app(
        settings, database_url, app_env=Environment.PRODUCTION, graphql_introspection=True
    ) as http:
        ok(await send(http, "{ __schema { queryType { name } } }"))


SUGGESTED = [
    # A field, an argument, an enum value in a literal and in a variable, an input field.
    ("{ dealz { totalCount } }", None),
    ("{ deals(frist: 3) { totalCount } }", None),
    ("{ deals(filter: {status: [OPN]}) { totalCount } }", None),
    ("query($s: [DealStatus!]) { deals(filter: {status: $s}) { totalCount } }", {"s": ["OPN"]}),
    ("{ deals(filter: {statuz: [OPEN]}) { totalCount } }", None),
]


@pytest.mark.parametrize(("query", "variables"), SUGGESTED)
async def test_no_did_you_mean_hints_in_production(
    production: httpx.AsyncClient,
    http: httpx.AsyncClient,
    tenant: Tenant,
    query: str,
    variables: dict[str, object] | None,
) -> None:
    hinted = await send(http, query, variables, token=admin(tenant))
    assert "Did you mean" in hinted.text
    response = await send(production, query, variables, token=admin(tenant))
    assert response.status_code == 400
    assert response.json()["errors"]
    assert "Did you mean" not in response.text


async def test_graphiql_is_off_in_production(production: httpx.AsyncClient) -> None:
    response = await production.get("/graphql", headers={"accept": "text/html"})
    assert "graphiql" not in response.text.lower()


@pytest.fixture
async def batching(settings: Settings, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with other_app(
        settings, database_url, graphql_allow_batching=True, graphql_max_batch_size=3
    ) as http:
        yield http


async def test_batches_up_to_the_limit_answer_an_array(
    batching: httpx.AsyncClient, tenant: Tenant
) -> None:
    token = {"authorization": f"Bearer {tenant.tokens[Role.ADMIN]}"}
    batch = [
        {"query": "{ dealership { code } }"},
        {
            "query": "mutation($i: CreateCustomerInput!) { createCustomer(input: $i) {"
            " ... on CreateCustomerSuccess { customer { fullName } } } }",
            "variables": {"i": {"firstName": "Ana", "lastName": "Batch"}},
        },
        {"query": deep(DEFAULTS.max_depth + 1), "variables": {"id": "x"}},
    ]
    response = await batching.post("/graphql", json=batch, headers={"accept": GQL, **token})
    assert response.status_code == 200
    first, second, third = response.json()
    assert first == {"data": {"dealership": {"code": tenant.code}}}
    assert second == {"data": {"createCustomer": {"customer": {"fullName": "Ana Batch"}}}}
    assert third["errors"][0]["extensions"]["code"] == "MAX_DEPTH_EXCEEDED"  # limits still apply
    assert "data" not in third

    too_many = await batching.post("/graphql", json=[batch[0]] * 4, headers=token)
    assert too_many.status_code == 400
    assert too_many.json()["errors"][0]["extensions"]["code"] == "BATCH_TOO_LARGE"
    empty = await batching.post("/graphql", json=[], headers=token)
    assert empty.status_code == 400


# --- internal errors -----------------------------------------------------------------------


async def test_an_internal_error_is_masked_with_the_request_id_and_logged_in_full(
    http: httpx.AsyncClient,
    tenant: Tenant,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("relation inventory_secret_table does not exist")

    monkeypatch.setattr(vehicle_storage, "inventory_by_status", broken)
    with caplog.at_level(logging.ERROR, logger="dealerdesk.graphql"):
        response = await http.post(
            "/graphql",
            json={"query": "{ inventorySummary { totalCount } }"},
            headers={"authorization": f"Bearer {tenant.token}", "x-request-id": "req-masked-1"},
        )
    assert response.status_code == 200
    assert response.json() == {
        "data": None,
        "errors": [
            {
                "message": "Internal server error",
                "locations": [{"line": 1, "column": 3}],
                "path": ["inventorySummary"],
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-masked-1"},
            }
        ],
    }
    [record] = [r for r in caplog.records if r.name == "dealerdesk.graphql"]
    assert record.request_id == "req-masked-1"  # type: ignore[attr-defined]
    assert record.exc_info is not None
    assert "inventory_secret_table" in caplog.text
    assert "Traceback" in caplog.text


async def test_an_internal_error_before_execution_is_masked_too(
    http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A failure in a hook that runs before execution (here the node count) would otherwise
    reach the client as the exception's own text."""

    def broken(*args: object, **kwargs: object) -> int:
        raise RuntimeError("/srv/dealerdesk/schema/limits.py line 7: secret")

    monkeypatch.setattr(limits_module, "count_nodes", broken)
    with caplog.at_level(logging.ERROR, logger="dealerdesk.graphql"):
        response = await http.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"x-request-id": "req-masked-2"}
        )
    assert response.json() == {
        "data": None,
        "errors": [
            {
                "message": "Internal server error",
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-masked-2"},
            }
        ],
    }
    assert "secret" in caplog.text
    assert "Traceback" in caplog.text


# --- settings ------------------------------------------------------------------------------

SETTINGS = {
    "GRAPHQL_MAX_DEPTH": ("graphql_max_depth", "7", 7),
    "GRAPHQL_MAX_ALIASES": ("graphql_max_aliases", "5", 5),
    "GRAPHQL_MAX_TOKENS": ("graphql_max_tokens", "500", 500),
    "GRAPHQL_MAX_NODES": ("graphql_max_nodes", "1000", 1000),
    "GRAPHQL_MAX_BODY_BYTES": ("graphql_max_body_bytes", "65536", 65536),
    "GRAPHQL_ALLOW_BATCHING": ("graphql_allow_batching", "true", True),
    "GRAPHQL_MAX_BATCH_SIZE": ("graphql_max_batch_size", "4", 4),
    "GRAPHQL_INTROSPECTION": ("graphql_introspection", "false", False),
}


def test_each_limit_is_a_documented_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    readme = README.read_text()
    for variable, (attribute, raw, value) in SETTINGS.items():
        assert f"| `{variable}` |" in readme, f"{variable} is missing from README's table"
        monkeypatch.setenv(variable, raw)
        assert getattr(load_settings(), attribute) == value
    limits = query_limits(load_settings())
    assert limits == QueryLimits(
        max_depth=7, max_aliases=5, max_tokens=500, max_nodes=1000, introspection=False
    )


def test_limits_default_to_the_documented_values(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in SETTINGS:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.delenv("APP_ENV", raising=False)
    assert query_limits(load_settings()) == QueryLimits(
        max_depth=10, max_aliases=30, max_tokens=1_000, max_nodes=25_000, introspection=True
    )
